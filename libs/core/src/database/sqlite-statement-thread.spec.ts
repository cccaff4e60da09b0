import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../config/config';
import { openDatabase, sqliteStatement, sqliteStatementEach, statementThreadOf } from './data-source';
import { isDatabaseAway, isUniqueViolation } from './database-errors';
import { SqliteStatementThread } from './sqlite-statement-thread';
import type { Worker } from 'node:worker_threads';

// The statement thread of a SQLite file opened as the app opens it (openDatabase): sqliteStatement and
// sqliteStatementEach run on its connection, off the event loop, in the transactions' queue. What they
// do as statements (RETURNING, durability, the queue's order) is sqlite-statement.spec.ts's.
let dir: string;
let db: DataSource;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'signoff-thread-'));
  const config = loadConfig(
    { DATABASE_URL: `sqlite:${join(dir, 'signoff.sqlite')}`, DATA_DIR: dir, LOG_LEVEL: 'silent' },
    dir,
  );
  db = await openDatabase(config);
  await db.query('CREATE TABLE t (x INTEGER PRIMARY KEY, b BLOB)');
});
afterEach(async () => {
  if (db.isInitialized) await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A read that keeps SQLite busy for a few hundred milliseconds (3,000,000 rows counted). */
const SLOW_READ =
  'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) AS n FROM c';

/** How many times a 5 ms timer fired while `work` ran. */
async function timerTicksDuring(work: () => Promise<unknown>): Promise<number> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    await work();
    return ticks;
  } finally {
    clearInterval(timer);
  }
}

it('runs a statement off the event loop: timers fire while it runs', async () => {
  const ticks = await timerTicksDuring(() => sqliteStatement(db, SLOW_READ, []));
  expect(ticks).toBeGreaterThanOrEqual(5);
});

it('control: the same statement on the app’s connection holds the event loop (no timer fires)', async () => {
  const ticks = await timerTicksDuring(() => db.query(SLOW_READ));
  expect(ticks).toBe(0);
});

it('is a connection of its own: it does not see the app connection’s TEMP table', async () => {
  await db.query('CREATE TEMP TABLE only_here (x INTEGER)');
  await expect(db.query('SELECT * FROM only_here')).resolves.toEqual([]);
  const refused = await sqliteStatement(db, 'SELECT * FROM only_here', []).catch((error: Error) => error.message);
  expect(refused).toMatch(/no such table/);
});

it('commits what it writes before it answers: the app’s connection reads it next', async () => {
  await sqliteStatement(db, 'INSERT INTO t (x) VALUES (?), (?)', [1, 2]);
  await sqliteStatementEach(db, 'UPDATE t SET x = x * 10 WHERE x = ?', [[1], [2]]);
  expect(await db.query('SELECT x FROM t ORDER BY x')).toEqual([{ x: 10 }, { x: 20 }]);
});

it('checks foreign keys, as the app’s connection does', async () => {
  await db.query('CREATE TABLE child (x INTEGER REFERENCES t (x))');
  const refused = await sqliteStatement(db, 'INSERT INTO child (x) VALUES (?)', [404]).catch((error: Error) => error);
  expect((refused as { code?: string }).code).toBe('SQLITE_CONSTRAINT_FOREIGNKEY');
});

it('refuses with SQLite’s code: a unique violation is recognised as one, and not as the database away', async () => {
  await sqliteStatement(db, 'INSERT INTO t (x) VALUES (?)', [1]);
  const refused = await sqliteStatement(db, 'INSERT INTO t (x) VALUES (?)', [1]).catch((error: unknown) => error);
  expect(isUniqueViolation(refused)).toBe(true);
  expect(isDatabaseAway(refused)).toBe(false);
});

it('binds a Buffer as a BLOB (it crosses to the thread as a Uint8Array)', async () => {
  const bytes = Buffer.from([0, 1, 2, 255]);
  await sqliteStatement(db, 'INSERT INTO t (x, b) VALUES (?, ?)', [1, bytes]);
  const [row] = (await db.query('SELECT typeof(b) AS type, b FROM t')) as Array<{ type: string; b: Buffer }>;
  expect(row.type).toBe('blob');
  expect(Buffer.compare(row.b, bytes)).toBe(0);
});

describe('when the thread stops on its own', () => {
  /** The thread's Worker, ended while idle (terminated inside a statement, better-sqlite3 would abort the process). */
  const killThread = () => (statementThreadOf(db) as unknown as { thread: Worker }).thread.terminate();

  it('refuses what it was sent as the database away (worth a retry)', async () => {
    // A thread whose connection cannot open ends before it reads what was sent to it.
    const thread = SqliteStatementThread.start(join(dir, 'no such directory', 'signoff.sqlite'), {
      autocheckpointPages: 1000,
      walSizeLimit: 0,
    });
    const refused = await thread
      .run({ sql: 'SELECT 1', values: [], durable: true, named: false })
      .catch((e: unknown) => e);
    expect(isDatabaseAway(refused)).toBe(true);
    expect(thread.alive).toBe(false);
    await thread.stop(); // ended already: returns at once
  });

  it('runs the next statements on the app’s connection: they still commit', async () => {
    await killThread();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(statementThreadOf(db)?.alive).toBe(false);
    await sqliteStatement(db, 'INSERT INTO t (x) VALUES (?)', [7]);
    await expect(sqliteStatement(db, 'SELECT x FROM t', [])).resolves.toEqual([{ x: 7 }]);
    // Back on the app's connection: its TEMP table is in reach again.
    await db.query('CREATE TEMP TABLE only_here (x INTEGER)');
    await expect(sqliteStatement(db, 'SELECT * FROM only_here', [])).resolves.toEqual([]);
  });
});

it('is stopped when the DataSource is destroyed, after the statement it runs', async () => {
  const thread = statementThreadOf(db)!;
  // A TEMP table of the thread's own connection: the statement below runs there, or fails.
  await sqliteStatement(db, 'CREATE TEMP TABLE on_the_thread (x INTEGER)', []);
  const underWay = sqliteStatement<{ n: number }>(
    db,
    `${SLOW_READ} WHERE NOT EXISTS (SELECT 1 FROM on_the_thread)`,
    [],
  );
  await new Promise((resolve) => setImmediate(resolve)); // its turn has begun: it is on its way to the thread
  await db.destroy();
  await expect(underWay).resolves.toEqual([{ n: 3_000_000 }]);
  expect(thread.alive).toBe(false);
  expect(statementThreadOf(db)).toBeUndefined();
});
