import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { Clock, SHUTDOWN_STEP_MS, within } from '@signoff/core';
import { DataSource } from 'typeorm';
import { LogoutOperationsService } from './logout-operations.service';
import { UNPACK_ON_POSTGRES } from './outbox-rows';
import { OutboxRelay, RelayFailure } from './outbox-relay';
import { rowsOf } from './returning-rows';

/**
 * How old a piece is when the worker's relay pass writes it: its logout's process writes it within
 * a second of the commit, unless that process died (or lost the database) meanwhile.
 */
export const LEFT_BEHIND_MS = 5000;

/**
 * Turns the pieces of a bulk logout's outbox (LogoutDeliveryPiece, written by its transaction on
 * PostgreSQL: outbox-rows.ts, ROWS_AT_ONCE) into delivery rows, and hands those to the queue. The
 * logout's own process does it right after the commit, piece after piece, so the worker delivers
 * the first rows while the later ones are written; the worker's relay pass does it for pieces left
 * behind (LEFT_BEHIND_MS). A piece is written once, whoever does it and however many try at once.
 */
@Injectable()
export class OutboxPieces implements BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxPieces.name);
  /** Unpacking under way after commits (unpackAfterCommit): shutdown waits for it, and so can tests. */
  private readonly unpacking = new Set<Promise<void>>();

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly relay: OutboxRelay,
    private readonly operations: LogoutOperationsService,
  ) {}

  /**
   * After the commit of a logout that wrote `pieces` pieces: writes them in order, without making the
   * caller wait. A failure leaves the rest to the worker's relay pass.
   */
  unpackAfterCommit(operationId: string, pieces: number): void {
    const unpacking = (async () => {
      for (let piece = 0; piece < pieces; piece++) await this.unpack(operationId, piece);
      await this.operations.settle(operationId);
    })().catch((error: Error) =>
      this.logger.warn({
        msg: "a bulk logout's deliveries are left to the worker's relay pass: writing them after the commit failed",
        operation: operationId,
        error: error.message,
      }),
    );
    this.unpacking.add(unpacking);
    void unpacking.finally(() => this.unpacking.delete(unpacking));
  }

  /**
   * Writes the pieces whose logout's process has not written them within LEFT_BEHIND_MS, and settles
   * their operations; returns how many pieces it wrote. A piece the database refuses is logged (once
   * per process) and left for the next pass, without holding up the others; a database that cannot
   * be read at all throws a RelayFailure.
   */
  async unpackLeftBehind(limit = 100): Promise<number> {
    if (this.db.options.type !== 'postgres') return 0; // SQLite writes no pieces
    const left = await rowsOf<{ operation_id: string; piece: number }>(
      this.db,
      `SELECT operation_id, piece FROM logout_delivery_pieces WHERE created_at < $1 ORDER BY created_at, operation_id, piece LIMIT $2`,
      [this.clock.now().getTime() - LEFT_BEHIND_MS, limit],
    ).catch((error: Error) => {
      throw new RelayFailure('database', error.message);
    });
    let written = 0;
    for (const { operation_id: operationId, piece } of left) {
      try {
        await this.unpack(operationId, Number(piece));
        written++;
        this.refused.delete(`${operationId}#${piece}`);
      } catch (error) {
        if (this.refused.has(`${operationId}#${piece}`)) continue;
        this.refused.add(`${operationId}#${piece}`);
        this.logger.warn({
          msg: "a piece of a bulk logout's deliveries could not be written; tried again at every relay pass",
          operation: operationId,
          piece: Number(piece),
          error: (error as Error).message,
        });
      }
    }
    for (const operationId of new Set(left.map((row) => row.operation_id)))
      await this.operations.settle(operationId).catch(() => undefined); // the sweep settles it later
    return written;
  }

  /** Pieces whose write failed, logged once each (unpackLeftBehind). */
  private readonly refused = new Set<string>();

  /** One piece written as rows (none if someone else wrote it), its rows handed to the queue; returns how many. */
  async unpack(operationId: string, piece: number): Promise<number> {
    const written = await rowsOf<{ id: string; provider_id: string; status: string }>(
      this.db,
      UNPACK_ON_POSTGRES,
      [operationId, piece],
      {
        name: 'signoff_unpack_delivery_piece',
      },
    );
    const leased = written.filter((row) => row.status === 'queued');
    if (leased.length) this.relay.handOut(leased.map((row) => ({ id: row.id, providerId: row.provider_id })));
    return written.length;
  }

  /** Resolves once every unpacking started by this process so far has ended. */
  async idle(): Promise<void> {
    while (this.unpacking.size) await Promise.allSettled([...this.unpacking]);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await within(SHUTDOWN_STEP_MS, this.idle(), undefined);
  }
}
