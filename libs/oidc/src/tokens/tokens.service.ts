import { Inject, Injectable } from '@nestjs/common';
import {
  AccessToken, AuthorizationCode, Clock, CONFIG, type Config, IdpSession, KeysService, newId, OidcSession, randomToken, RefreshToken, sha256Hex, User,
} from '@signoff/core';
import { createHash } from 'node:crypto';
import { DataSource, type EntityManager, IsNull } from 'typeorm';
import type { RegisteredClient } from '../clients/oidc-clients.service';
import { OAuthError } from '../oauth-error';
import { OidcSessionsService } from '../oidc-sessions.service';
import { atHash, type OidcAlg, signJwt } from './jwt';

const CODE_LIFETIME_MS = 60_000;
export const SUPPORTED_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

export interface CodeRequest {
  client: RegisteredClient;
  user: User;
  idpSession: IdpSession;
  redirectUri: string;
  scope: string;
  nonce: string | null;
  codeChallenge: string | null;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  id_token?: string;
  refresh_token?: string;
  scope: string;
}

const invalidGrant = (description: string) => new OAuthError('invalid_grant', description);

/** Authorization codes, and the tokens the token endpoint issues for them. */
@Injectable()
export class TokensService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly keys: KeysService,
    private readonly oidcSessions: OidcSessionsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async issueCode(request: CodeRequest): Promise<string> {
    const code = randomToken(32);
    const now = this.clock.now();
    await this.db.getRepository(AuthorizationCode).insert({
      codeHash: sha256Hex(code), providerId: request.client.providerId, userId: request.user.id, idpSessionId: request.idpSession.id,
      redirectUri: request.redirectUri, scope: request.scope, nonce: request.nonce, codeChallenge: request.codeChallenge,
      authTime: request.idpSession.authTime, expiresAt: new Date(now.getTime() + CODE_LIFETIME_MS), redeemedAt: null,
    });
    return code;
  }

  /** The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6). A replayed code revokes what it issued. */
  async exchangeCode(client: RegisteredClient, params: Record<string, unknown>): Promise<TokenResponse> {
    if (typeof params.code !== 'string' || !params.code) throw new OAuthError('invalid_request', 'code is required');
    const codeHash = sha256Hex(params.code);
    // A replay is answered outside the redemption transaction, which rolls back when it throws.
    const used = await this.db.getRepository(AuthorizationCode).findOneBy({ codeHash, providerId: client.providerId });
    if (used?.redeemedAt) {
      await this.revokeDescendants(this.db.manager, codeHash);
      throw invalidGrant('the code was already used; the tokens issued for it are revoked');
    }
    return this.db.transaction(async (tx) => {
      const code = await tx.findOneBy(AuthorizationCode, { codeHash });
      const now = this.clock.now();
      if (!code || code.providerId !== client.providerId) throw invalidGrant('the code is invalid');
      if (code.expiresAt <= now) throw invalidGrant('the code has expired');
      if (params.redirect_uri !== code.redirectUri) throw invalidGrant('redirect_uri does not match the authorization request');
      verifyPkce(code.codeChallenge, params.code_verifier);
      const redeemed = await tx.update(AuthorizationCode, { codeHash, redeemedAt: IsNull() }, { redeemedAt: now });
      if (!redeemed.affected) throw invalidGrant('the code was already used');

      const session = await tx.findOneBy(IdpSession, { id: code.idpSessionId, endedAt: IsNull() });
      const user = await tx.findOneBy(User, { id: code.userId });
      if (!session || session.expiresAt <= now || !user?.isActive) throw invalidGrant('the session this code was issued in has ended');
      const oidcSession = await this.oidcSessions.getOrCreate(tx, { idpSessionId: session.id, providerId: client.providerId, userId: user.id });
      return this.issueTokens(tx, { client, user, scope: code.scope, oidcSessionId: oidcSession.id, sid: oidcSession.sid, authTime: code.authTime, nonce: code.nonce, codeHash });
    });
  }

  /** The refresh_token grant, with rotation: the used refresh token is revoked, a new one issued. */
  async refresh(client: RegisteredClient, params: Record<string, unknown>): Promise<TokenResponse> {
    if (typeof params.refresh_token !== 'string' || !params.refresh_token) throw new OAuthError('invalid_request', 'refresh_token is required');
    const tokenHash = sha256Hex(params.refresh_token);
    return this.db.transaction(async (tx) => {
      const token = await tx.findOneBy(RefreshToken, { tokenHash });
      const now = this.clock.now();
      if (!token || token.providerId !== client.providerId || token.revokedAt || token.expiresAt <= now) throw invalidGrant('the refresh token is invalid, expired or revoked');
      const granted = token.scope.split(' ');
      const scope = typeof params.scope === 'string' ? params.scope.split(' ').filter(Boolean) : granted;
      if (scope.some((item) => !granted.includes(item))) throw new OAuthError('invalid_scope', 'a refresh cannot widen the scope');
      const user = await tx.findOneBy(User, { id: token.userId });
      if (!user?.isActive) throw invalidGrant('the user is no longer active');
      const revoked = await tx.update(RefreshToken, { id: token.id, revokedAt: IsNull() }, { revokedAt: now });
      if (!revoked.affected) throw invalidGrant('the refresh token was already used');
      // An ID token is only issued while the provider session lives; offline tokens outlive it.
      const live = token.oidcSessionId ? await tx.findOne(OidcSession, { where: { id: token.oidcSessionId, endedAt: IsNull() } }) : null;
      return this.issueTokens(tx, {
        client, user, scope: scope.join(' '), oidcSessionId: token.oidcSessionId, sid: live?.sid ?? null, authTime: token.authTime, nonce: null,
        codeHash: token.codeHash, idToken: Boolean(live) && scope.includes('openid'), offline: token.offlineAccess,
      });
    });
  }

  /** RFC 7009: revokes the client's own access or refresh token; unknown tokens are not an error. */
  async revoke(client: RegisteredClient, token: unknown): Promise<void> {
    if (typeof token !== 'string' || !token) throw new OAuthError('invalid_request', 'token is required');
    const tokenHash = sha256Hex(token);
    const now = this.clock.now();
    for (const entity of [RefreshToken, AccessToken]) {
      await this.db.getRepository(entity).update({ tokenHash, providerId: client.providerId, revokedAt: IsNull() }, { revokedAt: now });
    }
  }

  /** The user and scope of a live access token, or null. */
  async accessTokenOwner(token: string): Promise<{ user: User; scope: string[] } | null> {
    const row = await this.db.getRepository(AccessToken).findOneBy({ tokenHash: sha256Hex(token), revokedAt: IsNull() });
    if (!row || row.expiresAt <= this.clock.now()) return null;
    const user = await this.db.getRepository(User).findOneBy({ id: row.userId });
    return user?.isActive ? { user, scope: row.scope.split(' ') } : null;
  }

  private async issueTokens(tx: EntityManager, grant: {
    client: RegisteredClient; user: User; scope: string; oidcSessionId: string | null; sid: string | null; authTime: Date;
    nonce: string | null; codeHash: string | null; idToken?: boolean; offline?: boolean;
  }): Promise<TokenResponse> {
    const now = this.clock.now();
    const { accessTokenMs, refreshTokenMs, idTokenMs } = this.config.oidc;
    const scopes = grant.scope.split(' ');
    const common = { providerId: grant.client.providerId, userId: grant.user.id, oidcSessionId: grant.oidcSessionId, codeHash: grant.codeHash, scope: grant.scope, createdAt: now, revokedAt: null };
    const accessToken = randomToken(32);
    await tx.insert(AccessToken, { id: newId(), tokenHash: sha256Hex(accessToken), expiresAt: new Date(now.getTime() + accessTokenMs), ...common });
    const response: TokenResponse = { access_token: accessToken, token_type: 'Bearer', expires_in: Math.floor(accessTokenMs / 1000), scope: grant.scope };

    if (grant.client.grantTypes.includes('refresh_token')) {
      const refreshToken = randomToken(32);
      const offlineAccess = grant.offline ?? scopes.includes('offline_access');
      await tx.insert(RefreshToken, { id: newId(), tokenHash: sha256Hex(refreshToken), expiresAt: new Date(now.getTime() + refreshTokenMs), offlineAccess, authTime: grant.authTime, ...common });
      response.refresh_token = refreshToken;
    }
    if (grant.idToken ?? scopes.includes('openid')) {
      const iat = Math.floor(now.getTime() / 1000);
      response.id_token = await signJwt(this.keys, grant.client.idTokenSignedResponseAlg as OidcAlg, {
        iss: this.config.publicUrl, sub: grant.user.id, aud: grant.client.clientId, iat, exp: iat + Math.floor(idTokenMs / 1000),
        auth_time: Math.floor(grant.authTime.getTime() / 1000), ...(grant.nonce ? { nonce: grant.nonce } : {}),
        ...(grant.sid ? { sid: grant.sid } : {}), at_hash: atHash(accessToken), ...userClaims(grant.user, scopes),
      });
    }
    return response;
  }

  private async revokeDescendants(tx: EntityManager, codeHash: string): Promise<void> {
    const now = this.clock.now();
    for (const entity of [RefreshToken, AccessToken]) await tx.update(entity, { codeHash, revokedAt: IsNull() }, { revokedAt: now });
  }
}

/** Claims of the user for the granted scopes (ID token and userinfo). */
export function userClaims(user: User, scopes: string[]): Record<string, unknown> {
  return {
    ...(scopes.includes('profile') ? { preferred_username: user.username, ...(user.name ? { name: user.name } : {}) } : {}),
    ...(scopes.includes('email') && user.email ? { email: user.email, email_verified: false } : {}),
  };
}

function verifyPkce(challenge: string | null, verifier: unknown): void {
  if (!challenge) {
    if (verifier !== undefined) throw invalidGrant('code_verifier sent, but the authorization request had no code_challenge');
    return;
  }
  if (typeof verifier !== 'string' || !/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) throw invalidGrant('code_verifier is missing or malformed');
  if (createHash('sha256').update(verifier).digest('base64url') !== challenge) throw invalidGrant('code_verifier does not match the code_challenge');
}
