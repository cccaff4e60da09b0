import { type KeysService, signJws } from '@signoff/core';
import type { JWTPayload } from 'jose';
import { createHash } from 'node:crypto';

export type OidcAlg = 'RS256' | 'ES256';

/** Signs claims with the active OIDC key of `alg`; `typ` is `JWT` for ID tokens, per client for logout tokens. */
export async function signJwt(keys: KeysService, alg: OidcAlg, claims: JWTPayload, typ = 'JWT'): Promise<string> {
  const key = await keys.active('oidc', alg);
  return signJws({ alg, kid: key.kid, typ }, claims, key.privateKey);
}

/** at_hash (OIDC Core 3.1.3.6): left half of the SHA-256 of the access token; both algs use SHA-256. */
export function atHash(accessToken: string): string {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}
