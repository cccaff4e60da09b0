/**
 * `value` as JSON for a statement that reads it as rows (PostgreSQL's json_to_recordset, SQLite's
 * json_each), its strings made storable. PostgreSQL refuses, when it turns a JSON string into text,
 * the escapes JSON.stringify writes for a NUL character and for half a surrogate pair (`\u0000`,
 * `\ud800`): one such string (an application's answer quoted in an error) would fail the statement,
 * and with it every row it writes. Each becomes U+FFFD, the replacement character. Both come out of
 * JSON.stringify escaped (`\u`, which it writes for nothing else but other control characters), so
 * the common case costs one search of the JSON for that.
 */
export function jsonParameter(value: unknown): string {
  const json = JSON.stringify(value);
  if (!json.includes('\\u') || !UNSTORABLE_ESCAPE.test(json)) return json;
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? storable(item) : item));
}

/** A NUL or a lone surrogate, as JSON.stringify escapes them (a pair it writes as it is). */
const UNSTORABLE_ESCAPE = /\\u0000|\\ud[89a-f][0-9a-f]{2}/i;
/** A NUL, or half of a surrogate pair without its other half. */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const storable = (text: string) => text.replace(UNSTORABLE, '\ufffd');
