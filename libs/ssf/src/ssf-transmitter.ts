import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import {
  CONFIG,
  type Config,
  KeysService,
  Provider,
  type SecurityEventClaims,
  SSF_PUSH,
  SsfReceiver,
  SsfRemovedSubject,
  User,
} from '@signoff/core';
import {
  type BackchannelReply,
  type BackchannelRequest,
  type BackchannelVerdict,
  type EndedForSignals,
  LogoutProtocolRegistry,
  type PlannedSignal,
  type PushState,
  readEachOnce,
  type ReadOnce,
  type SecurityEventTransmitter,
  type SignalDelivery,
} from '@signoff/logout';
import { DataSource, type EntityManager, In, IsNull, Not } from 'typeorm';
import {
  CHANGES_PASSWORD,
  DISABLES_ACCOUNT,
  ENABLES_ACCOUNT,
  EVENT_TYPES,
  initiatingEntityOf,
  reasonsOf,
} from './events';
import { eventsDelivered } from './ssf-receivers.service';
import { signSet } from './set';
import { type SubjectId, subjectKeysOf, userSubject } from './subjects';

const RECEIVER_KEY = 'ssf-receiver:';
const CHUNK = 400;

/**
 * The Shared Signals transmitter as the logout engine sees it (SecurityEventTransmitter): which
 * events a logout owes each stream, written with the logout (the outbox), and the SET of one, signed
 * when it is pushed. Registered with the engine at start, in the idp and in the worker.
 */
@Injectable()
export class SsfTransmitter implements SecurityEventTransmitter, OnModuleInit {
  constructor(
    private readonly db: DataSource,
    private readonly keys: KeysService,
    private readonly registry: LogoutProtocolRegistry,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  onModuleInit(): void {
    this.registry.registerTransmitter(this);
  }

  /**
   * The events of what a logout ended, for every stream that is enabled or paused (paused: held), of
   * the types it is delivered (events_delivered), about users it has not removed:
   * - CAEP session-revoked for each IdP session ended, subject {user, session}; for a provider session
   *   ended alone (its IdP session lives on), also `application` (critical_subject_members: a receiver
   *   that does not know it must not take it for the whole session);
   * - RISC account-disabled / account-enabled when the account was deactivated / activated again;
   * - CAEP credential-change when the password changed.
   * One `txn` for all of them: the operation's id (SSF 1.0 §4.1.9).
   */
  async eventsFor(tx: EntityManager, ended: EndedForSignals): Promise<PlannedSignal[]> {
    const streams = (
      await tx.find(SsfReceiver, {
        where: { streamId: Not(IsNull()), streamStatus: In(['enabled', 'paused']) },
        relations: { provider: true },
      })
    ).filter((receiver) => receiver.provider.enabled && !receiver.provider.deletedAt);
    if (!streams.length) return [];
    const users = await this.usersOf(tx, [
      ...ended.idpSessions.map((session) => session.userId),
      ...ended.providerSessions.map((session) => session.userId),
      ...ended.userIds,
    ]);
    const applications = await this.slugsOf(
      tx,
      ended.providerSessions.map((session) => session.providerId),
    );
    const removed = await this.removedSubjectsOf(
      tx,
      streams.map((stream) => stream.providerId),
      [...users.values()].flatMap(subjectKeysOf),
    );

    const iat = Math.floor(ended.at.getTime() / 1000);
    const common = {
      event_timestamp: iat,
      initiating_entity: initiatingEntityOf(ended.trigger, ended.initiatorType),
      ...reasonsOf(ended.trigger),
    };
    const signals: PlannedSignal[] = [];
    for (const stream of streams) {
      const delivered = new Set(eventsDelivered(stream.eventsRequested));
      const gone = removed.get(stream.providerId);
      const userFor = (userId: string): SubjectId | null => {
        const user = users.get(userId);
        if (!user || subjectKeysOf(user).some((key) => gone?.has(key))) return null;
        return userSubject(user, stream.subjectFormat, this.config.publicUrl);
      };
      const add = (type: string, subject: SubjectId | null, members: Record<string, unknown>) => {
        if (!subject || !delivered.has(type)) return;
        signals.push({
          receiverId: stream.providerId,
          channel: stream.deliveryMethod === SSF_PUSH ? 'ssf_push' : 'ssf_poll',
          held: stream.streamStatus === 'paused',
          event: { iat, txn: ended.operationId, sub_id: subject, events: { [type]: members } },
        });
      };
      for (const userId of ended.userIds) {
        // RISC §2.3's `reason` is only hijacking or bulk-account: an administrator's deactivation says
        // why in CAEP's words instead (SSF §4.2.3: receivers ignore members they do not know).
        if (DISABLES_ACCOUNT.includes(ended.trigger))
          add(EVENT_TYPES.accountDisabled, userFor(userId), { reason_admin: common.reason_admin });
        if (ENABLES_ACCOUNT.includes(ended.trigger)) add(EVENT_TYPES.accountEnabled, userFor(userId), {});
        if (CHANGES_PASSWORD.includes(ended.trigger))
          add(EVENT_TYPES.credentialChange, userFor(userId), {
            credential_type: 'password',
            change_type: 'update',
            ...common,
          });
      }
      for (const session of ended.idpSessions) {
        const user = userFor(session.userId);
        add(EVENT_TYPES.sessionRevoked, user && { format: 'complex', user, session: opaque(session.id) }, common);
      }
      for (const session of ended.providerSessions) {
        const user = userFor(session.userId);
        const application = applications.get(session.providerId);
        add(
          EVENT_TYPES.sessionRevoked,
          user && application
            ? { format: 'complex', user, session: opaque(session.idpSessionId), application: opaque(application) }
            : null,
          common,
        );
      }
    }
    return signals;
  }

  async readSettings(receiverIds: string[], once: ReadOnce): Promise<void> {
    await readEachOnce(
      once,
      RECEIVER_KEY,
      receiverIds,
      (ids) => this.db.getRepository(SsfReceiver).findBy({ providerId: In(ids) }),
      (receiver) => receiver.providerId,
    );
  }

  /**
   * Read fresh for every batch (one query), not through the batches' shared settings: a receiver that
   * was told its stream is paused gets no push after that answer (SSF 1.0 §8.1.2.1 "MUST NOT").
   */
  async pushStates(receiverIds: string[]): Promise<Map<string, PushState>> {
    const receivers = new Map(
      (await this.db.getRepository(SsfReceiver).findBy({ providerId: In(receiverIds) })).map((receiver) => [
        receiver.providerId,
        receiver,
      ]),
    );
    const stateOf = (receiver: SsfReceiver | undefined): PushState => {
      if (!receiver?.streamId) return 'gone';
      if (receiver.deliveryMethod !== SSF_PUSH) return 'poll';
      return receiver.streamStatus === 'enabled'
        ? 'enabled'
        : receiver.streamStatus === 'paused'
          ? 'paused'
          : 'disabled';
    };
    return new Map(receiverIds.map((id) => [id, stateOf(receivers.get(id))]));
  }

  /**
   * RFC 8935 §2: POST the SET, `Content-Type: application/secevent+jwt`, `Accept: application/json`,
   * and the Authorization header the receiver asked for (SSF 1.0 §6.1.1), none otherwise. The claims
   * are the delivery's, its jti the delivery's id: every attempt sends the same event, which a
   * receiver that got it already recognises (RFC 8935 §2 lets it answer as if it had not).
   */
  async buildPush(delivery: SignalDelivery, once: ReadOnce): Promise<BackchannelRequest> {
    const receiver = await once(`${RECEIVER_KEY}${delivery.receiverId}`, () =>
      this.db.getRepository(SsfReceiver).findOneBy({ providerId: delivery.receiverId }),
    );
    // Changed since the worker's claim let it through (pushStates): tried again, and the next claim
    // holds it, moves it to the poll or skips it, as the stream is then.
    if (!receiver?.endpointUrl || receiver.deliveryMethod !== SSF_PUSH)
      throw new Error('the stream changed: it takes no push now');
    const set = await signSet(await this.keys.active('oidc', 'RS256'), this.claimsOf(delivery, receiver));
    const authorization = receiver.authorizationHeader
      ? this.keys.openSecret(receiver.authorizationHeader, receiver.providerId)
      : null;
    return {
      url: receiver.endpointUrl,
      body: set,
      contentType: 'application/secevent+jwt',
      messageId: delivery.id,
      headers: { accept: 'application/json', ...(authorization ? { authorization } : {}) },
    };
  }

  /** A polled event's SET (RFC 8936 §2.5), signed now, with the same claims a push would carry. */
  async signPolled(delivery: SignalDelivery, receiver: SsfReceiver): Promise<string> {
    return signSet(await this.keys.active('oidc', 'RS256'), this.claimsOf(delivery, receiver));
  }

  readPushReply(reply: BackchannelReply): BackchannelVerdict {
    return pushVerdict(reply);
  }

  private claimsOf(delivery: SignalDelivery, receiver: SsfReceiver): SecurityEventClaims & Record<string, unknown> {
    // SSF 1.0 §4.1: iss, aud, iat, jti, txn, sub_id, events; never sub (§4.1.2) nor exp (§4.1.7).
    return {
      iss: this.config.publicUrl,
      aud: receiver.audience,
      jti: delivery.id,
      iat: delivery.event.iat,
      txn: delivery.event.txn,
      sub_id: delivery.event.sub_id,
      events: delivery.event.events,
    };
  }

  private async usersOf(tx: EntityManager, ids: string[]): Promise<Map<string, Pick<User, 'id' | 'email'>>> {
    const unique = [...new Set(ids)];
    const users = new Map<string, Pick<User, 'id' | 'email'>>();
    for (let start = 0; start < unique.length; start += CHUNK)
      for (const user of await tx.find(User, {
        where: { id: In(unique.slice(start, start + CHUNK)) },
        select: { id: true, email: true },
      }))
        users.set(user.id, user);
    return users;
  }

  private async slugsOf(tx: EntityManager, providerIds: string[]): Promise<Map<string, string>> {
    const unique = [...new Set(providerIds)];
    if (!unique.length) return new Map();
    const providers = await tx.find(Provider, { where: { id: In(unique) }, select: { id: true, slug: true } });
    return new Map(providers.map((provider) => [provider.id, provider.slug]));
  }

  /** Which of these users' subject keys each stream removed: only theirs are read, in chunks. */
  private async removedSubjectsOf(
    tx: EntityManager,
    receiverIds: string[],
    keys: string[],
  ): Promise<Map<string, Set<string>>> {
    const removed = new Map<string, Set<string>>();
    for (let start = 0; start < keys.length; start += CHUNK)
      for (const row of await tx.find(SsfRemovedSubject, {
        where: { providerId: In(receiverIds), subject: In(keys.slice(start, start + CHUNK)) },
      }))
        removed.set(row.providerId, (removed.get(row.providerId) ?? new Set()).add(row.subject));
    return removed;
  }
}

/**
 * What a receiver's answer to a push means (RFC 8935): 202 is success (§2.2; any 2xx is taken as
 * one). A 400 names its `err` (§2.3: the SET itself was refused, so sending it again cannot help), as
 * do 401 and 403 (our authorization) and other 4xx; 408, 429 and 5xx are the receiver's trouble of the
 * moment, tried again (§4), as are network errors (the deliverer's).
 */
export function pushVerdict(reply: Pick<BackchannelReply, 'status' | 'body'>): BackchannelVerdict {
  if (reply.status >= 200 && reply.status < 300) return { ok: true, retryable: false };
  if (reply.status === 408 || reply.status === 429 || reply.status >= 500)
    return { ok: false, retryable: true, error: `HTTP ${reply.status}` };
  if (reply.status === 400) return { ok: false, retryable: false, error: `HTTP 400: ${setErrorOf(reply.body)}` };
  if (reply.status >= 300 && reply.status < 400)
    return { ok: false, retryable: false, error: `HTTP ${reply.status}: a redirect, not followed` };
  return { ok: false, retryable: false, error: `HTTP ${reply.status}: the receiver refused the SET` };
}

const opaque = (id: string): SubjectId => ({ format: 'opaque', id });

/** RFC 8935 §2.3's error object, as the attempt log shows it: `err: description`, or what came instead. */
function setErrorOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { err?: unknown; description?: unknown };
    if (typeof parsed.err === 'string')
      return `${parsed.err}${typeof parsed.description === 'string' ? `: ${parsed.description}` : ''}`.slice(0, 500);
  } catch {
    // not JSON: the receiver did not say why
  }
  return 'the receiver refused the SET';
}
