// eslint-disable-next-line no-control-regex -- JSON strings may not hold raw control characters
const STRING = /"(?:[^"\\\u0000-\u001F]|\\(?:["\\/bfnrt]|u[\dA-Fa-f]{4}))*"/y
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[Ee][+-]?\d+)?/y
const LITERAL = /true|false|null/y

/**
 * Where `text` stops being JSON (RFC 8259), as people find it in an editor: `line 2, column 5`,
 * or `column 9` for one line. Undefined when it is JSON. JSON.parse says where only in some
 * Node versions and for some mistakes, so the place is found here, the same on every Node.
 * Recursive: call it only on text whose nesting is already bounded.
 */
export function jsonErrorPlace(text: string): string | undefined {
  let i = 0
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++
    return true
  }

  const token = (pattern: RegExp) => {
    pattern.lastIndex = i
    if (!pattern.test(text)) return false
    i = pattern.lastIndex
    return true
  }

  const char = (c: string) => {
    if (text[i] !== c) return false
    i++
    return true
  }

  const items = (close: string, item: () => boolean): boolean => {
    i++
    space()
    if (char(close)) return true
    while (item() && space()) {
      if (char(close)) return true
      if (!char(',')) return false
      space()
    }

    return false
  }

  const member = () => token(STRING) && space() && char(':') && value()
  const value = (): boolean => {
    space()
    if (text[i] === '{') return items('}', member)
    if (text[i] === '[') return items(']', value)
    return token(STRING) || token(NUMBER) || token(LITERAL)
  }

  if (value() && space() && i === text.length) return undefined
  const before = text.slice(0, i).split('\n')
  const column = `column ${before.at(-1)!.length + 1}`
  return text.includes('\n') ? `line ${before.length}, ${column}` : column
}
