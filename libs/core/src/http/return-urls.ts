/**
 * Where a logout may send the browser when it is done (`/logout?return_to=`): an allowed URL, matched
 * exactly, or with one wildcard subdomain label that an entry opts in to (`https://*.example.com/bye`).
 * An open redirect is the risk, so both the entries and the URL asked for are read strictly:
 *
 * - The shape is checked on the raw text before any URL parser normalises it: printable ASCII only
 *   (an IDN host must be written in punycode), no backslash (browsers read it as `/`), no fragment, no
 *   userinfo (`https://a.example.com@evil.com/` is a URL of evil.com), no percent-encoding in the host.
 *   Host labels are non-empty (a trailing dot is refused), letters, digits and hyphens.
 * - The URL standard's parser (what the browser will use on our Location header) must read the same
 *   scheme, host, port, path and query: a path with dot segments or characters it would rewrite
 *   (`/x/../bye`, `/%2e%2e/bye`) is refused rather than compared after normalisation.
 * - Compared: scheme and host without regard to case (RFC 3986 §6.2.2.1: they are case-insensitive,
 *   and the browser is sent to the lower-cased form), the port (a default port written out is the
 *   default port), and path and query exactly, case included.
 * - A wildcard stands for exactly one label, which must be there: `https://*.example.com/bye` matches
 *   `https://a.example.com/bye`, not `https://a.b.example.com/bye` nor `https://example.com/bye`.
 */

/** The longest entry or return_to accepted. */
export const MAX_RETURN_URL_LENGTH = 2048;

/** What the matching works on: the URL taken apart as written. */
interface ReadUrl {
  scheme: 'http' | 'https';
  /** Lower-cased labels; a wildcard entry's first label is `*`. */
  labels: string[];
  /** The effective port (the scheme's default when none is written). */
  port: number;
  /** Path and query exactly as written; `/` when the path is empty. */
  pathAndQuery: string;
}

// scheme://host[:port][path][?query], nothing else: no userinfo, no fragment, no backslash, no
// percent-encoding or other characters in the host. The rest must be printable ASCII.
const SHAPE = /^(https?):\/\/([A-Za-z0-9.*-]+)(?::([0-9]{1,5}))?([/?][\x21-\x7e]*)?$/i;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const DEFAULT_PORT = { http: 80, https: 443 } as const;

/** Reads a URL (or an entry, when `wildcard`) as described above; null when it is not one. */
function read(text: string, wildcard: boolean): ReadUrl | null {
  if (text.length > MAX_RETURN_URL_LENGTH || text.includes('\\') || text.includes('#')) return null;
  const shape = SHAPE.exec(text);
  if (!shape) return null;
  const scheme = shape[1].toLowerCase() as ReadUrl['scheme'];
  const labels = shape[2].toLowerCase().split('.');
  const starred = labels[0] === '*';
  if (starred && !wildcard) return null;
  if (labels.some((label, i) => !(LABEL.test(label) || (i === 0 && starred)))) return null;
  const port = shape[3] === undefined ? DEFAULT_PORT[scheme] : Number(shape[3]);
  if (port < 1 || port > 65535) return null;
  const pathAndQuery = shape[4] === undefined || shape[4].startsWith('?') ? `/${shape[4] ?? ''}` : shape[4];

  // The browser's parser must read the very same URL (starred: with an ordinary label in its place).
  let parsed: URL;
  try {
    parsed = new URL(starred ? text.replace('*', 'wildcard') : text);
  } catch {
    return null;
  }
  const host = (starred ? ['wildcard', ...labels.slice(1)] : labels).join('.');
  if (
    parsed.protocol !== `${scheme}:` ||
    parsed.hostname !== host ||
    Number(parsed.port || DEFAULT_PORT[scheme]) !== port ||
    parsed.username ||
    parsed.password ||
    parsed.hash ||
    // `?` with nothing after it is kept in the href but not in `search`: compare what the browser sends.
    `${parsed.pathname}${parsed.search || (pathAndQuery.endsWith('?') ? '?' : '')}` !== pathAndQuery
  )
    return null;
  return { scheme, labels, port, pathAndQuery };
}

const LOOPBACK_HOST = /^(localhost|127(\.(25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})){3})$/;

/**
 * Why `entry` cannot be an allowed logout return URL (LOGOUT_RETURN_URLS, an SP's logoutReturnUrls),
 * or null when it can: an absolute https URL (http only for localhost and 127.0.0.0/8), without
 * userinfo or fragment, with at most one wildcard, as the whole first label of a host that has at
 * least two more (`https://*.example.com/`; not `https://*.com/`).
 */
export function returnUrlProblem(entry: string): string | null {
  const stars = entry.split('*').length - 1;
  if (stars > 1 || (stars === 1 && !/^https?:\/\/\*\./i.test(entry)))
    return 'may have one wildcard, as the whole first label of the host only (https://*.example.com/…)';
  const url = read(entry, true);
  if (!url)
    return 'must be an absolute URL written plainly: https://host[:port][/path][?query], ASCII only (IDN hosts in punycode), without userinfo, fragment, backslashes, percent-encoded host or dot segments';
  const starred = url.labels[0] === '*';
  if (url.scheme === 'http' && (starred || !LOOPBACK_HOST.test(url.labels.join('.'))))
    return 'must use https (http only for localhost and 127.0.0.0/8)';
  if (starred && url.labels.length < 3)
    return 'a wildcard needs at least two labels after it (https://*.example.com/…)';
  return null;
}

/**
 * The URL to send the browser to when `candidate` matches `entry` (see the rules above), or null. The
 * URL is the candidate as the URL standard serialises it: what was compared is what the browser gets.
 */
export function matchReturnUrl(entry: string, candidate: string): string | null {
  const allowed = read(entry, true);
  const asked = read(candidate, false);
  if (!allowed || !asked) return null;
  if (allowed.scheme !== asked.scheme || allowed.port !== asked.port || allowed.pathAndQuery !== asked.pathAndQuery)
    return null;
  if (allowed.labels.length !== asked.labels.length) return null;
  const starred = allowed.labels[0] === '*';
  if (!allowed.labels.every((label, i) => label === asked.labels[i] || (i === 0 && starred))) return null;
  return new URL(candidate).href;
}

/**
 * The first of `allowed` that `candidate` matches, as the URL to send the browser to; null when none
 * does, or the candidate is not a single string.
 */
export function allowedReturnUrl(candidate: unknown, allowed: readonly string[]): string | null {
  if (typeof candidate !== 'string') return null;
  for (const entry of allowed) {
    const url = matchReturnUrl(entry, candidate);
    if (url) return url;
  }
  return null;
}
