/**
 * Characters a terminal acts on rather than shows: C0 controls (but newline), DEL, C1 controls
 * (U+009B is a one-byte CSI), and the bidirectional overrides that reorder what is shown.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g

const UNSAFE_IN_JSON = /[\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g

const escapeChar = (c: string): string => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`

/**
 * Text that came from input (a kid, a claim, a file name), made safe to show on a terminal:
 * every control character written as a visible `\uXXXX`, so a token cannot clear the screen or
 * print a fake verdict.
 */
export function sanitize(text: string): string {
  return text.replaceAll(UNSAFE, escapeChar)
}

/** As sanitize, and a newline shown as `\u000a` too: text that must stay on one line. */
export function sanitizeLine(text: string): string {
  return sanitize(text).replaceAll('\n', escapeChar)
}

/**
 * JSON whose strings can carry no terminal control: `JSON.stringify` escapes C0 controls but
 * not DEL, C1 or bidi overrides; those are escaped here too. It is still the same JSON value.
 */
export function safeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replaceAll(UNSAFE_IN_JSON, escapeChar)
}
