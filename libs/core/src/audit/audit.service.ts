import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { Clock } from '../clock/clock';
import { newId } from '../crypto/random';
import { type ActorType, AuditEvent } from '../entities';
import { requestContext } from '../logging/request-context';

export interface Actor {
  type: ActorType;
  id?: string | null;
}

export interface AuditRecord {
  action: string;
  actor: Actor;
  target?: { type: string; id: string };
  details?: Record<string, unknown>;
}

export const SYSTEM: Actor = { type: 'system' };

/** Rows per INSERT: 10 columns each stays well under SQLite's 32,766 bound variables. */
const RECORD_CHUNK = 500;

/** Which events `AuditService.list` returns; every member narrows. */
export interface AuditFilter {
  action?: string;
  targetId?: string;
  actorId?: string;
  actorType?: ActorType;
  /** At or after. */
  since?: Date;
  /** Before. */
  until?: Date;
}

/** Appends audit events; the request id and client address come from the request being served. */
@Injectable()
export class AuditService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

  /** Pass the transaction's manager to record the event atomically with the change it describes. */
  async record(event: AuditRecord, tx: EntityManager = this.db.manager): Promise<void> {
    await this.recordMany([event], tx);
  }

  /**
   * Several events in as few statements as the database allows (one per RECORD_CHUNK): a bulk change
   * — a thousand users deactivated, their thousand sessions ended — is audited event by event without
   * a round trip each.
   */
  async recordMany(events: AuditRecord[], tx: EntityManager = this.db.manager): Promise<void> {
    const context = requestContext.getStore();
    const at = this.clock.now();
    const rows = events.map((event) => ({
      id: newId(),
      at,
      action: event.action,
      actorType: event.actor.type,
      actorId: event.actor.id ?? null,
      targetType: event.target?.type ?? null,
      targetId: event.target?.id ?? null,
      ip: context?.ip ?? null,
      requestId: context?.requestId ?? null,
      details: event.details ?? null,
    }));
    for (let start = 0; start < rows.length; start += RECORD_CHUNK)
      await tx.insert(AuditEvent, rows.slice(start, start + RECORD_CHUNK));
  }

  /**
   * Events, newest first, a page at a time; every member of `filter` narrows: `actorId` (a user's,
   * administrator's or provider's id), `actorType` (e.g. `system`), `since` (inclusive) and `until`
   * (exclusive), as every list of the admin API reads its period.
   */
  async list(
    options: {
      limit: number;
      offset: number;
    } & AuditFilter,
  ): Promise<{ items: AuditEvent[]; total: number }> {
    const query = this.db.getRepository(AuditEvent).createQueryBuilder('e');
    if (options.action) query.andWhere('e.action = :action', { action: options.action });
    if (options.targetId) query.andWhere('e.target_id = :targetId', { targetId: options.targetId });
    if (options.actorId) query.andWhere('e.actor_id = :actorId', { actorId: options.actorId });
    if (options.actorType) query.andWhere('e.actor_type = :actorType', { actorType: options.actorType });
    if (options.since) query.andWhere('e.at >= :since', { since: options.since.getTime() });
    if (options.until) query.andWhere('e.at < :until', { until: options.until.getTime() });
    const [items, total] = await query
      .orderBy('e.at', 'DESC')
      .addOrderBy('e.id', 'DESC') // a stable order for events of the same millisecond, so pages neither skip nor repeat
      .take(options.limit)
      .skip(options.offset)
      .getManyAndCount();
    return { items, total };
  }

  /** Every action the log holds, sorted: what the console's action filter offers (one indexed column). */
  async actions(): Promise<string[]> {
    const rows: Array<{ action: string }> = await this.db
      .getRepository(AuditEvent)
      .createQueryBuilder('e')
      .select('DISTINCT e.action', 'action')
      .orderBy('e.action', 'ASC')
      .getRawMany();
    return rows.map((row) => row.action);
  }
}
