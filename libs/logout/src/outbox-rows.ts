import { jsonParameter, sqliteEachInTransaction } from '@signoff/core';
import type { EntityManager } from 'typeorm';
import type { PlannedDelivery } from './delivery-plan';

/**
 * Outbox rows per INSERT on PostgreSQL: each piece is sent before the next is built, so that the
 * server writes one while this thread builds the next (a 10,000-row logout: four pieces).
 */
const INSERT_PIECE = 2500;

/**
 * Writes planned deliveries by statements built here (TypeORM's insert of thousands of rows spends
 * longer building the statement, and reading every row's defaults back, than the database running
 * it): PostgreSQL INSERT_PIECE rows a statement, SQLite a row a statement, in the caller's transaction.
 * Instants are epoch milliseconds and the attempt log JSON text, as their column types store them.
 */
export async function insertDeliveries(tx: EntityManager, rows: PlannedDelivery[]): Promise<void> {
  if (!rows.length) return;
  if (tx.connection.options.type === 'postgres') return insertOnPostgres(tx, rows);
  const instant = (value: Date | null) => value?.getTime() ?? null;
  // SQLite: a bound INSERT per row, in the transaction (reading the rows out of one JSON parameter
  // instead, 17 paths into each row, took longer than binding them; so did multi-row INSERTs).
  const cells = rows.map((row) => [
    // In DELIVERY_COLUMNS' order: the row's own values, then those a logout's rows share.
    row.id,
    row.providerSessionId,
    row.providerId,
    row.channel,
    row.status,
    instant(row.nextAttemptAt),
    instant(row.leaseUntil),
    row.lastHttpStatus,
    row.lastError,
    row.messageId,
    instant(row.completedAt),
    row.event === null ? null : JSON.stringify(row.event),
    row.operationId,
    row.attempts,
    JSON.stringify(row.attemptLog),
    instant(row.createdAt),
    instant(row.updatedAt),
  ]);
  sqliteEachInTransaction(tx, INSERT_ON_SQLITE, cells);
}

/**
 * PostgreSQL: a statement per INSERT_PIECE rows, given as ONE JSON parameter that it turns into rows
 * (as the recorder's). Thousands of rows as VALUES cost more to parse and bind than to write, and as
 * arrays (a column each) more to build as array literals than to send. What the rows of a logout
 * share (its operation, when it was written, no attempt yet) is a parameter of the statement, and a
 * row's JSON holds only what sets it apart, under a short key, its nulls left out: a back-channel
 * row is 184 bytes of JSON instead of 488, and a 10,000-row logout's commit took 0.36–0.41 s instead
 * of 0.41–0.47 s (bench:backchannel; its INSERTs alone 241 against 310 ms, measured apart). Each
 * piece's JSON is built while the server writes the piece before (the connection runs one statement
 * at a time).
 */
async function insertOnPostgres(tx: EntityManager, rows: PlannedDelivery[]): Promise<void> {
  // One group in practice (a logout's rows are planned together); rows that differ go in a group of their own.
  const groups: PlannedDelivery[][] = [];
  for (const row of rows) {
    const group = groups.find(([first]) => sharesWith(first, row));
    if (group) group.push(row);
    else groups.push([row]);
  }
  let writing: Promise<unknown> | undefined;
  for (const group of groups) {
    const [first] = group;
    const sharedValues = [
      first.operationId,
      first.attempts,
      jsonParameter(first.attemptLog),
      first.createdAt.getTime(),
      first.updatedAt.getTime(),
    ];
    for (let start = 0; start < group.length; start += INSERT_PIECE) {
      const json = jsonParameter(group.slice(start, start + INSERT_PIECE).map(ownValues));
      await writing;
      writing = tx.query(INSERT_ON_POSTGRES, [json, ...sharedValues]);
      // Its failure is awaited above or below, not left unhandled while the next piece is built; and
      // the next is built once this one has gone out (TypeORM sends it a few promise turns later).
      writing.catch(() => undefined);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  await writing;
}

/** Whether two rows hold the same values in SHARED_COLUMNS. */
function sharesWith(a: PlannedDelivery, b: PlannedDelivery): boolean {
  return (
    a.operationId === b.operationId &&
    a.attempts === b.attempts &&
    a.createdAt.getTime() === b.createdAt.getTime() &&
    a.updatedAt.getTime() === b.updatedAt.getTime() &&
    (a.attemptLog === b.attemptLog ||
      (!a.attemptLog.length && !b.attemptLog.length) ||
      JSON.stringify(a.attemptLog) === JSON.stringify(b.attemptLog))
  );
}

/** A row's own values under OWN_COLUMNS' keys; undefined (left out of the JSON, read as NULL) for a null. */
function ownValues(row: PlannedDelivery): Record<(typeof OWN_COLUMNS)[number][0], unknown> {
  const orOmitted = <T>(value: T | null) => (value === null ? undefined : value);
  return {
    i: row.id,
    s: orOmitted(row.providerSessionId),
    p: row.providerId,
    c: row.channel,
    t: row.status,
    n: orOmitted(row.nextAttemptAt?.getTime() ?? null),
    l: orOmitted(row.leaseUntil?.getTime() ?? null),
    h: orOmitted(row.lastHttpStatus),
    e: orOmitted(row.lastError),
    m: orOmitted(row.messageId),
    d: orOmitted(row.completedAt?.getTime() ?? null),
    v: orOmitted(row.event),
  };
}

/** A row's own columns: the key in PostgreSQL's JSON, the column, its type there (a JSON one as json). */
const OWN_COLUMNS = [
  ['i', 'id', 'varchar'],
  ['s', 'provider_session_id', 'varchar'],
  ['p', 'provider_id', 'varchar'],
  ['c', 'channel', 'varchar'],
  ['t', 'status', 'varchar'],
  ['n', 'next_attempt_at', 'bigint'],
  ['l', 'lease_until', 'bigint'],
  ['h', 'last_http_status', 'integer'],
  ['e', 'last_error', 'text'],
  ['m', 'message_id', 'varchar'],
  ['d', 'completed_at', 'bigint'],
  ['v', 'event', 'json'],
] as const;
/** The columns every row of a group shares, with their types, in the order of the statement's parameters $2, $3, …. */
const SHARED_COLUMNS = [
  ['operation_id', 'varchar'],
  ['attempts', 'integer'],
  ['attempt_log', 'text'],
  ['created_at', 'bigint'],
  ['updated_at', 'bigint'],
] as const;

/** logout_deliveries' columns as both inserts write them: each row's own, then the shared ones. */
const DELIVERY_COLUMNS = [...OWN_COLUMNS.map(([, column]) => column), ...SHARED_COLUMNS.map(([column]) => column)];

/** SQLite: one row, bound. */
const INSERT_ON_SQLITE = `INSERT INTO logout_deliveries (${DELIVERY_COLUMNS.join(', ')})
  VALUES (${DELIVERY_COLUMNS.map(() => '?').join(', ')})`;

/** PostgreSQL: the rows' own values from one JSON parameter (json_to_recordset), the shared ones as $2, $3, …. */
const INSERT_ON_POSTGRES = `INSERT INTO logout_deliveries (${DELIVERY_COLUMNS.join(', ')})
  SELECT ${[
    ...OWN_COLUMNS.map(([key, , type]) => (type === 'json' ? `CAST(r.${key} AS text)` : `r.${key}`)),
    ...SHARED_COLUMNS.map(([, type], i) => `CAST($${i + 2} AS ${type})`),
  ].join(', ')}
    FROM json_to_recordset(CAST($1 AS json)) AS r(${OWN_COLUMNS.map(([key, , type]) => `${key} ${type}`).join(', ')})`;
