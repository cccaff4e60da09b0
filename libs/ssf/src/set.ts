import { type ActiveKey, signJws } from '@signoff/core';
import type { JWTPayload } from 'jose';

/**
 * A Security Event Token (RFC 8417) signed with an RS256 key of the OIDC set, whose JWKS is the
 * transmitter's jwks_uri: `typ` secevent+jwt (RFC 8417 §2.3; SSF 1.0 §4.1.1 asks for explicit typing).
 */
export function signSet(key: ActiveKey, claims: JWTPayload): Promise<string> {
  return signJws({ alg: 'RS256', kid: key.kid, typ: 'secevent+jwt' }, claims, key.privateKey);
}
