import { Inject, Injectable } from '@nestjs/common';
import {
  type Actor,
  AuditService,
  Clock,
  CONFIG,
  type Config,
  isLoopbackHost,
  KeysService,
  newId,
  OutboundPolicy,
  SSF_POLL,
  SSF_PUSH,
  SSF_STREAM_STATUSES,
  type SsfDeliveryMethod,
  SsfReceiver,
  SsfRemovedSubject,
  type SsfStreamStatus,
} from '@signoff/core';
import { SecurityEventBooks, STREAM_DELETED, STREAM_DISABLED } from '@signoff/logout';
import { DataSource, Equal, IsNull } from 'typeorm';
import { EVENT_TYPES, EVENTS_SUPPORTED } from './events';
import { badRequest, noSuchStream, SsfError } from './ssf-error';
import { eventsDelivered } from './ssf-receivers.service';
import { SubjectError, subjectKeyOf } from './subjects';

/** A stream's configuration as the receiver reads it (SSF 1.0 §8.1.1). */
export interface StreamConfiguration {
  stream_id: string;
  iss: string;
  aud: string;
  events_supported: string[];
  events_requested?: string[];
  events_delivered: string[];
  delivery: { method: SsfDeliveryMethod; endpoint_url: string };
  description?: string;
  min_verification_interval: number;
}

export interface StreamStatusView {
  stream_id: string;
  status: SsfStreamStatus;
  reason?: string;
}

/** Properties only the transmitter sets (§8.1.1): a receiver may not send them in a create (400). */
const TRANSMITTER_SUPPLIED = [
  'stream_id',
  'iss',
  'aud',
  'events_supported',
  'events_delivered',
  'min_verification_interval',
  'inactivity_timeout',
];
const MAX_EVENTS_REQUESTED = 64;
const MAX_DESCRIPTION = 1000;
const MAX_AUTHORIZATION = 4096;
const MAX_STATE = 1024;
const MAX_REMOVED_SUBJECTS = 10_000;

/** What a receiver's create or update asks for, once read. */
interface RequestedStream {
  eventsRequested: string[] | null;
  description: string | null;
  method: SsfDeliveryMethod;
  endpointUrl: string | null;
  authorizationHeader: string | null;
}

/**
 * Stream management (SSF 1.0 §8): a receiver, authenticated by its token, creates, reads, updates,
 * replaces and deletes its one stream, changes its status, adds and removes subjects, and asks for a
 * verification event. What changes for the events already owed (held, released, dropped, moved
 * between push and poll) is SecurityEventBooks'.
 */
@Injectable()
export class SsfStreamsService {
  private readonly outbound: OutboundPolicy;

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly keys: KeysService,
    private readonly books: SecurityEventBooks,
    private readonly audit: AuditService,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.outbound = OutboundPolicy.fromConfig(config);
  }

  /**
   * §8.1.1.1: 201 with the configuration; 409 when the receiver has a stream (one per receiver, also
   * when two creates race: the write is conditional). Audited (`ssf_stream.created`).
   */
  async create(receiver: SsfReceiver, body: unknown): Promise<StreamConfiguration> {
    const fields = objectOf(body);
    const sent = TRANSMITTER_SUPPLIED.filter((name) => name in fields);
    if (sent.length) throw badRequest(`${sent.join(', ')}: set by the transmitter, not in a create (SSF 1.0 §8.1.1)`);
    const requested = this.requested(fields, 'create');
    const now = this.clock.now();
    const stream = {
      streamId: newId(),
      streamStatus: 'enabled' as const,
      streamStatusReason: null,
      streamCreatedAt: now,
      lastVerificationAt: null,
    };
    const columns = this.columnsOf(receiver, requested, now);
    const created = await this.db.transaction(async (tx) => {
      const written = await tx
        .getRepository(SsfReceiver)
        .update({ providerId: receiver.providerId, streamId: IsNull() }, { ...stream, ...columns });
      if (!written.affected) return false;
      await this.audit.record(
        {
          action: 'ssf_stream.created',
          actor: actorOf(receiver),
          target: { type: 'ssf_receiver', id: receiver.providerId },
          details: { streamId: stream.streamId, ...auditedOf(requested) },
        },
        tx,
      );
      return true;
    });
    if (!created) throw new SsfError('conflict', 'this receiver has a stream already: one stream per receiver', 409);
    Object.assign(receiver, stream, columns);
    return this.configurationOf(receiver);
  }

  /** §8.1.1.2: the receiver's streams (an array) without a stream_id, the one named with it; 404 otherwise. */
  read(receiver: SsfReceiver, streamId: string | undefined): StreamConfiguration | StreamConfiguration[] {
    if (streamId === undefined) return receiver.streamId ? [this.configurationOf(receiver)] : [];
    this.streamOf(receiver, streamId);
    return this.configurationOf(receiver);
  }

  /**
   * §8.1.1.3 (PATCH, `replace` false: what is not sent stays) and §8.1.1.4 (PUT, `replace` true: what
   * is not sent goes). Transmitter-supplied properties may be sent, and must then be what they are.
   * Only the receiver-supplied columns are written, and only while the stream is still this one.
   */
  async update(receiver: SsfReceiver, body: unknown, replace: boolean): Promise<StreamConfiguration> {
    const fields = objectOf(body);
    this.streamOf(receiver, fields.stream_id);
    const current = this.configurationOf(receiver);
    for (const name of TRANSMITTER_SUPPLIED)
      if (name in fields && JSON.stringify(fields[name]) !== JSON.stringify(current[name as keyof StreamConfiguration]))
        throw badRequest(
          `${name}: set by the transmitter, and not ${JSON.stringify(current[name as keyof StreamConfiguration])}`,
        );
    const requested = this.requested(fields, replace ? 'replace' : 'update', receiver);
    const now = this.clock.now();
    const methodChanged = receiver.deliveryMethod !== requested.method;
    const columns = this.columnsOf(receiver, requested, now);
    const updated = await this.db.transaction(async (tx) => {
      const written = await tx
        .getRepository(SsfReceiver)
        .update({ providerId: receiver.providerId, streamId: receiver.streamId! }, columns);
      if (!written.affected) return false;
      await this.audit.record(
        {
          action: 'ssf_stream.updated',
          actor: actorOf(receiver),
          target: { type: 'ssf_receiver', id: receiver.providerId },
          details: { streamId: receiver.streamId, replace, ...auditedOf(requested) },
        },
        tx,
      );
      return true;
    });
    if (!updated) throw noSuchStream();
    Object.assign(receiver, columns);
    if (methodChanged)
      await this.books.switchChannel(receiver.providerId, requested.method === SSF_PUSH ? 'ssf_push' : 'ssf_poll');
    return this.configurationOf(receiver);
  }

  /** §8.1.1.5: 204; the events it was owed and not sent end `skipped`. */
  async delete(receiver: SsfReceiver, streamId: unknown): Promise<void> {
    this.streamOf(receiver, streamId);
    const deleted = await this.db.transaction(async (tx) => {
      const written = await tx.update(
        SsfReceiver,
        { providerId: receiver.providerId, streamId: receiver.streamId! },
        {
          streamId: null,
          streamStatus: null,
          streamStatusReason: null,
          deliveryMethod: null,
          endpointUrl: null,
          authorizationHeader: null,
          eventsRequested: null,
          description: null,
          streamCreatedAt: null,
          streamUpdatedAt: null,
          lastVerificationAt: null,
        },
      );
      if (!written.affected) return false;
      await tx.delete(SsfRemovedSubject, { providerId: receiver.providerId });
      await this.audit.record(
        {
          action: 'ssf_stream.deleted',
          actor: actorOf(receiver),
          target: { type: 'ssf_receiver', id: receiver.providerId },
          details: { streamId: receiver.streamId },
        },
        tx,
      );
      return true;
    });
    if (!deleted) throw noSuchStream();
    await this.books.drop(receiver.providerId, STREAM_DELETED);
  }

  /** §8.1.2.1. */
  status(receiver: SsfReceiver, streamId: unknown): StreamStatusView {
    this.streamOf(receiver, streamId);
    return statusOf(receiver);
  }

  /**
   * §8.1.2.2: paused holds the events owed (sent on enable), disabled ends them `skipped` and keeps
   * none from then on, enabled sends what was held.
   */
  async updateStatus(receiver: SsfReceiver, body: unknown): Promise<StreamStatusView> {
    const fields = objectOf(body);
    this.streamOf(receiver, fields.stream_id);
    const status = fields.status;
    if (typeof status !== 'string' || !SSF_STREAM_STATUSES.includes(status as SsfStreamStatus))
      throw badRequest(`status: one of ${SSF_STREAM_STATUSES.join(', ')}`);
    const reason = optionalText(fields, 'reason', MAX_DESCRIPTION);
    const changed = await this.db.transaction(async (tx) => {
      const written = await tx
        .getRepository(SsfReceiver)
        .update(
          { providerId: receiver.providerId, streamId: receiver.streamId! },
          { streamStatus: status as SsfStreamStatus, streamStatusReason: reason, streamUpdatedAt: this.clock.now() },
        );
      if (!written.affected) return false;
      await this.audit.record(
        {
          action: 'ssf_stream.status_changed',
          actor: actorOf(receiver),
          target: { type: 'ssf_receiver', id: receiver.providerId },
          details: { streamId: receiver.streamId, from: receiver.streamStatus, to: status, reason },
        },
        tx,
      );
      return true;
    });
    if (!changed) throw noSuchStream();
    Object.assign(receiver, { streamStatus: status, streamStatusReason: reason });
    if (status === 'paused') await this.books.hold(receiver.providerId);
    if (status === 'enabled') await this.books.release(receiver.providerId);
    if (status === 'disabled') await this.books.drop(receiver.providerId, STREAM_DISABLED);
    return statusOf(receiver);
  }

  /**
   * §8.1.3.2 / §8.1.3.3: every user is in a stream by default (default_subjects ALL); removing a user
   * subject (iss_sub, email, or a complex subject's user) stops their events until it is added again.
   * A subject that names nothing Signoff sends events about is accepted and ignored (§9.1).
   */
  async changeSubject(receiver: SsfReceiver, body: unknown, change: 'add' | 'remove'): Promise<void> {
    const fields = objectOf(body);
    this.streamOf(receiver, fields.stream_id);
    if (!('subject' in fields)) throw badRequest('"subject" is required (SSF 1.0 §8.1.3)');
    if ('verified' in fields && typeof fields.verified !== 'boolean') throw badRequest('"verified" is a boolean');
    let key: string | null;
    try {
      key = subjectKeyOf(fields.subject, this.config.publicUrl);
    } catch (error) {
      if (error instanceof SubjectError) throw badRequest(`subject: ${error.message}`);
      throw error;
    }
    if (!key) return;
    await this.db.transaction(async (tx) => {
      const removed = tx.getRepository(SsfRemovedSubject);
      if (change === 'add') {
        if (!(await removed.delete({ providerId: receiver.providerId, subject: key })).affected) return;
      } else {
        if (await removed.existsBy({ providerId: receiver.providerId, subject: key })) return;
        // Bounded: every logout reads the removed subjects of the users it is about, per stream.
        if ((await removed.countBy({ providerId: receiver.providerId })) >= MAX_REMOVED_SUBJECTS)
          throw badRequest(`a stream removes at most ${MAX_REMOVED_SUBJECTS} subjects: add some back first`);
        await removed.insert({ providerId: receiver.providerId, subject: key, createdAt: this.clock.now() });
      }
      await this.audit.record(
        {
          action: change === 'add' ? 'ssf_stream.subject_added' : 'ssf_stream.subject_removed',
          actor: actorOf(receiver),
          target: { type: 'ssf_receiver', id: receiver.providerId },
          details: { streamId: receiver.streamId, subject: key },
        },
        tx,
      );
    });
  }

  /**
   * §8.1.4.2: a verification event goes out through the engine, with the receiver's `state` (204 says
   * only that it was asked for). 429 sooner than min_verification_interval after the last request.
   * A disabled stream sends nothing (§8.1.2.1); a paused one holds it.
   */
  async verify(receiver: SsfReceiver, body: unknown): Promise<void> {
    const fields = objectOf(body);
    const streamId = this.streamOf(receiver, fields.stream_id);
    const state = optionalText(fields, 'state', MAX_STATE);
    const now = this.clock.now();
    const interval = this.config.ssf.minVerificationIntervalMs;
    const last = receiver.lastVerificationAt?.getTime();
    if (last !== undefined && now.getTime() - last < interval)
      throw new SsfError(
        'too_many_requests',
        'a verification was asked for too recently (min_verification_interval)',
        429,
        {
          'Retry-After': String(Math.ceil((last + interval - now.getTime()) / 1000)),
        },
      );
    // Conditional on the last request it read: of two requests at once, one gets 429.
    const claimed = await this.db.getRepository(SsfReceiver).update(
      {
        providerId: receiver.providerId,
        streamId,
        lastVerificationAt: receiver.lastVerificationAt ? Equal(receiver.lastVerificationAt) : IsNull(),
      },
      { lastVerificationAt: now },
    );
    if (!claimed.affected)
      throw new SsfError(
        'too_many_requests',
        'a verification was asked for too recently (min_verification_interval)',
        429,
        {
          'Retry-After': String(Math.ceil(interval / 1000)),
        },
      );
    if (receiver.streamStatus === 'disabled') return;
    const iat = Math.floor(now.getTime() / 1000);
    await this.books.send({
      trigger: 'ssf_verification',
      initiator: { type: 'provider', id: receiver.providerId },
      signals: (operationId) => [
        {
          receiverId: receiver.providerId,
          channel: receiver.deliveryMethod === SSF_PUSH ? 'ssf_push' : 'ssf_poll',
          held: receiver.streamStatus === 'paused',
          event: {
            iat,
            txn: operationId,
            // §8.1.4.1: the verification event's subject is the stream itself.
            sub_id: { format: 'opaque', id: streamId },
            events: { [EVENT_TYPES.verification]: state === null ? {} : { state } },
          },
        },
      ],
    });
  }

  /** The configuration a receiver reads (the push Authorization header is never shown back). */
  configurationOf(receiver: SsfReceiver): StreamConfiguration {
    const streamId = receiver.streamId!;
    return {
      stream_id: streamId,
      iss: this.config.publicUrl,
      aud: receiver.audience,
      events_supported: [...EVENTS_SUPPORTED],
      ...(receiver.eventsRequested ? { events_requested: receiver.eventsRequested } : {}),
      events_delivered: eventsDelivered(receiver.eventsRequested),
      delivery: {
        method: receiver.deliveryMethod!,
        endpoint_url: receiver.deliveryMethod === SSF_POLL ? this.pollUrlOf(streamId) : receiver.endpointUrl!,
      },
      ...(receiver.description !== null ? { description: receiver.description } : {}),
      min_verification_interval: Math.ceil(this.config.ssf.minVerificationIntervalMs / 1000),
    };
  }

  /** A poll stream's endpoint (RFC 8936; SSF 1.0 §6.1.2: transmitter-supplied, one per stream). */
  pollUrlOf(streamId: string): string {
    return `${this.config.publicUrl}/ssf/poll/${streamId}`;
  }

  /** The receiver's stream when `streamId` names it; 404 otherwise (another receiver's stream too). */
  private streamOf(receiver: SsfReceiver, streamId: unknown): string {
    if (streamId === undefined || streamId === null || streamId === '') throw badRequest('"stream_id" is required');
    if (typeof streamId !== 'string') throw badRequest('"stream_id" is a string');
    if (!receiver.streamId || receiver.streamId !== streamId) throw noSuchStream();
    return streamId;
  }

  /** The receiver-supplied columns of what it asked for (its push Authorization header sealed). */
  private columnsOf(receiver: SsfReceiver, requested: RequestedStream, now: Date) {
    return {
      deliveryMethod: requested.method,
      endpointUrl: requested.endpointUrl,
      authorizationHeader:
        requested.authorizationHeader === null
          ? null
          : this.keys.sealSecret(requested.authorizationHeader, receiver.providerId),
      eventsRequested: requested.eventsRequested,
      description: requested.description,
      streamUpdatedAt: now,
    };
  }

  /** The receiver-supplied properties of a request, checked; in an update, what is not sent is kept. */
  private requested(
    fields: Record<string, unknown>,
    mode: 'create' | 'replace' | 'update',
    current?: SsfReceiver,
  ): RequestedStream {
    const keep = mode === 'update' && current;
    const result: RequestedStream = keep
      ? {
          eventsRequested: current.eventsRequested,
          description: current.description,
          method: current.deliveryMethod!,
          endpointUrl: current.endpointUrl,
          authorizationHeader: current.authorizationHeader
            ? this.keys.openSecret(current.authorizationHeader, current.providerId)
            : null,
        }
      : { eventsRequested: null, description: null, method: SSF_POLL, endpointUrl: null, authorizationHeader: null };
    if ('events_requested' in fields) result.eventsRequested = this.eventsRequested(fields.events_requested);
    if ('description' in fields) result.description = optionalText(fields, 'description', MAX_DESCRIPTION);
    if ('delivery' in fields || !keep) Object.assign(result, this.delivery(fields.delivery, current));
    return result;
  }

  private eventsRequested(value: unknown): string[] | null {
    if (value === null) return null;
    if (
      !Array.isArray(value) ||
      value.length > MAX_EVENTS_REQUESTED ||
      value.some((type) => typeof type !== 'string' || type.length > 512)
    )
      throw badRequest(`events_requested: an array of at most ${MAX_EVENTS_REQUESTED} event type URIs`);
    // §8.1.1: the transmitter ignores the values it does not understand (events_delivered leaves them out).
    return [...new Set(value as string[])];
  }

  /**
   * The delivery a receiver asks for (§6.1, §8.1.1.1): push to its endpoint_url, with its
   * authorization_header; poll (also when no delivery is sent), at our endpoint. A push endpoint must
   * be https (http only on loopback, or with OIDC_ALLOW_HTTP), and pass the outbound policy.
   */
  private delivery(
    value: unknown,
    current?: SsfReceiver,
  ): Pick<RequestedStream, 'method' | 'endpointUrl' | 'authorizationHeader'> {
    if (value === undefined || value === null)
      return { method: SSF_POLL, endpointUrl: null, authorizationHeader: null };
    const delivery = objectOf(value, 'delivery');
    if (delivery.method === SSF_POLL) {
      const url = delivery.endpoint_url;
      if (url !== undefined && !(current?.streamId && url === this.pollUrlOf(current.streamId)))
        throw badRequest("delivery.endpoint_url: a poll stream's endpoint is set by the transmitter");
      return { method: SSF_POLL, endpointUrl: null, authorizationHeader: null };
    }
    if (delivery.method !== SSF_PUSH) throw badRequest(`delivery.method: ${SSF_PUSH} (push) or ${SSF_POLL} (poll)`);
    const endpoint = delivery.endpoint_url;
    if (typeof endpoint !== 'string' || endpoint.length > 2048)
      throw badRequest('delivery.endpoint_url: the push endpoint URL');
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw badRequest('delivery.endpoint_url: not an absolute URL');
    }
    const httpAllowed = this.config.oidc.allowHttp || isLoopbackHost(url.hostname);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && httpAllowed))
      throw badRequest('delivery.endpoint_url: must be https (RFC 8935 §2)');
    if (url.hash || url.username || url.password) throw badRequest('delivery.endpoint_url: no fragment or credentials');
    try {
      this.outbound.checkUrl(url);
    } catch (error) {
      throw badRequest(`delivery.endpoint_url: ${(error as Error).message}`);
    }
    const authorization = delivery.authorization_header;
    if (authorization !== undefined && authorization !== null) {
      // A header value as HTTP sends it (RFC 9110 §5.5: visible ASCII, spaces and tabs), so every push can carry it.
      if (
        typeof authorization !== 'string' ||
        authorization.length > MAX_AUTHORIZATION ||
        !/^[\t\x20-\x7e]+$/.test(authorization)
      )
        throw badRequest('delivery.authorization_header: one header value, without line breaks');
    }
    return {
      method: SSF_PUSH,
      endpointUrl: url.href,
      authorizationHeader: typeof authorization === 'string' ? authorization : null,
    };
  }
}

/** Who changes a stream: its receiver, an application as the audit log names it. */
const actorOf = (receiver: SsfReceiver): Actor => ({ type: 'provider', id: receiver.providerId });

/** What the audit log keeps of a stream's settings: never its push Authorization header. */
function auditedOf(requested: RequestedStream): Record<string, unknown> {
  return {
    deliveryMethod: requested.method,
    endpointUrl: requested.endpointUrl,
    authorizationHeader: requested.authorizationHeader === null ? 'none' : 'set',
    eventsRequested: requested.eventsRequested,
  };
}

function statusOf(receiver: SsfReceiver): StreamStatusView {
  return {
    stream_id: receiver.streamId!,
    status: receiver.streamStatus!,
    ...(receiver.streamStatusReason ? { reason: receiver.streamStatusReason } : {}),
  };
}

/** The request body as a JSON object, or 400. */
function objectOf(body: unknown, name = 'the request body'): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest(`${name} is a JSON object`);
  return body as Record<string, unknown>;
}

function optionalText(fields: Record<string, unknown>, name: string, max: number): string | null {
  const value = fields[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > max)
    throw badRequest(`${name}: a string of at most ${max} characters`);
  return value;
}
