import { BACKCHANNELS, jsonParameter, sqliteEachInTransaction } from '@signoff/core';
import type { EntityManager } from 'typeorm';
import type { PlannedDelivery } from './delivery-plan';

/**
 * Outbox rows per INSERT on PostgreSQL: each statement is sent before the next is built, so that the
 * server writes one while this thread builds the next (10,000 rows: four statements).
 */
const ROWS_PER_INSERT = 2500;

/**
 * PostgreSQL: the back-channel rows a logout writes as rows in its own transaction, at most; those
 * past them are written as pieces of PIECE_ROWS (LogoutDeliveryPiece), and turned into rows after the
 * commit (OutboxPieces). The commit of a 10,000-delivery logout then writes a few JSON values instead
 * of 10,000 rows (each with its index entries and three foreign-key checks): the worker starts on the
 * first rows at once while the server writes the others on a core of its own, beside the deliveries.
 * SQLite writes every row in the logout's transaction: its statements run on the caller's thread,
 * which the deliveries need too, so nothing would run beside them. 250 rather than 1,000: the
 * commit ends sooner and the first piece's rows come in before the worker is done with these
 * (bench:backchannel on PostgreSQL, three alternated runs: 0.523 against 0.507; 500 against 1,000
 * and 250 against 500 leaned the same way).
 */
export const ROWS_AT_ONCE = 250;
/** Rows per piece (one statement each after the commit). */
export const PIECE_ROWS = 1000;

/** What insertDeliveries wrote: the rows written now, and how many pieces hold the others. */
export interface OutboxWritten {
  rows: PlannedDelivery[];
  pieces: number;
}

/**
 * Writes planned deliveries by statements built here (TypeORM's insert of thousands of rows spends
 * longer building the statement, and reading every row's defaults back, than the database running
 * it): PostgreSQL ROWS_PER_INSERT rows a statement, SQLite a row a statement, in the caller's transaction.
 * Instants are epoch milliseconds and the attempt log JSON text, as their column types store them.
 * On PostgreSQL the back-channel rows past ROWS_AT_ONCE are written as pieces (see ROWS_AT_ONCE):
 * after the commit, call OutboxPieces.unpackAfterCommit when `pieces` is not 0.
 */
export async function insertDeliveries(tx: EntityManager, rows: PlannedDelivery[]): Promise<OutboxWritten> {
  if (!rows.length) return { rows, pieces: 0 };
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
  return { rows, pieces: 0 };
}

/**
 * PostgreSQL: a statement per ROWS_PER_INSERT rows, given as ONE JSON parameter that it turns into rows
 * (as the recorder's). Thousands of rows as VALUES cost more to parse and bind than to write, and as
 * arrays (a column each) more to build as array literals than to send. What the rows of a logout
 * share (its operation, when it was written, no attempt yet) is a parameter of the statement, and a
 * row's JSON holds only what sets it apart, under a short key, its nulls left out: a back-channel
 * row is 184 bytes of JSON instead of 488, and a 10,000-row logout's commit took 0.36–0.41 s instead
 * of 0.41–0.47 s (bench:backchannel; its INSERTs alone 241 against 310 ms, measured apart). Each
 * statement's JSON is built while the server writes the one before (the connection runs one
 * statement at a time).
 */
async function insertOnPostgres(tx: EntityManager, rows: PlannedDelivery[]): Promise<OutboxWritten> {
  // One group in practice (a logout's rows are planned together); rows that differ go in a group of their own.
  const groups: PlannedDelivery[][] = [];
  for (const row of rows) {
    const group = groups.find(([first]) => sharesWith(first, row));
    if (group) group.push(row);
    else groups.push([row]);
  }
  const [now, later] = deferred(groups);
  let writing: Promise<unknown> | undefined;
  for (const group of groups) {
    const inGroup = group.filter((row) => !later.has(row));
    const sharedValues = shared(group[0]);
    for (let start = 0; start < inGroup.length; start += ROWS_PER_INSERT) {
      const json = jsonParameter(inGroup.slice(start, start + ROWS_PER_INSERT).map(ownValues));
      await writing;
      writing = tx.query(INSERT_ON_POSTGRES, [json, ...sharedValues]);
      // Its failure is awaited above or below, not left unhandled while the next one is built; and
      // the next is built once this one has gone out (TypeORM sends it a few promise turns later).
      writing.catch(() => undefined);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  await writing;
  let pieces = 0;
  for (const group of groups) {
    const inGroup = group.filter((row) => later.has(row));
    const [operationId, attempts, attemptLog, createdAt, updatedAt] = shared(group[0]);
    for (let start = 0; start < inGroup.length; start += PIECE_ROWS)
      await tx.query(
        `INSERT INTO logout_delivery_pieces (operation_id, piece, rows, attempts, attempt_log, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          operationId,
          pieces++,
          jsonParameter(inGroup.slice(start, start + PIECE_ROWS).map(ownValues)),
          attempts,
          attemptLog,
          createdAt,
          updatedAt,
        ],
      );
  }
  return { rows: now, pieces };
}

/**
 * Which rows are written after the commit: each group's back-channel rows past the first ROWS_AT_ONCE
 * of the logout (a front channel's row is read by the logout page the browser goes to next; a polled
 * event's by its receiver).
 */
function deferred(groups: PlannedDelivery[][]): [PlannedDelivery[], Set<PlannedDelivery>] {
  const now: PlannedDelivery[] = [];
  const later = new Set<PlannedDelivery>();
  let back = 0;
  for (const group of groups)
    for (const row of group) {
      if (BACKCHANNELS.includes(row.channel) && ++back > ROWS_AT_ONCE) later.add(row);
      else now.push(row);
    }
  return [now, later];
}

/** The values of SHARED_COLUMNS of a group's rows, as the statements bind them. */
function shared(first: PlannedDelivery): [string, number, string, number, number] {
  return [
    first.operationId,
    first.attempts,
    jsonParameter(first.attemptLog),
    first.createdAt.getTime(),
    first.updatedAt.getTime(),
  ];
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

/**
 * PostgreSQL: a piece turned into rows, in one statement, which takes the piece (deleted as it is
 * read: of two processes unpacking it at once, the second waits for the first and then finds nothing)
 * and answers the rows written. A row whose application or provider session was deleted since the
 * logout is left out, as that deletion would have deleted it (and the foreign key would refuse it).
 */
export const UNPACK_ON_POSTGRES = `WITH taken AS (
    DELETE FROM logout_delivery_pieces WHERE operation_id = $1 AND piece = $2
    RETURNING ${SHARED_COLUMNS.map(([column]) => column).join(', ')}, rows)
  INSERT INTO logout_deliveries (${DELIVERY_COLUMNS.join(', ')})
  SELECT ${[
    ...OWN_COLUMNS.map(([key, , type]) => (type === 'json' ? `CAST(r.${key} AS text)` : `r.${key}`)),
    ...SHARED_COLUMNS.map(([column]) => `taken.${column}`),
  ].join(', ')}
    FROM taken CROSS JOIN LATERAL json_to_recordset(CAST(taken.rows AS json)) AS r(${OWN_COLUMNS.map(([key, , type]) => `${key} ${type}`).join(', ')})
   WHERE EXISTS (SELECT 1 FROM providers WHERE providers.id = r.p)
     AND (r.s IS NULL OR EXISTS (SELECT 1 FROM provider_sessions WHERE provider_sessions.id = r.s))
  RETURNING id, provider_id, status`;

/**
 * PostgreSQL: how many deliveries wait in pieces (`count`), and when the oldest piece's logout was
 * written (`oldest`, epoch ms, null if none): the outbox's readers count them as rows not handed out yet.
 */
export const PIECES_WAITING_ON_POSTGRES = `SELECT COALESCE(SUM(json_array_length(CAST(rows AS json))), 0) AS count,
    MIN(created_at) AS oldest FROM logout_delivery_pieces`;
