import { Inject, Injectable } from '@nestjs/common';
import {
  AccessToken,
  AuthorizationCode,
  Clock,
  CONFIG,
  type Config,
  IdpSession,
  KeysService,
  newId,
  OidcClient,
  OidcSession,
  Provider,
  randomToken,
  RefreshToken,
  sha256Hex,
  User,
} from '@signoff/core';
import { IdpSessionsService } from '@signoff/sessions';
import { createHash } from 'node:crypto';
import { DataSource, type EntityManager, In, IsNull } from 'typeorm';
import type { RegisteredClient } from '../clients/oidc-clients.service';
import { OAuthError } from '../oauth-error';
import { OidcSessionsService } from '../oidc-sessions.service';
import { ClaimsService } from './claims';
import { atHash, type OidcAlg, signJwt } from './jwt';
import { SubjectsService } from './subjects';

const CODE_LIFETIME_MS = 60_000;

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

/** The user behind a token that is still good, and the provider session it was issued in. */
interface TokenStanding {
  user: User;
  session: (OidcSession & { idpSession: IdpSession }) | null;
  /** Does that provider session, and its IdP session, still live (not ended, not expired)? */
  live: boolean;
}

/** The introspection response (RFC 7662 §2.2): `{active: false}` alone, or the token's facts. */
export type Introspection =
  | { active: false }
  | {
      active: true;
      scope: string;
      client_id: string;
      username?: string;
      token_type?: 'Bearer';
      exp: number;
      iat: number;
      sub: string;
      aud: string;
      iss: string;
      sid?: string;
    };

/** Tokens Signoff issues are 43 characters; anything much longer is not one of them, and is not hashed. */
const MAX_TOKEN_LENGTH = 512;

const invalidGrant = (description: string) => new OAuthError('invalid_grant', description);

/** Authorization codes, and the tokens the token endpoint issues for them. */
@Injectable()
export class TokensService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly keys: KeysService,
    private readonly oidcSessions: OidcSessionsService,
    private readonly idpSessions: IdpSessionsService,
    private readonly subjects: SubjectsService,
    private readonly claims: ClaimsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async issueCode(request: CodeRequest): Promise<string> {
    const code = randomToken(32);
    const now = this.clock.now();
    await this.db.getRepository(AuthorizationCode).insert({
      codeHash: sha256Hex(code),
      providerId: request.client.providerId,
      userId: request.user.id,
      idpSessionId: request.idpSession.id,
      redirectUri: request.redirectUri,
      scope: request.scope,
      nonce: request.nonce,
      codeChallenge: request.codeChallenge,
      authTime: request.idpSession.authTime,
      expiresAt: new Date(now.getTime() + CODE_LIFETIME_MS),
      redeemedAt: null,
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
      if (params.redirect_uri !== code.redirectUri)
        throw invalidGrant('redirect_uri does not match the authorization request');
      verifyPkce(code.codeChallenge, params.code_verifier);
      const redeemed = await tx.update(AuthorizationCode, { codeHash, redeemedAt: IsNull() }, { redeemedAt: now });
      if (!redeemed.affected) throw invalidGrant('the code was already used');
      await lockUserForGrant(tx, code.userId);

      const session = await tx.findOneBy(IdpSession, { id: code.idpSessionId, endedAt: IsNull() });
      const user = await tx.findOneBy(User, { id: code.userId });
      if (!session || !this.idpSessions.isLive(session) || !user?.isActive)
        throw invalidGrant('the session this code was issued in has ended');
      const oidcSession = await this.oidcSessions.getOrCreate(tx, {
        idpSessionId: session.id,
        providerId: client.providerId,
        userId: user.id,
        sub: this.subjects.subjectFor(client, user.id),
      });
      return this.issueTokens(tx, {
        client,
        user,
        sub: oidcSession.sub,
        scope: code.scope,
        oidcSessionId: oidcSession.id,
        sid: oidcSession.sid,
        authTime: code.authTime,
        nonce: code.nonce,
        codeHash,
      });
    });
  }

  /**
   * The refresh_token grant, with rotation: the used refresh token is revoked, a new one issued. A
   * refresh token presented again after its rotation (or revocation) is taken as stolen: every token
   * of its grant is revoked (RFC 9700 §4.14.2), as for a replayed code.
   */
  async refresh(client: RegisteredClient, params: Record<string, unknown>): Promise<TokenResponse> {
    if (typeof params.refresh_token !== 'string' || !params.refresh_token)
      throw new OAuthError('invalid_request', 'refresh_token is required');
    const token = await this.db
      .getRepository(RefreshToken)
      .findOneBy({ tokenHash: sha256Hex(params.refresh_token), providerId: client.providerId });
    if (!token) throw invalidGrant('the refresh token is invalid');
    const reused = () =>
      this.revokeGrant(this.db.manager, token).then(() => {
        throw invalidGrant('the refresh token was already used or revoked; every token of its grant is now revoked');
      });
    if (token.revokedAt) return reused();
    const response = await this.db.transaction(async (tx) => {
      await lockUserForGrant(tx, token.userId);
      const standing = await this.standing(tx, token);
      if (!standing)
        throw invalidGrant(
          'the refresh token has expired, or the session, user or application it was issued for is no longer active',
        );
      const granted = token.scope.split(' ');
      const scope = typeof params.scope === 'string' ? params.scope.split(' ').filter(Boolean) : granted;
      if (scope.some((item) => !granted.includes(item)))
        throw new OAuthError('invalid_scope', 'a refresh cannot widen the scope');
      const revoked = await tx.update(
        RefreshToken,
        { id: token.id, revokedAt: IsNull() },
        { revokedAt: this.clock.now() },
      );
      if (!revoked.affected) return null; // used concurrently: a reuse, answered once this transaction is over
      // An ID token is only issued while the session lives; offline tokens outlive it, and what they issue then is bound to nothing.
      const { user, session, live } = standing;
      return this.issueTokens(tx, {
        client,
        user,
        sub: session?.sub ?? this.subjects.subjectFor(client, user.id),
        scope: scope.join(' '),
        oidcSessionId: token.oidcSessionId,
        sid: live ? session!.sid : null,
        authTime: token.authTime,
        nonce: null,
        codeHash: token.codeHash,
        idToken: live && scope.includes('openid'),
        offline: token.offlineAccess,
        unbound: !live,
      });
    });
    return response ?? reused();
  }

  /**
   * RFC 7009: revokes the client's own access or refresh token; unknown tokens are not an error. A
   * refresh token takes every token of its grant with it (§2.1: the access tokens based on it).
   */
  async revoke(client: RegisteredClient, token: unknown): Promise<void> {
    if (typeof token !== 'string' || !token) throw new OAuthError('invalid_request', 'token is required');
    const tokenHash = sha256Hex(token);
    const refresh = await this.db.getRepository(RefreshToken).findOneBy({ tokenHash, providerId: client.providerId });
    if (refresh) return this.revokeGrant(this.db.manager, refresh);
    await this.db
      .getRepository(AccessToken)
      .update({ tokenHash, providerId: client.providerId, revokedAt: IsNull() }, { revokedAt: this.clock.now() });
  }

  /** The user, scope and `sub` of an access token that is still good (see standing), or null. */
  async accessTokenOwner(token: string): Promise<{ user: User; scope: string[]; sub: string } | null> {
    const row = await this.db.getRepository(AccessToken).findOneBy({ tokenHash: sha256Hex(token) });
    const standing = row ? await this.standing(this.db.manager, row) : null;
    if (!row || !standing) return null;
    const sub =
      standing.session?.sub ??
      this.subjects.subjectFor(
        await this.db.getRepository(OidcClient).findOneByOrFail({ providerId: row.providerId }),
        row.userId,
      );
    return { user: standing.user, scope: row.scope.split(' '), sub };
  }

  /** UserInfo (OIDC Core §5.3.2): `sub` and the claims of the access token's scope, or null when the token is not good. */
  async userinfo(token: string): Promise<Record<string, unknown> | null> {
    const owner = await this.accessTokenOwner(token);
    return owner && { sub: owner.sub, ...(await this.claims.forScopes(owner.user, owner.scope)) };
  }

  /**
   * Token introspection (RFC 7662 §2.2) for a client that authenticated with its secret.
   *
   * Who may learn what: a resource server is registered here as a confidential client of its own,
   * and the access tokens it receives were issued to other clients (the applications calling it), so
   * any authenticated confidential client may introspect any access token; public clients may not
   * introspect at all (they hold no credential, and §2.1 requires one against token scanning). A
   * refresh token is only ever presented to Signoff by the client it was issued to, so only that
   * client may introspect it; for anyone else it is `active: false`, as §2.2 says for a token "the
   * protected resource is not allowed to introspect". §4 lets the server tell different callers
   * different things: `username` is shown only when the token's scope includes `profile` (its user let
   * its client see it), and for a pairwise client's token (OIDC Core §8.1) only to that client, since
   * a username would undo what pairwise subs are for.
   *
   * A token is active exactly when it could still be used (standing): not expired or revoked (logout
   * revokes the tokens of the sessions it ends, so a resource server learns of a logout at its next
   * introspection), its user active, its application enabled, its session live unless it is offline.
   * An unknown, malformed or oversized token is `active: false`, never an error.
   */
  async introspect(caller: RegisteredClient, token: unknown, hint: unknown): Promise<Introspection> {
    if (typeof token !== 'string' || !token) throw new OAuthError('invalid_request', 'token is required');
    const inactive = { active: false } as const;
    if (token.length > MAX_TOKEN_LENGTH) return inactive;
    const tokenHash = sha256Hex(token);
    // §2.1: the hint only says where to look first; the search goes on through the other kind.
    const kinds = hint === 'refresh_token' ? (['refresh', 'access'] as const) : (['access', 'refresh'] as const);
    for (const kind of kinds) {
      const row = await this.db.getRepository(kind === 'access' ? AccessToken : RefreshToken).findOneBy({ tokenHash });
      if (!row) continue;
      if (kind === 'refresh' && row.providerId !== caller.providerId) return inactive;
      const standing = await this.standing(this.db.manager, row);
      const owner = standing && (await this.db.getRepository(OidcClient).findOneBy({ providerId: row.providerId }));
      if (!standing || !owner) return inactive;
      const scopes = row.scope.split(' ');
      const mayKnowUsername =
        scopes.includes('profile') && (owner.subjectType !== 'pairwise' || owner.providerId === caller.providerId);
      return {
        active: true,
        scope: row.scope,
        client_id: owner.clientId,
        ...(mayKnowUsername ? { username: standing.user.username } : {}),
        // RFC 6749 §7.1 types access tokens only; a refresh token has no token_type.
        ...(kind === 'access' ? { token_type: 'Bearer' } : {}),
        exp: Math.floor(row.expiresAt.getTime() / 1000),
        iat: Math.floor(row.createdAt.getTime() / 1000),
        sub: standing.session?.sub ?? this.subjects.subjectFor(owner, row.userId),
        // Without resource indicators (RFC 8707) a token's audience is the client it was issued to, as for its ID token.
        aud: owner.clientId,
        iss: this.config.publicUrl,
        ...(standing.live && standing.session ? { sid: standing.session.sid } : {}),
      };
    }
    return inactive;
  }

  /**
   * Revokes every access and refresh token of these users, offline_access ones included: their
   * grants end with their account or their credentials (deactivation, a password change).
   */
  async revokeAllOf(tx: EntityManager, userIds: string[]): Promise<void> {
    const now = this.clock.now();
    for (const entity of [RefreshToken, AccessToken])
      await tx.update(entity, { userId: In(userIds), revokedAt: IsNull() }, { revokedAt: now });
  }

  /**
   * Whether an issued token may still be used: the one check made wherever a token is accepted
   * (refresh, userinfo). It is not revoked or expired; its user is active; its application is
   * enabled; and unless it is an offline one (OIDC Core §11) its provider session has not ended
   * and its IdP session is within its absolute and idle lifetimes, computed here, so a session past
   * them counts as ended before the sweeper (or with no worker running) ends it.
   */
  private async standing(tx: EntityManager, token: AccessToken | RefreshToken): Promise<TokenStanding | null> {
    if (token.revokedAt || token.expiresAt <= this.clock.now()) return null;
    const user = await tx.findOneBy(User, { id: token.userId });
    // A deleted client's tombstone is disabled too, and its tokens revoked; deletedAt is checked all the same.
    const provider = await tx.existsBy(Provider, { id: token.providerId, enabled: true, deletedAt: IsNull() });
    if (!user?.isActive || !provider) return null;
    const session = token.oidcSessionId
      ? ((await tx.findOne(OidcSession, {
          where: { id: token.oidcSessionId },
          relations: { idpSession: true },
        })) as TokenStanding['session'])
      : null;
    const live = Boolean(session && !session.endedAt && this.idpSessions.isLive(session.idpSession));
    return live || token.offlineAccess ? { user, session, live } : null;
  }

  /** `unbound`: issued by an offline refresh token outside a live session, so the access token is offline too. */
  private async issueTokens(
    tx: EntityManager,
    grant: {
      client: RegisteredClient;
      user: User;
      sub: string;
      scope: string;
      oidcSessionId: string | null;
      sid: string | null;
      authTime: Date;
      nonce: string | null;
      codeHash: string | null;
      idToken?: boolean;
      offline?: boolean;
      unbound?: boolean;
    },
  ): Promise<TokenResponse> {
    const now = this.clock.now();
    const { accessTokenMs, refreshTokenMs, idTokenMs } = this.config.oidc;
    const scopes = grant.scope.split(' ');
    const common = {
      providerId: grant.client.providerId,
      userId: grant.user.id,
      oidcSessionId: grant.oidcSessionId,
      codeHash: grant.codeHash,
      scope: grant.scope,
      createdAt: now,
      revokedAt: null,
    };
    const accessToken = randomToken(32);
    await tx.insert(AccessToken, {
      id: newId(),
      tokenHash: sha256Hex(accessToken),
      expiresAt: new Date(now.getTime() + accessTokenMs),
      offlineAccess: grant.unbound ?? false,
      ...common,
    });
    const response: TokenResponse = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: Math.floor(accessTokenMs / 1000),
      scope: grant.scope,
    };

    if (grant.client.grantTypes.includes('refresh_token')) {
      const refreshToken = randomToken(32);
      const offlineAccess = grant.offline ?? scopes.includes('offline_access');
      await tx.insert(RefreshToken, {
        id: newId(),
        tokenHash: sha256Hex(refreshToken),
        expiresAt: new Date(now.getTime() + refreshTokenMs),
        offlineAccess,
        authTime: grant.authTime,
        ...common,
      });
      response.refresh_token = refreshToken;
    }
    if (grant.idToken ?? scopes.includes('openid')) {
      const iat = Math.floor(now.getTime() / 1000);
      response.id_token = await signJwt(this.keys, grant.client.idTokenSignedResponseAlg as OidcAlg, {
        iss: this.config.publicUrl,
        sub: grant.sub,
        aud: grant.client.clientId,
        iat,
        exp: iat + Math.floor(idTokenMs / 1000),
        auth_time: Math.floor(grant.authTime.getTime() / 1000),
        ...(grant.nonce ? { nonce: grant.nonce } : {}),
        ...(grant.sid ? { sid: grant.sid } : {}),
        at_hash: atHash(accessToken),
        // The scope claims go in the ID token as well as userinfo: see ClaimsService for why.
        ...(await this.claims.forScopes(grant.user, scopes)),
      });
    }
    return response;
  }

  private async revokeDescendants(tx: EntityManager, codeHash: string): Promise<void> {
    const now = this.clock.now();
    for (const entity of [RefreshToken, AccessToken])
      await tx.update(entity, { codeHash, revokedAt: IsNull() }, { revokedAt: now });
  }

  /** Revokes the grant a refresh token belongs to: every token descending from its code. */
  private async revokeGrant(tx: EntityManager, token: RefreshToken): Promise<void> {
    if (token.codeHash) return this.revokeDescendants(tx, token.codeHash);
    await tx.update(RefreshToken, { id: token.id, revokedAt: IsNull() }, { revokedAt: this.clock.now() });
  }
}

/**
 * PostgreSQL runs transactions at READ COMMITTED: a deactivation or password change committing while
 * a grant is issued would revoke the user's tokens (revokeAllOf) without seeing the new ones. Holding
 * the user's row FOR SHARE while issuing makes them take turns: their UPDATE of the user row waits
 * for this grant, and their revocation then sees what it issued; a grant that waits for them sees the
 * user inactive or its refresh token revoked. SQLite runs one write transaction at a time.
 */
async function lockUserForGrant(tx: EntityManager, userId: string): Promise<void> {
  if (tx.connection.options.type !== 'postgres') return;
  await tx.createQueryBuilder(User, 'user').setLock('pessimistic_read').where('user.id = :userId', { userId }).getOne();
}

function verifyPkce(challenge: string | null, verifier: unknown): void {
  if (!challenge) {
    if (verifier !== undefined)
      throw invalidGrant('code_verifier sent, but the authorization request had no code_challenge');
    return;
  }
  if (typeof verifier !== 'string' || !/^[A-Za-z0-9._~-]{43,128}$/.test(verifier))
    throw invalidGrant('code_verifier is missing or malformed');
  if (createHash('sha256').update(verifier).digest('base64url') !== challenge)
    throw invalidGrant('code_verifier does not match the code_challenge');
}
