import { Inject, Injectable } from '@nestjs/common';
import {
  type Actor,
  AuditService,
  Clock,
  CONFIG,
  type Config,
  newId,
  Provider,
  randomToken,
  sha256Hex,
  SignoffError,
  SLUG_LENGTH,
  SSF_SUBJECT_FORMATS,
  SsfReceiver,
  SsfRemovedSubject,
  type SsfSubjectFormat,
  tombstoneValue,
} from '@signoff/core';
import { SecurityEventBooks, STREAM_DELETED } from '@signoff/logout';
import { DataSource, IsNull } from 'typeorm';
import { EVENTS_SUPPORTED } from './events';

/** What an administrator registers: a receiver's name, and optionally its slug, audience and subject format. */
export interface ReceiverInput {
  name: string;
  slug?: string;
  /** The `aud` of its stream and SETs; default `${issuer}/ssf/receivers/${id}`. */
  audience?: string;
  subjectFormat?: SsfSubjectFormat;
}

/** A receiver as administrators see it: never its token or its push Authorization header. */
export interface ReceiverView {
  id: string;
  slug: string;
  name: string;
  audience: string;
  subjectFormat: SsfSubjectFormat;
  createdAt: Date;
  stream: StreamSummary | null;
}

export interface StreamSummary {
  streamId: string;
  status: string;
  reason: string | null;
  deliveryMethod: string;
  endpointUrl: string | null;
  eventsRequested: string[];
  eventsDelivered: string[];
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** The receiver's token: a prefix that says what it is (a secret scanner can find it), and 256 random bits. */
const TOKEN_PREFIX = 'ssf_';

/**
 * Shared Signals receivers, as administrators register them (admin API, CLI, console): each gets a
 * bearer token (shown once, stored as its SHA-256) with which it manages its stream and polls.
 */
@Injectable()
export class SsfReceiversService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly books: SecurityEventBooks,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Registers a receiver; refuses `invalid_request` (each problem named) and `conflict` (slug taken). */
  async create(input: ReceiverInput, actor: Actor): Promise<{ receiver: ReceiverView; token: string }> {
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    const slug = input.slug ?? slugOf(name);
    const problems: string[] = [];
    if (!name || name.length > 200) problems.push('name: 1 to 200 characters');
    if (!SLUG.test(slug))
      problems.push('slug: lower-case letters, digits and dashes, at most 64, not starting with a dash');
    const id = newId();
    // By id, not slug: a slug can be taken again once its receiver is deleted, and its audience with it.
    const audience = input.audience ?? `${this.config.publicUrl}/ssf/receivers/${id}`;
    if (typeof audience !== 'string' || !audience.trim() || audience.length > 1024)
      problems.push('audience: 1 to 1024 characters');
    const subjectFormat = input.subjectFormat ?? 'iss_sub';
    if (!SSF_SUBJECT_FORMATS.includes(subjectFormat))
      problems.push(`subjectFormat: one of ${SSF_SUBJECT_FORMATS.join(', ')}`);
    if (problems.length) throw new SignoffError('invalid_request', problems.join('; '), problems);

    const token = TOKEN_PREFIX + randomToken(32);
    const now = this.clock.now();
    await this.db.transaction(async (tx) => {
      if (await tx.existsBy(Provider, { slug }))
        throw new SignoffError('conflict', `The slug "${slug}" is taken.`, [`slug: "${slug}" is taken`]);
      await tx.insert(Provider, {
        id,
        slug,
        name,
        protocol: 'ssf',
        enabled: true,
        invalidationFlowId: null,
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      });
      await tx.insert(SsfReceiver, {
        providerId: id,
        tokenHash: sha256Hex(token),
        audience,
        subjectFormat,
        createdAt: now,
      });
      await this.audit.record(
        {
          action: 'ssf_receiver.created',
          actor,
          target: { type: 'ssf_receiver', id },
          details: { slug, name, audience, subjectFormat },
        },
        tx,
      );
    });
    return { receiver: await this.get(id), token };
  }

  /** Every receiver, by slug. */
  async list(): Promise<ReceiverView[]> {
    const receivers = await this.db
      .getRepository(SsfReceiver)
      .find({ relations: { provider: true }, where: { provider: { deletedAt: IsNull() } } });
    return receivers.map(viewOf).sort((a, b) => a.slug.localeCompare(b.slug));
  }

  /** One receiver; refuses `not_found`. */
  async get(id: string): Promise<ReceiverView> {
    return viewOf(await this.find(id));
  }

  /** A new token for the receiver: the old one stops working at once. */
  async rotateToken(id: string, actor: Actor): Promise<{ token: string }> {
    await this.find(id);
    const token = TOKEN_PREFIX + randomToken(32);
    await this.db.transaction(async (tx) => {
      await tx.update(SsfReceiver, { providerId: id }, { tokenHash: sha256Hex(token) });
      await this.audit.record(
        { action: 'ssf_receiver.token_rotated', actor, target: { type: 'ssf_receiver', id } },
        tx,
      );
    });
    return { token };
  }

  /**
   * Deletes a receiver: its token stops working, the events it was owed and not sent end `skipped`,
   * and its provider row stays as a tombstone, so the logout operations that told it keep its name.
   */
  async remove(id: string, actor: Actor): Promise<void> {
    const receiver = await this.find(id);
    const now = this.clock.now();
    await this.db.transaction(async (tx) => {
      await tx.delete(SsfReceiver, { providerId: id });
      await tx.delete(SsfRemovedSubject, { providerId: id });
      await tx.update(
        Provider,
        { id },
        {
          enabled: false,
          deletedAt: now,
          updatedAt: now,
          slug: tombstoneValue(receiver.provider.slug, id, SLUG_LENGTH),
        },
      );
      await this.audit.record(
        {
          action: 'ssf_receiver.deleted',
          actor,
          target: { type: 'ssf_receiver', id },
          details: { slug: receiver.provider.slug, name: receiver.provider.name, streamId: receiver.streamId },
        },
        tx,
      );
    });
    await this.books.drop(id, STREAM_DELETED);
  }

  /** The receiver a bearer token belongs to, or null (unknown token, deleted or disabled receiver). */
  async authenticate(token: string): Promise<SsfReceiver | null> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 128) return null;
    const receiver = await this.db
      .getRepository(SsfReceiver)
      .findOne({ where: { tokenHash: sha256Hex(token) }, relations: { provider: true } });
    return receiver && receiver.provider.enabled && !receiver.provider.deletedAt ? receiver : null;
  }

  /**
   * The receiver as it is now, if its token still is `receiver`'s and it was not deleted (a long poll
   * reads it again while it waits: a rotated token, a pause or a deletion applies at once).
   */
  async current(receiver: SsfReceiver): Promise<SsfReceiver | null> {
    const now = await this.db.getRepository(SsfReceiver).findOne({
      where: { providerId: receiver.providerId, tokenHash: receiver.tokenHash },
      relations: { provider: true },
    });
    return now && now.provider.enabled && !now.provider.deletedAt ? now : null;
  }

  private async find(id: string): Promise<SsfReceiver> {
    const receiver = await this.db
      .getRepository(SsfReceiver)
      .findOne({ where: { providerId: id }, relations: { provider: true } });
    if (!receiver || receiver.provider.deletedAt) throw new SignoffError('not_found', 'No such SSF receiver.');
    return receiver;
  }
}

/** events_delivered (SSF 1.0 §8.1.1): what the receiver asked for that Signoff sends. */
export const eventsDelivered = (requested: readonly string[] | null): string[] =>
  EVENTS_SUPPORTED.filter((type) => requested?.includes(type));

function viewOf(receiver: SsfReceiver): ReceiverView {
  return {
    id: receiver.providerId,
    slug: receiver.provider.slug,
    name: receiver.provider.name,
    audience: receiver.audience,
    subjectFormat: receiver.subjectFormat,
    createdAt: receiver.createdAt,
    stream: receiver.streamId
      ? {
          streamId: receiver.streamId,
          status: receiver.streamStatus!,
          reason: receiver.streamStatusReason,
          deliveryMethod: receiver.deliveryMethod!,
          endpointUrl: receiver.endpointUrl,
          eventsRequested: receiver.eventsRequested ?? [],
          eventsDelivered: eventsDelivered(receiver.eventsRequested),
          description: receiver.description,
          createdAt: receiver.streamCreatedAt!,
          updatedAt: receiver.streamUpdatedAt!,
        }
      : null,
  };
}

/** A slug from a name: lower case, runs of anything else one dash. */
function slugOf(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, SLUG_LENGTH);
}
