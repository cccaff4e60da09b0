/**
 * The web origin (scheme://host[:port]) of an http(s) URL, or null for anything else. A private-use
 * scheme (`com.example.app:/cb`) and every opaque origin serialise as the string "null" (HTML §7.5,
 * origin serialisation), which any sandboxed iframe or data: page also has: it identifies nobody, so
 * it is never an origin to answer to (check_session) or to admit (the logout page's frame-src).
 */
export function webOrigin(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.origin : null;
}
