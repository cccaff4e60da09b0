import { createSign, type KeyObject } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { RSA_SHA256 } from '../xml/signatures';

/**
 * HTTP-Redirect binding (bindings §3.4.4.1): DEFLATE, base64, RelayState, and the signature over the
 * query as sent when `key` is given (the XML itself carries none).
 */
export function redirectUrl(location: string, param: 'SAMLRequest' | 'SAMLResponse', xml: string, key: KeyObject | null, relayState?: string | null): string {
  let query = `${param}=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}`;
  if (relayState) query += `&RelayState=${encodeURIComponent(relayState)}`;
  if (key) {
    query += `&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
    query += `&Signature=${encodeURIComponent(createSign('RSA-SHA256').update(query).sign(key, 'base64'))}`;
  }
  return `${location}${location.includes('?') ? '&' : '?'}${query}`;
}
