import { type KeyObject, sign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { UnsafeXmlError } from '../xml/safe-xml';
import { RSA_SHA256 } from '../xml/signatures';

/**
 * HTTP-Redirect binding (bindings §3.4.4.1): DEFLATE, base64, RelayState, and the signature over the
 * query as sent when `key` is given (the XML itself carries none). The RSA signature is computed on
 * libuv's threads (node:crypto's callback form), not on the event loop, which serves every other
 * request meanwhile (as signElementOffThread).
 */
export async function redirectUrl(
  location: string,
  param: 'SAMLRequest' | 'SAMLResponse',
  xml: string,
  key: KeyObject | null,
  relayState?: string | null,
): Promise<string> {
  let query = `${param}=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}`;
  if (relayState) query += `&RelayState=${encodeURIComponent(relayState)}`;
  if (key) {
    query += `&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
    const signature = await new Promise<Buffer>((resolve, reject) =>
      sign('sha256', Buffer.from(query, 'utf8'), key, (error, value) => (error ? reject(error) : resolve(value))),
    );
    query += `&Signature=${encodeURIComponent(signature.toString('base64'))}`;
  }
  return `${location}${location.includes('?') ? '&' : '?'}${query}`;
}

/** The query parameters the HTTP-Redirect binding gives a meaning to (bindings §3.4.4.1). */
export const REDIRECT_KEYS = ['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg', 'Signature'] as const;
export type RedirectKey = (typeof REDIRECT_KEYS)[number];

/**
 * More parameters than a Redirect message needs (five SAML keys, plus whatever the SP's own URL
 * carries) is refused outright: a parser that stops counting somewhere (Express's stops at 1,000)
 * would read another message than the one whose signature was checked.
 */
export const MAX_REDIRECT_PARAMETERS = 32;

/**
 * A Redirect binding query, read once from the raw query string: for each SAML key, its value
 * exactly as received (`raw`, the octets the signature covers, bindings §3.4.4.1) and decoded
 * (`values`, what is processed). The signature check and the message both come from this one object,
 * so they cannot read two different messages.
 */
export interface RedirectQuery {
  raw: Partial<Record<RedirectKey, string>>;
  values: Partial<Record<RedirectKey, string>>;
}

/**
 * Parses a raw query string (without the `?`) for the Redirect binding. Refused: more than
 * MAX_REDIRECT_PARAMETERS parameters, a SAML key given twice (in any spelling: names are compared
 * decoded), and bad percent-encoding. Other parameters are counted and otherwise ignored.
 */
export function parseRedirectQuery(rawQuery: string): RedirectQuery {
  const pairs = rawQuery.split('&').filter((pair) => pair !== '');
  if (pairs.length > MAX_REDIRECT_PARAMETERS)
    throw new UnsafeXmlError(`the query has more than ${MAX_REDIRECT_PARAMETERS} parameters`);
  const query: RedirectQuery = { raw: {}, values: {} };
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = formDecoded(eq < 0 ? pair : pair.slice(0, eq));
    if (!(REDIRECT_KEYS as readonly string[]).includes(name)) continue;
    const key = name as RedirectKey;
    if (query.raw[key] !== undefined) throw new UnsafeXmlError(`${key} is given more than once`);
    query.raw[key] = eq < 0 ? '' : pair.slice(eq + 1);
    query.values[key] = formDecoded(query.raw[key]);
  }
  return query;
}

/** application/x-www-form-urlencoded decoding, as browsers and SP libraries encode a query: `+` is a space. */
function formDecoded(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new UnsafeXmlError('the query is not valid percent-encoding');
  }
}
