/**
 * A place to go after login: only a path on this server. "//host" and "/\\host" are refused because
 * browsers read them as other hosts; control characters because they can split headers.
 */
export function safeReturnTo(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(value) && value.length <= 2048 ? value : '/';
}
