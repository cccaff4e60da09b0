import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  Clock,
  CONFIG,
  type Config,
  type DeliveryAttempt,
  FINAL_STATUSES,
  isOutboundPolicyError,
  LogoutDelivery,
  OUTBOUND_BLOCKED,
} from '@signoff/core';
import { backoffMs, HttpClient } from '@signoff/dispatch';
import { LEASE_MS } from './outbox-relay';
import { DataSource, In } from 'typeorm';
import type { BackchannelVerdict } from './logout-protocol';
import { ATTEMPT_LOG_SIZE, LogoutOperationsService } from './logout-operations.service';
import { LogoutProtocolRegistry } from './protocol-registry';

/** What the worker should do with the job after one attempt. */
export type AttemptOutcome = { done: true } | { done: false; retryInMs: number };

/**
 * One back-channel attempt for one delivery, recorded on its row: claim it, build the message with
 * the provider's protocol, POST it with a hard timeout, read the reply, and decide: succeeded,
 * retry later (network error, timeout, 5xx, 429), failed (any other refusal) or dead (out of attempts).
 */
@Injectable()
export class BackchannelDeliverer {
  private readonly logger = new Logger(BackchannelDeliverer.name);

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly protocols: LogoutProtocolRegistry,
    private readonly operations: LogoutOperationsService,
    private readonly http: HttpClient,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async attempt(deliveryId: string): Promise<AttemptOutcome> {
    const repo = this.db.getRepository(LogoutDelivery);
    const delivery = await repo.findOneBy({ id: deliveryId });
    if (!delivery || FINAL_STATUSES.includes(delivery.status)) return { done: true };
    const { timeoutMs, attempts: maxAttempts } = this.config.delivery;
    const started = this.clock.now();

    // Claim: only one worker may hold the row (a re-added job or a stalled one may run twice).
    const claimed = await repo
      .createQueryBuilder()
      .update()
      .set({
        status: 'sending',
        attempts: () => 'attempts + 1',
        leaseUntil: new Date(started.getTime() + timeoutMs + LEASE_MS),
        updatedAt: started,
      })
      .where({ id: delivery.id, status: In(['pending', 'queued', 'sending']), attempts: delivery.attempts })
      .execute();
    if (!claimed.affected) return { done: true };
    const attempt = delivery.attempts + 1;

    const target = await this.operations.targetOf(delivery);
    const protocol = this.protocols.for(target.session.provider.protocol);
    let verdict: BackchannelVerdict;
    let status: number | null = null;
    let messageId: string | null = null;
    try {
      const request = await protocol.buildBackchannelRequest(target);
      messageId = request.messageId;
      const reply = await this.http.post(request.url, request.body, request.contentType, timeoutMs);
      status = reply.status;
      verdict = await protocol.readBackchannelReply(reply, request, target);
    } catch (error) {
      // A policy refusal is final (the address stays refused however often we try) and recorded
      // without the socket's detail, so lastError cannot serve as a port scanner.
      verdict = isOutboundPolicyError(error)
        ? { ok: false, retryable: false, error: OUTBOUND_BLOCKED }
        : { ok: false, retryable: true, error: describe(error, timeoutMs) };
    }

    const now = this.clock.now();
    const retry = !verdict.ok && verdict.retryable && attempt < maxAttempts;
    const retryInMs = retry ? backoffMs(attempt) : 0;
    const next = verdict.ok ? 'succeeded' : retry ? 'queued' : verdict.retryable ? 'dead' : 'failed';
    const error = verdict.ok ? null : (verdict.error ?? `HTTP ${status}`);
    const entry: DeliveryAttempt = {
      at: started.toISOString(),
      ms: now.getTime() - started.getTime(),
      httpStatus: status,
      result: next,
      error,
      messageId,
    };
    // Recorded only while the row is still this attempt's: a worker that stalled past its lease may
    // find it claimed again by another, or reset by an administrator's retry; their record stands.
    const recorded = await repo.update(
      { id: delivery.id, status: 'sending', attempts: attempt },
      {
        status: next,
        lastHttpStatus: status,
        lastError: error,
        messageId,
        updatedAt: now,
        attemptLog: [...delivery.attemptLog, entry].slice(-ATTEMPT_LOG_SIZE),
        nextAttemptAt: retry ? new Date(now.getTime() + retryInMs) : null,
        leaseUntil: retry ? new Date(now.getTime() + retryInMs + LEASE_MS) : null,
        completedAt: retry ? null : now,
      },
    );
    this.logger.log({
      msg: 'delivery attempt',
      delivery: delivery.id,
      channel: delivery.channel,
      attempt,
      status,
      result: next,
      ms: now.getTime() - started.getTime(),
    });
    if (!recorded.affected) return { done: true };
    if (retry) return { done: false, retryInMs };
    await this.operations.settle(delivery.operationId);
    return { done: true };
  }
}

function describe(error: unknown, timeoutMs: number): string {
  const err = error as Error & { code?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = err.code ?? err.cause?.code;
  return code ? `${code}: ${err.cause?.message ?? err.message}` : err.message;
}
