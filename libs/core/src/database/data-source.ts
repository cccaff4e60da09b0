import { AsyncLocalStorage } from 'node:async_hooks';
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Logger } from '@nestjs/common';
import { DataSource, type DataSourceOptions, type EntityManager } from 'typeorm';
import type { Config } from '../config/config';
import { ENTITIES } from '../entities';
import { MIGRATIONS } from '../migrations';
import { SnakeNamingStrategy } from './naming';
import {
  SQLITE_AUTOCHECKPOINT_PAGES,
  SqliteCheckpointer,
  WAL_AUTOCHECKPOINT_PAGES,
  WAL_SIZE_LIMIT_BYTES,
} from './sqlite-checkpointer';
import { SqliteStatementThread } from './sqlite-statement-thread';

export function dataSourceOptions(config: Config): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    namingStrategy: new SnakeNamingStrategy(),
    synchronize: false,
    logging: false,
  };
  if (config.database.type === 'postgres') {
    return { ...common, type: 'postgres', url: config.database.url, extra: { max: 10, connectionTimeoutMillis: 5000 } };
  }
  return {
    ...common,
    type: 'better-sqlite3',
    database: config.database.path,
    enableWAL: true,
    // Several processes (server, worker, CLI) may share the file: wait for a lock instead of failing.
    timeout: 5000,
  };
}

// Any constant works: it only has to be the same in every process of one deployment.
const MIGRATION_LOCK = 7_242_001;

/**
 * Connects and runs pending migrations. PostgreSQL deployments start several processes at once: they
 * take turns. With `wait` (the server and the worker; the CLI fails at once), a PostgreSQL that cannot
 * be reached yet is waited for, said once in the log, and `wait` (a function) hears why at each try.
 */
export async function openDatabase(
  config: Config,
  wait: boolean | ((reason: string) => void) = false,
): Promise<DataSource> {
  if (config.database.type === 'sqlite') prepareSqliteFile(config.database.path);
  const dataSource = wait ? await connectWhenReachable(config, wait) : await connect(config);
  if (config.database.type === 'sqlite') {
    queueTransactions(dataSource);
    // A commit is on disk when it returns (the WAL synced), so that a logout the user was told of
    // survives a power loss. better-sqlite3 builds SQLite to sync the WAL only at checkpoints
    // (SQLITE_DEFAULT_WAL_SYNCHRONOUS=1): durable across a crash of the process, not of the machine.
    await dataSource.query('PRAGMA synchronous = FULL');
  }
  try {
    if (config.database.type === 'postgres') {
      const runner = dataSource.createQueryRunner();
      await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await dataSource.runMigrations({ transaction: 'each' });
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
        await runner.release();
      }
    } else {
      await whileNoOtherMigrates(config.database.path, () => dataSource.runMigrations({ transaction: 'each' }));
      await checkpointInAThread(dataSource, config.database.path);
      statementsInAThread(dataSource, config.database.path);
    }
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}

/**
 * SQLite: WAL checkpoints leave the event loop for a thread (SqliteCheckpointer), stopped when the
 * DataSource is destroyed, before the connection closes (the last one to close checkpoints the rest).
 * Should the thread stop on its own, the connection checkpoints at SQLite's usual threshold again.
 * The WAL file is cut back to WAL_SIZE_LIMIT_BYTES once checkpointed, whatever a burst made of it.
 */
async function checkpointInAThread(dataSource: DataSource, path: string): Promise<void> {
  await dataSource.query(`PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  await dataSource.query(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  const checkpointer = SqliteCheckpointer.start(path, () => {
    if (!dataSource.isInitialized) return;
    dataSource.query(`PRAGMA wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`).catch(() => undefined);
    threads.get(dataSource)?.checkpointEvery(SQLITE_AUTOCHECKPOINT_PAGES);
  });
  const destroy = dataSource.destroy.bind(dataSource);
  dataSource.destroy = async () => {
    await checkpointer.stop();
    return destroy();
  };
}

/**
 * SQLite: the statements of their own (sqliteStatement, sqliteStatementEach) run on a second
 * connection in a thread (SqliteStatementThread), still in the transactions' queue; the thread is
 * stopped when the DataSource is destroyed, before the connection closes.
 */
function statementsInAThread(dataSource: DataSource, path: string): void {
  const thread = SqliteStatementThread.start(path, {
    autocheckpointPages: WAL_AUTOCHECKPOINT_PAGES,
    walSizeLimit: WAL_SIZE_LIMIT_BYTES,
  });
  threads.set(dataSource, thread);
  const destroy = dataSource.destroy.bind(dataSource);
  dataSource.destroy = async () => {
    threads.delete(dataSource);
    await thread.stop();
    return destroy();
  };
}

const connect = (config: Config) => new DataSource(dataSourceOptions(config)).initialize();

/** How long a process waits for another to finish migrating the same SQLite file. */
const SQLITE_MIGRATION_WAIT_MS = 60_000;

/**
 * Runs `work` (the migrations) while no other process migrates the same SQLite file: what the
 * advisory lock is on PostgreSQL. Two processes starting on a new file (a server and its worker) both
 * read which migrations had run, then ran the same ones: the second failed ("database is locked"),
 * or could have run one twice. The lock is an exclusive transaction on a file of its own beside the
 * database (`<file>-migrating`; one on the database would block the migrations themselves), which the
 * operating system lets go if the process dies. Waiting blocks this thread: nothing else runs yet.
 */
async function whileNoOtherMigrates<T>(path: string, work: () => Promise<T>): Promise<T> {
  const lockPath = `${path}-migrating`;
  closeSync(openSync(lockPath, 'a', 0o600));
  const lock = new Database(lockPath, { timeout: SQLITE_MIGRATION_WAIT_MS });
  try {
    lock.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    lock.close();
    throw new Error(`another process has been migrating ${path} for over ${SQLITE_MIGRATION_WAIT_MS / 1000} s`, {
      cause: error,
    });
  }
  try {
    return await work();
  } finally {
    lock.exec('ROLLBACK');
    lock.close();
  }
}

/** A server that is not there (yet), or starting or stopping: worth waiting for, unlike a refused login. */
const UNREACHABLE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|timeout|terminated|starting up|shutting down/i;

/** A start told to stop (SIGTERM, SIGINT) while it waited for the database: the process exits at once, 0. */
export class StoppedWhileWaiting extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped (${signal}) while waiting for the database`);
    this.name = 'StoppedWhileWaiting';
  }
}

async function connectWhenReachable(config: Config, wait: boolean | ((reason: string) => void)): Promise<DataSource> {
  const logger = new Logger('Database');
  // A signal while it waits ends the start: Nest's shutdown hooks are not installed yet, so without
  // this the process would wait on (and might even start) until exitDeadlineOnSignal's deadline.
  const stop: { signal?: NodeJS.Signals; wake: () => void } = { wake: () => undefined };
  const onSignal = (signal: NodeJS.Signals) => {
    stop.signal = signal;
    stop.wake();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    for (let tries = 0; ; tries++) {
      try {
        const dataSource = await connect(config);
        if (stop.signal) {
          await dataSource.destroy();
          throw new StoppedWhileWaiting(stop.signal);
        }
        if (tries) logger.log({ msg: 'the database is reachable; starting' });
        return dataSource;
      } catch (error) {
        if (error instanceof StoppedWhileWaiting) throw error;
        if (stop.signal) throw new StoppedWhileWaiting(stop.signal);
        const reason = (error as Error).message;
        if (config.database.type !== 'postgres' || !UNREACHABLE.test(reason)) throw error;
        if (!tries)
          logger.warn({
            msg: `waiting for the database at ${databaseHost(config.database.url)}; retrying`,
            error: reason,
          });
        if (typeof wait === 'function') wait(reason);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(500 * 2 ** tries, 5000));
          stop.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (stop.signal) throw new StoppedWhileWaiting(stop.signal);
      }
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** host:port of a postgres:// URL, for the log (never its credentials). */
function databaseHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'DATABASE_URL';
  }
}

/**
 * SQLite through better-sqlite3 is one connection, which TypeORM shares between every caller: a second
 * transaction begun while one is open (two requests at once, the worker beside a page) fails with
 * "cannot start a transaction within a transaction", and a write made meanwhile outside it (a
 * repository's `save` or `update`, a plain query) becomes part of it and is undone if it rolls back.
 * So on SQLite writes take turns, in the order they were asked for: each transaction, each `save` or
 * `remove` (TypeORM opens a transaction for it), and each other statement that is not a read. What a
 * turn does itself (its transaction's statements, even through the DataSource rather than its `tx`)
 * runs at once; so does a read, which may see an open transaction's writes: a read a transaction
 * awaits (a cache shared with others) must not wait for that transaction to end.
 */
export function queueTransactions(dataSource: DataSource): void {
  const queue: Queue = { last: Promise.resolve(), holder: null };
  queues.set(dataSource, queue);
  const manager = dataSource.manager as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of ['transaction', 'save', 'remove', 'softRemove', 'recover']) {
    const operation = manager[name].bind(manager);
    manager[name] = (...args: unknown[]) => inTurn(queue, () => operation(...args));
  }
  // better-sqlite3: the driver's one query runner, which every query of the DataSource goes through.
  const runner = dataSource.driver.createQueryRunner('master');
  const query = runner.query.bind(runner) as (sql: string, ...rest: unknown[]) => Promise<unknown>;
  runner.query = ((sql: string, ...rest: unknown[]) =>
    RUNS_AT_ONCE.test(sql) ? query(sql, ...rest) : inTurn(queue, () => query(sql, ...rest))) as typeof runner.query;
}

/**
 * Statements that do not take a turn: reads, and a transaction's own begin, savepoints and end (a
 * transaction begun by hand on a query runner, as the migrations' are, cannot be told from others').
 */
const RUNS_AT_ONCE = /^\s*(SELECT|PRAGMA|EXPLAIN|BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;

/** A SQLite DataSource's queue: what the next turn waits for, and whose turn it is. */
interface Queue {
  last: Promise<unknown>;
  holder: object | null;
}

const queues = new WeakMap<DataSource, Queue>();
/** The thread each SQLite DataSource opened by openDatabase runs its statements of their own on. */
const threads = new WeakMap<DataSource, SqliteStatementThread>();

/** The statement thread of a SQLite DataSource opened by openDatabase, until it is destroyed (for tests). */
export const statementThreadOf = (dataSource: DataSource): SqliteStatementThread | undefined => threads.get(dataSource);

/** Which turn the running work belongs to (the `holder` it was given). */
const turns = new AsyncLocalStorage<object>();
/** Turns asked for and not ended yet, in every queue of the process. */
let turnsUnderWay = 0;

/** Whether the running work is the turn now holding `queue`. */
const isItsTurn = (queue: Queue) => queue.holder !== null && turns.getStore() === queue.holder;

/**
 * Runs `work` in its turn; at once when asked for by the work whose turn it is (it would wait for itself).
 *
 * While no turn is under way anywhere in the process, `turns` is disabled: on Node 20 an enabled
 * AsyncLocalStorage runs a hook at every promise the process makes (bench:backchannel on SQLite: the
 * fan-out 5,500 -> 5,760 /s, plain signing and POSTing 10,600 -> 12,200 /s once it is off between
 * turns). A turn's run enables it again. Work that a finished turn left running reads no turn while
 * `turns` is off, and that finished turn's holder once it is on again, never the running one's:
 * either way it waits for a turn of its own, as it did before.
 */
function inTurn<T>(queue: Queue, work: () => T | Promise<T>): Promise<T> {
  if (isItsTurn(queue)) return new Promise<T>((resolve) => resolve(work()));
  const holder = {};
  turnsUnderWay++;
  const turn = queue.last
    .then(() => {
      queue.holder = holder;
      return turns.run(holder, work);
    })
    .finally(() => {
      if (queue.holder === holder) queue.holder = null;
      if (--turnsUnderWay === 0) turns.disable();
    });
  queue.last = turn.catch(() => undefined); // a failed turn still hands on its turn
  return turn;
}

/** The part of a better-sqlite3 connection a statement needs. */
interface SqliteConnection {
  readonly inTransaction: boolean;
  prepare(sql: string): SqliteStatement;
  pragma(source: string, options?: { simple: boolean }): unknown;
  transaction<T>(work: () => T): () => T;
}

interface SqliteStatement {
  reader: boolean;
  all(...values: unknown[]): unknown[];
  run(...values: unknown[]): { changes: number };
}

/** How long a statement waits for a transaction opened outside the queue (SQLite's busy timeout, as set here). */
const OUTSIDE_TRANSACTION_MS = 5000;

/** Prepared statements of the texts that never change (named ones), per connection. */
const prepared = new WeakMap<SqliteConnection, Map<string, SqliteStatement>>();

/**
 * SQLite: one statement (with RETURNING, its rows are the answer) in the transactions' queue: no other
 * write reaches the database meanwhile. Opened by openDatabase, the DataSource runs it on its
 * statement thread's connection (SqliteStatementThread), the event loop free meanwhile; otherwise, or
 * once that thread has stopped, on the connection itself, at once (better-sqlite3 is synchronous). A
 * BLOB it returns from the thread is a Uint8Array. It is its own transaction: should a transaction be open all the same (one
 * begun by hand on a query runner, outside the queue), it waits for that to end rather than become
 * part of it (and be undone with it). Called inside a transaction, it fails at once (it would wait for
 * that transaction's end). `named`: the text never changes, its prepared statement is kept.
 *
 * `durable: false` commits it without syncing the WAL (synchronous = NORMAL for this statement only):
 * for bookkeeping that may be lost with the machine (not with the process), because what it records
 * is done again if lost (a delivery's claim or result: the row's lease runs out and it is sent again,
 * which receivers must expect anyway). Every later synced commit syncs it too (the WAL is written in
 * order), so nothing committed after it can survive without it, and so does the checkpoint thread
 * (SqliteCheckpointer: the WAL is synced before each checkpoint, every 500 ms). A transaction open
 * outside the queue for longer than OUTSIDE_TRANSACTION_MS (one that leaked) fails the statement
 * rather than hold the queue, and every transaction behind it, for ever.
 */
export function sqliteStatement<T>(
  dataSource: DataSource,
  sql: string,
  parameters: unknown[],
  { durable = true, named = false }: { durable?: boolean; named?: boolean } = {},
): Promise<T[]> {
  const values = bindable(parameters);
  return onTheConnection(
    dataSource,
    durable,
    (connection) => {
      const statement = preparedOn(connection, sql, named);
      if (statement.reader) return statement.all(...values) as T[];
      statement.run(...values);
      return [];
    },
    (thread) => thread.run({ sql, values, durable, named }) as Promise<T[]>,
  );
}

/**
 * SQLite: one statement (without RETURNING) run once for each of `parameterSets`, all in one
 * transaction, taken as sqliteStatement takes its turn (`durable` as there; the text is kept prepared).
 * Answers, for each set, how many rows it changed. For a result per row that a single statement could
 * only read out of a JSON parameter: SQLite parses a JSON object again for each path read from it,
 * and binding is cheaper (the attempt recorder's 250-row commit: about half the time).
 */
export function sqliteStatementEach(
  dataSource: DataSource,
  sql: string,
  parameterSets: unknown[][],
  { durable = true }: { durable?: boolean } = {},
): Promise<number[]> {
  return onTheConnection(
    dataSource,
    durable,
    (connection) => connection.transaction(() => runEach(connection, sql, parameterSets))(),
    (thread) => thread.run({ sql, sets: parameterSets.map(bindable), durable }),
  );
}

/**
 * SQLite: one statement (without RETURNING) run once for each of `parameterSets` inside the caller's
 * transaction `tx` (its text kept prepared); answers, for each set, how many rows it changed. Thousands
 * of rows bound one statement each cost less than in multi-row statements (a 10,000-row outbox: about
 * 60 against 100 ms): no statement of thousands of values to build, prepare and bind.
 */
export function sqliteEachInTransaction(tx: EntityManager, sql: string, parameterSets: unknown[][]): number[] {
  const connection = (tx.connection.driver as unknown as { databaseConnection?: SqliteConnection }).databaseConnection;
  // Outside a transaction each row would be its own commit, and a failure would leave the rows before it.
  if (tx.connection.options.type === 'postgres' || !connection?.inTransaction || !tx.queryRunner?.isTransactionActive)
    throw new Error('sqliteEachInTransaction needs a transaction on a SQLite DataSource');
  return runEach(connection, sql, parameterSets);
}

function runEach(connection: SqliteConnection, sql: string, parameterSets: unknown[][]): number[] {
  const statement = preparedOn(connection, sql, true);
  return parameterSets.map((values) => statement.run(...bindable(values)).changes);
}

/**
 * Runs `work` on the SQLite connection in the transactions' queue, once no transaction is open on it
 * (see sqliteStatement), with the WAL not synced at its commit unless `durable`.
 */
function onTheConnection<T>(
  dataSource: DataSource,
  durable: boolean,
  work: (connection: SqliteConnection) => T,
  onTheThread: (thread: SqliteStatementThread) => Promise<T>,
): Promise<T> {
  const queue = queues.get(dataSource);
  if (!queue) return Promise.reject(new Error('sqliteStatement needs a SQLite DataSource opened by openDatabase'));
  if (isItsTurn(queue))
    return Promise.reject(new Error('a SQLite statement of its own cannot run inside a transaction: use its `tx`'));
  return inTurn(queue, async () => {
    const connection = (dataSource.driver as unknown as { databaseConnection: SqliteConnection }).databaseConnection;
    for (const since = Date.now(); connection.inTransaction; await new Promise((resolve) => setTimeout(resolve, 1)))
      if (Date.now() - since > OUTSIDE_TRANSACTION_MS)
        throw new Error(`a transaction opened outside the queue has been open for over ${OUTSIDE_TRANSACTION_MS} ms`);
    const thread = threads.get(dataSource);
    if (thread?.alive) return onTheThread(thread);
    const synchronous = durable ? undefined : connection.pragma('synchronous', { simple: true });
    if (!durable) connection.pragma('synchronous = NORMAL');
    try {
      return work(connection);
    } finally {
      if (!durable) connection.pragma(`synchronous = ${Number(synchronous)}`);
    }
  });
}

/** The statement of `sql` on `connection`: kept when `named` (its text never changes), else prepared now. */
function preparedOn(connection: SqliteConnection, sql: string, named: boolean): SqliteStatement {
  if (!named) return connection.prepare(sql);
  let cache = prepared.get(connection);
  if (!cache) prepared.set(connection, (cache = new Map()));
  let statement = cache.get(sql);
  if (!statement) cache.set(sql, (statement = connection.prepare(sql)));
  return statement;
}

/** better-sqlite3 binds no booleans: SQLite has none (TypeORM turns them into 0 and 1 the same way). */
const bindable = (values: unknown[]) => values.map((value) => (typeof value === 'boolean' ? Number(value) : value));

/**
 * The SQLite file holds every account, session and token: it is created 0600 (in a 0700 directory when
 * we create that) before the driver opens it, and an existing one readable by others is narrowed to
 * 0600, as are its -wal and -shm files (SQLite gives those the database file's mode when it creates them).
 */
export function prepareSqliteFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file) && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  }
}

/**
 * Within a transaction, waits until no other transaction holds the same name; call it before the
 * transaction reads what it decides on. PostgreSQL: an advisory transaction lock. SQLite: the
 * database's one write lock, taken now by a write that changes nothing (whatever the name). Without
 * it, two processes (a server and a worker starting on a new file) both read "no signing keys", and
 * the second to write failed with "database is locked": its transaction read before the first one's
 * commit (SQLITE_BUSY_SNAPSHOT). Taken first, the lock waits (busy timeout) for the other's commit,
 * and what is read after it is current. In one process the transactions take turns anyway.
 */
export async function serialize(tx: EntityManager, name: string): Promise<void> {
  if (tx.connection.options.type === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
  else await tx.query(`DELETE FROM "${tx.connection.options.migrationsTableName ?? 'migrations'}" WHERE 0`);
}
