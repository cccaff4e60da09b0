import { leanColumns, leanEntities, oneOf, sqliteStatement } from '@signoff/core';
import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';

/**
 * The rows a raw statement returned (RETURNING), on SQLite and PostgreSQL alike; the statement is its
 * own transaction. On SQLite it takes its turn among the transactions (sqliteStatement): on its one
 * connection a statement issued while another transaction is open would become part of it (and be
 * undone with it). `name`: a text that never changes, prepared once per connection. `durable: false`:
 * bookkeeping that is done again if lost, committed on SQLite without syncing the WAL (see sqliteStatement).
 */
export async function rowsOf<T>(
  db: DataSource,
  sql: string,
  parameters: unknown[],
  { name, durable = true }: { name?: string; durable?: boolean } = {},
): Promise<T[]> {
  if (db.options.type !== 'postgres') return sqliteStatement<T>(db, sql, parameters, { durable, named: Boolean(name) });
  // PostgreSQL: a pooled connection of its own, and the statement is its own transaction.
  if (name) {
    // A named (prepared) statement: parsed and planned once per connection, not at every call. Only
    // for a text that never changes under its name (node-postgres refuses a second text for a name).
    // Straight to the pool TypeORM keeps (its query runner adds nothing a lone statement needs).
    const pool = (db.driver as unknown as { master: NamedQueryClient }).master;
    return (await pool.query<T>({ name, text: sql, values: parameters })).rows;
  }
  const runner = db.createQueryRunner();
  try {
    return (await runner.query(sql, parameters, true)).records as T[];
  } finally {
    await runner.release();
  }
}

/** The part of node-postgres's pool (and client) a named statement needs. */
interface NamedQueryClient {
  query<T>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: T[] }>;
}

/**
 * The `target` entities whose column `column` (its name in the database) is one of `values`, read raw
 * and built by leanEntities: what a repository's `findBy({ … In(values) })` gives, without relations.
 * The worker reads a batch's applications this way, about 80 times per 10,000 deliveries, where
 * the query builder cost more than the statement. On PostgreSQL a named statement (rowsOf); on SQLite
 * a plain query on the connection, as the repository's is, not one queued behind the transactions:
 * the orchestrator reads applications inside its own transaction, which holds the queue.
 */
export async function entitiesWhereOneOf<T extends ObjectLiteral>(
  db: DataSource,
  target: EntityTarget<T>,
  column: string,
  values: string[],
): Promise<T[]> {
  if (!values.length) return [];
  const { tableName } = db.getMetadata(target);
  const [isOneOf, parameter] = oneOf(db.manager, column, values, 1);
  const sql = `SELECT ${leanColumns(db.manager, target)} FROM ${tableName} WHERE ${isOneOf}`;
  const rows: Array<Record<string, unknown>> =
    db.options.type === 'postgres'
      ? await rowsOf(db, sql, [parameter], { name: `signoff_${tableName}_by_${column}` })
      : await db.query(sql, [parameter]);
  return leanEntities(db.manager, target, rows);
}
