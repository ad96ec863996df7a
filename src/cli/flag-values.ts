/**
 * Flag values that are not kept as typed, by kind. oclif's flags (./flags.ts) parse with these,
 * and so does the fast entry, which reads each flag's kind from the table built from those flags
 * (src/fast/table.ts): one parser per kind, never a second copy. No oclif import here: the fast
 * entry loads this module.
 */
export const valueParsers = {
  /** A Go duration, in milliseconds (a usage error, exit 2, when malformed). */
  async duration(input: string, flag: string): Promise<number> {
    const {parseDuration} = await import('../common/duration.js')
    return parseDuration(input, `--${flag}`)
  },
}

export type ValueKind = keyof typeof valueParsers
