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

/** Appends audit events; the request id and client address come from the request being served. */
@Injectable()
export class AuditService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

  /** Pass the transaction's manager to record the event atomically with the change it describes. */
  async record(event: AuditRecord, tx: EntityManager = this.db.manager): Promise<void> {
    const context = requestContext.getStore();
    await tx.insert(AuditEvent, {
      id: newId(),
      at: this.clock.now(),
      action: event.action,
      actorType: event.actor.type,
      actorId: event.actor.id ?? null,
      targetType: event.target?.type ?? null,
      targetId: event.target?.id ?? null,
      ip: context?.ip ?? null,
      requestId: context?.requestId ?? null,
      details: event.details ?? null,
    });
  }

  async list(options: {
    limit: number;
    offset: number;
    action?: string;
    targetId?: string;
  }): Promise<{ items: AuditEvent[]; total: number }> {
    const where = {
      ...(options.action ? { action: options.action } : {}),
      ...(options.targetId ? { targetId: options.targetId } : {}),
    };
    const [items, total] = await this.db.getRepository(AuditEvent).findAndCount({
      where,
      order: { at: 'DESC' },
      take: options.limit,
      skip: options.offset,
    });
    return { items, total };
  }
}
