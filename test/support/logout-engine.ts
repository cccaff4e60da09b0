// The logout engine as its unit tests run it: the real LogoutModule over a real SQLite database
// (migrated, so the default flows exist) and the test run's real Redis (test/support/global-setup.ts),
// with a test LogoutProtocol in the registry in place of libs/oidc and libs/saml. Only the specs of
// libs/logout import this file; it is not exported by the library.
import { Test, type TestingModule } from '@nestjs/testing';
import {
  CoreModule,
  type DeliveryChannel,
  type DeliveryStatus,
  Flow,
  FlowStageBinding,
  IdpSession,
  JsonLogger,
  loadConfig,
  LogoutDelivery,
  LogoutOperation,
  ManualClock,
  newId,
  OidcSession,
  type Protocol,
  Provider,
  type ProviderSession,
  RedisModule,
  RedisService,
  SamlSession,
  Stage,
  type StageKind,
  User,
  type Config,
} from '@signoff/core';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import {
  type BackchannelRequest,
  type BackchannelVerdict,
  type DeliveryTarget,
  type FrontchannelReply,
  type FrontchannelStep,
  type InitiatorAnswer,
  type LogoutContext,
  LogoutModule,
  type LogoutProtocol,
  LogoutProtocolRegistry,
  type LogoutReturnUrls,
  type SeenOutcome,
  type SessionWithProvider,
} from '@signoff/logout';
import { liveIdpSession, plainUser } from './seed';

/** Where the test protocol's applications live; nothing listens there (no test here sends a back-channel message). */
export const APP_BASE = 'https://app.test';

/**
 * A LogoutProtocol with fixed answers: each provider is told over the channels it was seeded with
 * (nothing for the application that asked, as the real protocols do), front-channel steps are plain
 * URLs (with a message id for SAML, whose answers settle deliveries), and the initiator's answer is
 * a redirect naming the outcome it was given.
 */
export class TestLogoutProtocol implements LogoutProtocol {
  readonly answerAwaitsOutcome: boolean;
  private readonly channelsOf = new Map<string, DeliveryChannel[]>();
  /** Set to make the protocol's bookkeeping fail inside the orchestrator's transaction. */
  failBookkeeping: Error | null = null;
  /** The applications' allowed logout return URLs, by application id (client_id, entityID). */
  readonly returnUrls = new Map<string, LogoutReturnUrls>();

  constructor(readonly protocol: Protocol) {
    this.answerAwaitsOutcome = protocol === 'saml';
  }

  tellOver(providerId: string, channels: DeliveryChannel[]): void {
    this.channelsOf.set(providerId, channels);
  }

  async channels(session: SessionWithProvider, context: LogoutContext): Promise<DeliveryChannel[]> {
    if (session.providerId === context.initiatingProviderId) return [];
    return this.channelsOf.get(session.providerId) ?? [];
  }

  async sessionsEnded(): Promise<void> {
    // The test applications hold no tokens at the IdP: there is nothing to do but fail when told to.
    if (this.failBookkeeping) throw this.failBookkeeping;
  }

  /** Runs while a back-channel attempt is under way (after the claim, before the request): what else happens meanwhile. */
  duringAttempt: ((target: DeliveryTarget) => Promise<void>) | null = null;

  async buildBackchannelRequest(target: DeliveryTarget): Promise<BackchannelRequest> {
    await this.duringAttempt?.(target);
    return {
      url: `${APP_BASE}/${target.session.providerId}/backchannel`,
      body: target.reason,
      contentType: 'text/plain',
      messageId: newId(),
    };
  }

  readBackchannelReply(reply: { status: number }): BackchannelVerdict {
    return reply.status === 200 ? { ok: true, retryable: false } : { ok: false, retryable: reply.status >= 500 };
  }

  async buildFrontchannelStep(target: DeliveryTarget, relayState?: string): Promise<FrontchannelStep> {
    const messageId = this.protocol === 'saml' ? `_${randomBytes(8).toString('hex')}` : undefined;
    const query = new URLSearchParams({
      session: target.session.id,
      reason: target.reason,
      ...(relayState ? { RelayState: relayState } : {}),
    });
    return { url: `${APP_BASE}/${target.session.providerId}/logout?${query}`, ...(messageId ? { messageId } : {}) };
  }

  /** The test applications' answer is a FrontchannelReply already: there is nothing to verify. */
  async readFrontchannelReply(message: unknown): Promise<FrontchannelReply> {
    return message as FrontchannelReply;
  }

  async answerInitiator(providerId: string, _owed: unknown, outcome: SeenOutcome): Promise<InitiatorAnswer> {
    return { kind: 'redirect', url: `${APP_BASE}/${providerId}/answered?outcome=${outcome}` };
  }

  async logoutReturnUrls(applicationId: string): Promise<LogoutReturnUrls | null> {
    return this.returnUrls.get(applicationId) ?? null;
  }
}

/** A user signed in at some applications: the IdP session and one provider session per application. */
export interface Login {
  user: User;
  idpSession: IdpSession;
  providers: Provider[];
  providerSessions: ProviderSession[];
}

/** An application the user signed in at: its protocol, and the channels that protocol tells it over. */
export interface AppSpec {
  protocol: ApplicationProtocol;
  channels: DeliveryChannel[];
  /** Default: the provider's (random) slug. */
  name?: string;
  invalidationFlowId?: string | null;
}

/** A delivery seeded straight into the books, in a given state. */
export interface DeliverySpec {
  status: DeliveryStatus;
  /** Default: backchannel_oidc. */
  channel?: DeliveryChannel;
  /** Default: now. */
  createdAt?: Date;
}

/** The protocols of applications users sign in to (not SSF receivers). */
type ApplicationProtocol = Exclude<Protocol, 'ssf'>;

/** The running engine, its parts, and ways to seed what a test starts from. */
export interface Engine {
  module: TestingModule;
  db: DataSource;
  config: Config;
  clock: ManualClock;
  protocols: Record<ApplicationProtocol, TestLogoutProtocol>;
  get<T>(type: new (...args: never[]) => T): T;
  /** A user, a live IdP session and one provider session for each application. */
  login(apps?: AppSpec[]): Promise<Login>;
  /** A flow of these stages, bound in the order given (binding orders 10, 20, …) unless `order` says otherwise. */
  flow(stages: Array<{ kind: StageKind; config?: Record<string, unknown>; order?: number }>): Promise<string>;
  /** An open operation with one delivery per spec, each to a provider session of its own. */
  operation(
    deliveries: DeliverySpec[],
    initiatingProviderId?: string | null,
  ): Promise<{ operationId: string; deliveryIds: string[]; login: Login }>;
  /** The operation's row, or null. */
  operationRow(id: string): Promise<LogoutOperation | null>;
  /** The operation's deliveries, oldest first. */
  deliveries(operationId: string): Promise<LogoutDelivery[]>;
  close(): Promise<void>;
}

/**
 * Starts the engine. `env` overrides configuration (e.g. FRONTCHANNEL_TIMEOUT). One per spec file:
 * tests share it but not their rows (each seeds its own user, sessions and providers).
 */
export async function startEngine(env: Record<string, string> = {}): Promise<Engine> {
  const dataDir = mkdtempSync(join(tmpdir(), 'signoff-logout-unit-'));
  const redisPrefix = `t${randomBytes(6).toString('hex')}`;
  const config = loadConfig({
    DATA_DIR: dataDir,
    REDIS_URL: process.env.REDIS_URL,
    REDIS_PREFIX: redisPrefix,
    LOG_LEVEL: 'silent',
    ...env,
  });
  const clock = new ManualClock();
  // compile() builds the providers without running lifecycle hooks: no signing keys are generated
  // (nothing here signs), and the test protocols are registered by hand below.
  const module = await Test.createTestingModule({
    imports: [CoreModule.forRoot(config, { clock }), RedisModule.forRoot(config), LogoutModule],
  })
    .setLogger(new JsonLogger('silent'))
    .compile();
  module.useLogger(new JsonLogger('silent'));
  const redis = module.get(RedisService);
  const protocols = { oidc: new TestLogoutProtocol('oidc'), saml: new TestLogoutProtocol('saml') };
  const registry = module.get(LogoutProtocolRegistry);
  registry.register(protocols.oidc);
  registry.register(protocols.saml);
  const db = module.get(DataSource);

  const engine: Engine = {
    module,
    db,
    config,
    clock,
    protocols,
    get: (type) => module.get(type),

    async login(apps = []) {
      const now = clock.now();
      const user = await db.getRepository(User).save(plainUser(`u${randomBytes(6).toString('hex')}`, now));
      const idpSession = await db.getRepository(IdpSession).save(liveIdpSession(user.id, now));
      const providers: Provider[] = [];
      const providerSessions: ProviderSession[] = [];
      for (const [index, app] of apps.entries()) {
        const slug = `app-${randomBytes(6).toString('hex')}`;
        const provider = await db.getRepository(Provider).save({
          id: newId(),
          slug,
          name: app.name ?? slug,
          protocol: app.protocol,
          enabled: true,
          invalidationFlowId: app.invalidationFlowId ?? null,
          createdAt: now,
          updatedAt: now,
        });
        protocols[app.protocol].tellOver(provider.id, app.channels);
        // Created a millisecond apart: the engine reads sessions and deliveries oldest first.
        const createdAt = new Date(now.getTime() + index);
        const session =
          app.protocol === 'oidc'
            ? await db.getRepository(OidcSession).save({
                id: newId(),
                idpSessionId: idpSession.id,
                providerId: provider.id,
                userId: user.id,
                createdAt,
                endedAt: null,
                state: 'active',
                sid: newId(),
                sub: user.id,
              })
            : await db.getRepository(SamlSession).save({
                id: newId(),
                idpSessionId: idpSession.id,
                providerId: provider.id,
                userId: user.id,
                createdAt,
                endedAt: null,
                state: 'active',
                sessionIndex: newId(),
                nameId: user.id,
                nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
                nameQualifier: null,
                spNameQualifier: null,
                sessionNotOnOrAfter: null,
              });
        providers.push(provider);
        providerSessions.push(session);
      }
      return { user, idpSession, providers, providerSessions };
    },

    async flow(stages) {
      const now = clock.now();
      const tag = randomBytes(6).toString('hex');
      const flow = await db
        .getRepository(Flow)
        .save({ id: newId(), slug: `flow-${tag}`, name: `flow ${tag}`, createdAt: now });
      for (const [index, spec] of stages.entries()) {
        const stage = await db.getRepository(Stage).save({
          id: newId(),
          name: `stage-${tag}-${index}`,
          kind: spec.kind,
          config: spec.config ?? {},
          createdAt: now,
        });
        await db
          .getRepository(FlowStageBinding)
          .save({ id: newId(), flowId: flow.id, stageId: stage.id, order: spec.order ?? (index + 1) * 10 });
      }
      return flow.id;
    },

    async operation(specs, initiatingProviderId = null) {
      const login = await engine.login(
        specs.map((spec) => ({ protocol: 'oidc', channels: [spec.channel ?? 'backchannel_oidc'] })),
      );
      const now = clock.now();
      const operationId = newId();
      await db.getRepository(LogoutOperation).insert({
        id: operationId,
        trigger: 'user_logout',
        initiatorType: 'user',
        initiatorId: login.user.id,
        initiatingProviderId,
        idpSessionIds: [login.idpSession.id],
        createdAt: now,
        completedAt: null,
        outcome: null,
      });
      const deliveryIds: string[] = [];
      for (const [index, spec] of specs.entries()) {
        const id = newId();
        const final = !['pending', 'queued', 'sending'].includes(spec.status);
        const createdAt = spec.createdAt ?? new Date(now.getTime() + index);
        await db.getRepository(LogoutDelivery).insert({
          id,
          operationId,
          providerSessionId: login.providerSessions[index].id,
          providerId: login.providers[index].id,
          channel: spec.channel ?? 'backchannel_oidc',
          status: spec.status,
          attempts: final ? 1 : 0,
          nextAttemptAt: null,
          leaseUntil: null,
          lastHttpStatus: null,
          lastError: spec.status === 'failed' ? 'seeded as failed' : null,
          attemptLog: [],
          messageId: null,
          createdAt,
          updatedAt: createdAt,
          completedAt: final ? createdAt : null,
        });
        deliveryIds.push(id);
      }
      return { operationId, deliveryIds, login };
    },

    operationRow: (id) => db.getRepository(LogoutOperation).findOneBy({ id }),
    deliveries: (operationId) =>
      db.getRepository(LogoutDelivery).find({ where: { operationId }, order: { createdAt: 'ASC' } }),

    async close() {
      try {
        // The fail-fast connection may be between connections (a first connect that timed out while
        // a loaded machine compiled and migrated; the run's Redis restarted): it reconnects by itself.
        if (redis.client.status !== 'ready')
          await new Promise<void>((resolve) => {
            const ready = () => {
              clearTimeout(timer);
              redis.client.off('ready', ready);
              resolve();
            };
            const timer = setTimeout(ready, 5000);
            redis.client.once('ready', ready);
          });
        const keys = await redis.client.keys(`${redisPrefix}:*`);
        if (keys.length) await redis.client.del(...keys);
      } finally {
        await module.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
  return engine;
}
