import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config, KeysService } from '@signoff/core';
import { decodeProtectedHeader, importJWK, type JWTPayload, jwtVerify } from 'jose';

export interface VerifiedHint {
  clientId: string;
  sub: string;
  sid: string | null;
}

/**
 * Verifies an id_token_hint (RP-Initiated Logout 1.0 §2): signed by one of our published OIDC keys
 * (ES256 or RS256; `none` and foreign keys fail), issued by us, with an audience. Expiry is not
 * checked: a hint is commonly an old ID token. Returns null for anything that does not verify.
 */
@Injectable()
export class IdTokenHintVerifier {
  constructor(
    private readonly keys: KeysService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async verify(hint: string): Promise<VerifiedHint | null> {
    try {
      const { kid, alg } = decodeProtectedHeader(hint);
      if (alg !== 'RS256' && alg !== 'ES256') return null;
      const key = (await this.keys.published('oidc')).find(
        (candidate) => candidate.kid === kid && candidate.alg === alg,
      );
      if (!key) return null;
      const { payload } = await jwtVerify(hint, await importJWK(key.publicJwk, alg), {
        issuer: this.config.publicUrl,
        algorithms: [alg],
        currentDate: new Date(0), // accept expired hints
      });
      const clientId = audienceOf(payload);
      if (!clientId || typeof payload.sub !== 'string') return null;
      return { clientId, sub: payload.sub, sid: typeof payload.sid === 'string' ? payload.sid : null };
    } catch {
      return null;
    }
  }
}

function audienceOf(payload: JWTPayload): string | null {
  if (typeof payload.aud === 'string') return payload.aud;
  if (Array.isArray(payload.aud) && payload.aud.length === 1) return payload.aud[0];
  return typeof payload.azp === 'string' ? payload.azp : null;
}
