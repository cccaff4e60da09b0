import { Logger } from '@nestjs/common';
import { Worker } from 'node:worker_threads';

/** What the thread is asked: one statement, or one statement per parameter set in one transaction. */
export type ThreadRequest =
  | { sql: string; values: unknown[]; durable: boolean; named: boolean }
  | { sql: string; sets: unknown[][]; durable: boolean };

/** How long the thread's connection waits for another connection's write lock (better-sqlite3's `timeout`). */
const LOCK_WAIT_MS = 5000;

// Plain JavaScript, run as the thread's source: it must load in the built app and under Jest alike.
// Its connection is set as openDatabase sets the app's: foreign keys checked, every commit synced
// unless the statement says otherwise, the same WAL bounds. Values arrive structured-cloned: a Buffer
// arrives as a Uint8Array, which better-sqlite3 binds only as a Buffer.
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: workerData.lockWaitMs });
db.pragma('foreign_keys = ON');
db.pragma('synchronous = FULL');
db.pragma('wal_autocheckpoint = ' + workerData.autocheckpointPages);
db.pragma('journal_size_limit = ' + workerData.walSizeLimit);
const kept = new Map();
const prepared = (sql, named) => {
  if (!named) return db.prepare(sql);
  let statement = kept.get(sql);
  if (!statement) kept.set(sql, (statement = db.prepare(sql)));
  return statement;
};
const bindable = (values) =>
  values.map((value) => (value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value) : value));
parentPort.on('message', (message) => {
  if (message === 'stop') {
    db.close();
    parentPort.close();
    return;
  }
  if (message.autocheckpointPages) {
    db.pragma('wal_autocheckpoint = ' + message.autocheckpointPages);
    return;
  }
  const { id, request } = message;
  try {
    if (!request.durable) db.pragma('synchronous = NORMAL');
    try {
      if (request.sets) {
        const statement = prepared(request.sql, true);
        const changes = db.transaction(() => request.sets.map((values) => statement.run(...bindable(values)).changes))();
        parentPort.postMessage({ id, changes });
      } else {
        const statement = prepared(request.sql, request.named);
        if (statement.reader) parentPort.postMessage({ id, rows: statement.all(...bindable(request.values)) });
        else {
          statement.run(...bindable(request.values));
          parentPort.postMessage({ id, rows: [] });
        }
      }
    } finally {
      if (!request.durable) db.pragma('synchronous = FULL');
    }
  } catch (error) {
    parentPort.postMessage({ id, error: { message: error.message, code: error.code, name: error.name, stack: error.stack } });
  }
});
`;

/**
 * An error from the thread: its connection's (better-sqlite3's SqliteError, with SQLite's extended
 * result code as `code`, e.g. SQLITE_CONSTRAINT_UNIQUE), or THREAD_STOPPED for a statement under way
 * when the thread stopped, which may or may not have committed (isDatabaseAway: worth trying again,
 * and the next try runs on the app's connection).
 */
export class SqliteThreadError extends Error {
  readonly code?: string;

  constructor({ message, code, name = 'SqliteError', stack }: ThreadErrorData) {
    super(message);
    this.name = name;
    this.code = code;
    // The thread's stack says where SQLite refused; this one, who asked.
    if (stack) this.stack = `${this.stack ?? ''}\n    on the statement thread:\n${stack}`;
  }
}

/** An error as it crosses from the thread: what an Error carries that a caller reads. */
interface ThreadErrorData {
  message: string;
  code?: string;
  name?: string;
  stack?: string;
}

/** The code of a statement cut short by the thread's end. */
export const THREAD_STOPPED = 'SIGNOFF_SQLITE_THREAD_STOPPED';

/**
 * A second connection to the SQLite file, on a thread of its own, for the statements of their own
 * (sqliteStatement, sqliteStatementEach): through better-sqlite3 a statement runs on the calling
 * thread, and the worker's bookkeeping (claiming a batch, recording its results) ran on the event loop
 * that also signs and POSTs the deliveries, about a sixth of that thread's time in a fan-out
 * (bench:backchannel). They still take their turn among the app's writes (the transactions' queue
 * in data-source.ts): while one runs here, the event loop writes nothing and the two connections never
 * wait for each other's lock. Reads on the app's connection see what the thread committed (WAL: each
 * read starts from the last commit).
 *
 * Should the thread stop on its own, `run` rejects what was under way and `alive` turns false: the
 * statements then run on the app's connection again (data-source.ts).
 */
export class SqliteStatementThread {
  private readonly logger = new Logger('Database');
  private readonly exited: Promise<unknown>;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private stopping = false;
  alive = true;

  private constructor(private readonly thread: Worker) {
    // Its 'exit' only: an uncaught error comes first, while the dying thread's connection may still hold a lock.
    this.exited = new Promise((resolve) => thread.once('exit', resolve));
    void this.exited.then(() => this.ended('the SQLite statement thread stopped'));
    thread.on('message', (message: { id: number; rows?: unknown[]; changes?: number[]; error?: ThreadErrorData }) => {
      const waiter = this.waiting.get(message.id);
      if (!waiter) return;
      this.waiting.delete(message.id);
      if (message.error) waiter.reject(new SqliteThreadError(message.error));
      else waiter.resolve(message.rows ?? message.changes);
    });
    thread.on('error', (error) => {
      if (!this.stopping)
        this.logger.warn({
          msg: 'the SQLite statement thread stopped; statements run on the main connection',
          error: error.message,
        });
    });
    thread.unref();
  }

  static start(path: string, bounds: { autocheckpointPages: number; walSizeLimit: number }): SqliteStatementThread {
    return new SqliteStatementThread(
      new Worker(THREAD, {
        eval: true,
        workerData: { driver: require.resolve('better-sqlite3'), path, lockWaitMs: LOCK_WAIT_MS, ...bounds },
      }),
    );
  }

  /** Runs one request on the thread's connection: a statement's rows, or each set's count of changed rows. */
  run(request: ThreadRequest & { values: unknown[] }): Promise<unknown[]>;
  run(request: ThreadRequest & { sets: unknown[][] }): Promise<number[]>;
  run(request: ThreadRequest): Promise<unknown> {
    if (!this.alive)
      return Promise.reject(
        new SqliteThreadError({ message: 'the SQLite statement thread has stopped', code: THREAD_STOPPED }),
      );
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (this.waiting.size === 1) this.thread.ref(); // the process waits for an answer under way
      try {
        this.thread.postMessage({ id, request });
      } catch (error) {
        // A value that cannot cross (a function, a symbol): nothing was sent, nothing will answer.
        this.waiting.delete(id);
        reject(error as Error);
      }
    }).finally(() => {
      if (this.waiting.size === 0 && !this.stopping) this.thread.unref();
    });
  }

  /**
   * Sets its connection's automatic checkpoint threshold, as the app's connection's: SQLite's own
   * again once the checkpoint thread has stopped (data-source.ts), since this one commits most of a
   * fan-out's writes.
   */
  checkpointEvery(pages: number): void {
    if (this.alive) this.thread.postMessage({ autocheckpointPages: pages });
  }

  /**
   * Closes the thread's connection once the statement under way is done, and ends the thread. It is
   * never terminated meanwhile: a thread terminated inside better-sqlite3 (a statement waiting for a
   * lock) aborts the whole process as the driver raises its error. The wait is bounded by the
   * statement's own: its lock wait is LOCK_WAIT_MS, and the statements sent here are single rows' and batches'.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    // Held until it has ended: with nothing else left to do, the process would otherwise exit here,
    // with code 0, before whoever closes the database goes on (a CLI command that failed exits 1).
    this.thread.ref();
    if (this.alive) this.thread.postMessage('stop');
    await this.exited;
  }

  private ended(reason: string): void {
    this.alive = false;
    for (const waiter of this.waiting.values())
      waiter.reject(new SqliteThreadError({ message: reason, code: THREAD_STOPPED }));
    this.waiting.clear();
  }
}
