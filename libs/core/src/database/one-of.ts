import type { EntityManager } from 'typeorm';

/**
 * `column` is one of `values`, the whole list bound as ONE parameter: PostgreSQL reads it as an
 * array (`= ANY`), SQLite as a JSON array (`json_each`). A statement about ten thousand rows stays one
 * statement, under either database's limit on parameters, and its text is the same whatever the count.
 * `index` is the parameter's 1-based position (PostgreSQL's `$n`; SQLite's `?` are positional).
 */
export function oneOf(tx: EntityManager, column: string, values: string[], index: number): [string, unknown] {
  return tx.connection.options.type === 'postgres'
    ? [`${column} = ANY(CAST($${index} AS varchar[]))`, values]
    : [`${column} IN (SELECT value FROM json_each(?))`, JSON.stringify(values)];
}
