import type { DataSource } from 'typeorm';

/**
 * The rows a raw statement returned (RETURNING), on SQLite and PostgreSQL alike. On SQLite in a
 * transaction of its own: on its one connection a statement issued while another transaction is open
 * would become part of it (and be undone with it); transactions there take turns (queueTransactions).
 */
export async function rowsOf<T>(
  db: DataSource,
  sql: string,
  parameters: unknown[],
  { name }: { name?: string } = {},
): Promise<T[]> {
  if (db.options.type !== 'postgres')
    return db.transaction(async (tx) => (await tx.queryRunner!.query(sql, parameters, true)).records as T[]);
  // PostgreSQL: a pooled connection of its own, and the statement is its own transaction.
  const runner = db.createQueryRunner();
  try {
    if (!name) return (await runner.query(sql, parameters, true)).records as T[];
    // A named (prepared) statement: parsed and planned once per connection, not at every call. Only
    // for a text that never changes under its name (node-postgres refuses a second text for a name).
    const client = (await runner.connect()) as NamedQueryClient;
    return (await client.query<T>({ name, text: sql, values: parameters })).rows;
  } finally {
    await runner.release();
  }
}

/** The part of node-postgres's client a named statement needs. */
interface NamedQueryClient {
  query<T>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: T[] }>;
}
