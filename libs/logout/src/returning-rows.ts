import type { DataSource } from 'typeorm';

/**
 * The rows a raw statement returned (RETURNING), on SQLite and PostgreSQL alike. On SQLite in a
 * transaction of its own: on its one connection a statement issued while another transaction is open
 * would become part of it (and be undone with it); transactions there take turns (queueTransactions).
 */
export async function rowsOf<T>(db: DataSource, sql: string, parameters: unknown[]): Promise<T[]> {
  if (db.options.type !== 'postgres')
    return db.transaction(async (tx) => (await tx.queryRunner!.query(sql, parameters, true)).records as T[]);
  // PostgreSQL: a pooled connection of its own, and the statement is its own transaction.
  const runner = db.createQueryRunner();
  try {
    return (await runner.query(sql, parameters, true)).records as T[];
  } finally {
    await runner.release();
  }
}
