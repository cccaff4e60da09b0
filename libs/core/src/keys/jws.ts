import { constants, type KeyObject, sign } from 'node:crypto';

/** The JWS algorithms Signoff signs with (RFC 7518 §3.1), each with the one key type it takes. */
export type JwsAlg = 'RS256' | 'ES256';

/** The protected header of a JWS Signoff signs: the algorithm, the key's RFC 7638 thumbprint, the type. */
export interface JwsHeader {
  alg: JwsAlg;
  kid: string;
  typ: string;
}

/**
 * A JWS in compact serialization (RFC 7515 §7.1): BASE64URL(UTF8(header)) '.' BASE64URL(UTF8(payload))
 * '.' BASE64URL(signature), the signature over the first two parts with SHA-256: RSASSA-PKCS1-v1_5
 * for RS256 (RFC 7518 §3.3), ECDSA on P-256 written as R || S, 32 bytes each, for ES256 (§3.4, not
 * DER). The key must be the algorithm's (an RSA key of 2048 bits or more for RS256, a P-256 key for
 * ES256). Byte for byte what jose's SignJWT writes for the same header, claims and RSA key.
 *
 * node:crypto's callback form signs on libuv's threads for about 6 µs of the calling thread per
 * signature; WebCrypto's (jose's) cost it about 24 µs (argument checks, algorithm normalisation, the
 * job and its promise), as much as signing ES256 in the calling thread. The worker's fan-out is bound
 * by that thread (bench:backchannel).
 */
export async function signJws(header: JwsHeader, payload: Record<string, unknown>, key: KeyObject): Promise<string> {
  assertKeyFor(header.alg, key);
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const options =
    header.alg === 'RS256'
      ? { key, padding: constants.RSA_PKCS1_PADDING }
      : { key, dsaEncoding: 'ieee-p1363' as const };
  return new Promise((resolve, reject) =>
    sign('sha256', Buffer.from(input, 'ascii'), options, (error, signature) =>
      error ? reject(error) : resolve(`${input}.${signature.toString('base64url')}`),
    ),
  );
}

/**
 * Refuses a key the algorithm does not take: its signature would not be what `alg` says (an RSA-PSS
 * key signs with PSS), or too weak (RFC 7518 §3.3: RSA keys of 2048 bits or more).
 */
function assertKeyFor(alg: JwsAlg, key: KeyObject): void {
  const fits =
    key.type === 'private' &&
    (alg === 'RS256'
      ? key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048
      : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1');
  if (!fits)
    throw new TypeError(
      `a ${alg} signature needs ${alg === 'RS256' ? 'an RSA private key of 2048 bits or more' : 'a P-256 private key'}`,
    );
}

const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
