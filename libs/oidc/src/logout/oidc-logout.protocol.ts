import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import {
  Clock,
  CONFIG,
  type Config,
  type DeliveryChannel,
  isLiveProvider,
  KeysService,
  oneOf,
  OidcClient,
  OidcSession,
  randomToken,
} from '@signoff/core';
import { verdictForStatus } from '@signoff/dispatch';
import {
  type BackchannelRequest,
  type BackchannelVerdict,
  type DeliveryTarget,
  entitiesWhereOneOf,
  type FrontchannelStep,
  type InitiatorAnswer,
  type LogoutContext,
  type LogoutProtocol,
  LogoutProtocolRegistry,
  type LogoutReturnUrls,
  type SessionWithProvider,
  readEachOnce,
  readEachTime,
  type ReadOnce,
} from '@signoff/logout';
import { DataSource, type EntityManager } from 'typeorm';
import { type OidcAlg, signJwt } from '../tokens/jwt';
import { TokensService } from '../tokens/tokens.service';
import { postLogoutRedirect } from './rp-initiated-logout';

const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const LOGOUT_TOKEN_LIFETIME_S = 120;

/** What an RP that started a logout is owed (RP-Initiated Logout 1.0 §3): its registered post_logout_redirect_uri, and its state. */
export interface OwedPostLogoutRedirect {
  postLogoutRedirectUri: string;
  state: string | null;
}

/**
 * OIDC's part in the logout engine: Back-Channel Logout 1.0 tokens, Front-Channel Logout 1.0 iframes,
 * and the post-logout redirect that answers an RP-initiated logout.
 */
@Injectable()
export class OidcLogoutProtocol implements LogoutProtocol, OnModuleInit {
  readonly protocol = 'oidc' as const;
  /** The redirect does not say how the logout went: the RP gets it as soon as the front channel is done. */
  readonly answerAwaitsOutcome = false;

  constructor(
    private readonly db: DataSource,
    private readonly keys: KeysService,
    private readonly clock: Clock,
    private readonly registry: LogoutProtocolRegistry,
    private readonly tokens: TokensService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  async channels(session: SessionWithProvider, context: LogoutContext): Promise<DeliveryChannel[]> {
    const client = await this.client(session.providerId, context.once);
    return [
      ...(client.backchannelLogoutUri ? (['backchannel_oidc'] as const) : []),
      ...(client.frontchannelLogoutUri ? (['frontchannel_oidc'] as const) : []),
    ];
  }

  /** Tokens issued in an ended session stop working, except refresh tokens granted offline_access. */
  async sessionsEnded(tx: EntityManager, sessions: SessionWithProvider[]): Promise<void> {
    // One statement per table however many sessions end: a bulk logout ends thousands at once.
    const postgres = tx.connection.options.type === 'postgres';
    const [inSessions, ids] = oneOf(
      tx,
      'oidc_session_id',
      sessions.map((session) => session.id),
      2,
    );
    const at = postgres ? '$1' : '?';
    const now = this.clock.now().getTime();
    await tx.query(`UPDATE access_tokens SET revoked_at = ${at} WHERE ${inSessions} AND revoked_at IS NULL`, [
      now,
      ids,
    ]);
    await tx.query(
      `UPDATE refresh_tokens SET revoked_at = ${at}
        WHERE ${inSessions} AND revoked_at IS NULL AND offline_access = ${postgres ? 'false' : '0'}`,
      [now, ids],
    );
  }

  /** Deactivation or a password change: every token of the users goes, offline_access ones included. */
  async grantsEnded(tx: EntityManager, userIds: string[]): Promise<void> {
    await this.tokens.revokeAllOf(tx, userIds);
  }

  /**
   * A logout token (Back-Channel Logout 1.0 §2.4): iss, aud, iat, exp (2 minutes), jti, sub, sid and
   * the one backchannel-logout event; never a nonce. Signed with the client's ID token algorithm,
   * `typ` as the client chose. A fresh token per attempt: a retry minutes later needs a fresh exp.
   * A deleted client (a tombstone) is still told: `aud` is then the client_id it had, the only one the
   * RP knows, not its tombstone value.
   */
  async buildBackchannelRequest({ session, once }: DeliveryTarget): Promise<BackchannelRequest> {
    const client = await this.client(session.providerId, once);
    const oidc = session as OidcSession;
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    const jti = randomToken(16);
    const token = await signJwt(
      this.keys,
      client.idTokenSignedResponseAlg as OidcAlg,
      {
        iss: this.config.publicUrl,
        aud: client.originalClientId ?? client.clientId,
        iat,
        exp: iat + LOGOUT_TOKEN_LIFETIME_S,
        jti,
        sub: oidc.sub,
        sid: oidc.sid,
        events: { [BACKCHANNEL_EVENT]: {} },
      },
      client.logoutTokenTyp,
    );
    return {
      url: client.backchannelLogoutUri!,
      body: new URLSearchParams({ logout_token: token }).toString(),
      contentType: 'application/x-www-form-urlencoded',
      messageId: jti,
    };
  }

  readBackchannelReply(reply: { status: number }): BackchannelVerdict {
    const verdict = verdictForStatus(reply.status);
    return verdict === 'succeeded'
      ? { ok: true, retryable: false }
      : { ok: false, retryable: verdict === 'retry', error: `HTTP ${reply.status}` };
  }

  /** Front-Channel Logout 1.0 §2: the client's URI, with iss and sid when it asked for them. */
  async buildFrontchannelStep({ session }: DeliveryTarget): Promise<FrontchannelStep> {
    const client = await this.client(session.providerId);
    const url = new URL(client.frontchannelLogoutUri!);
    if (client.frontchannelLogoutSessionRequired) {
      url.searchParams.set('iss', this.config.publicUrl);
      url.searchParams.set('sid', (session as OidcSession).sid);
    }
    return { url: url.href };
  }

  /** RP-Initiated Logout 1.0 §3: the post_logout_redirect_uri exactly as registered (not re-serialised), plus `state` when given. */
  async answerInitiator(_providerId: string, owed: unknown): Promise<InitiatorAnswer> {
    return { kind: 'redirect', url: postLogoutRedirect(owed as OwedPostLogoutRedirect) };
  }

  /**
   * Where `/logout?return_to=…&client_id=…` may send the browser for an enabled client (not a deleted
   * one's tombstone): its registered post_logout_redirect_uris, compared exactly as end_session compares them (§3).
   */
  async logoutReturnUrls(clientId: string): Promise<LogoutReturnUrls | null> {
    const client = await this.db
      .getRepository(OidcClient)
      .findOne({ where: { clientId }, relations: { provider: true } });
    return client && isLiveProvider(client.provider) ? { exact: client.postLogoutRedirectUris, patterns: [] } : null;
  }

  private client(providerId: string, once: ReadOnce = readEachTime): Promise<OidcClient> {
    return once(`oidc-client:${providerId}`, () => this.db.getRepository(OidcClient).findOneByOrFail({ providerId }));
  }

  /** A batch's clients in one query: its rows mix many applications (a user's, or a bulk logout's). */
  async readSettings(providerIds: string[], once: ReadOnce): Promise<void> {
    await readEachOnce(
      once,
      'oidc-client:',
      providerIds,
      (ids) => entitiesWhereOneOf(this.db, OidcClient, 'provider_id', ids),
      (client) => client.providerId,
    );
  }
}
