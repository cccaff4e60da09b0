import { Logger } from '@nestjs/common';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

/** How often the thread copies the WAL into the database file. */
const CHECKPOINT_EVERY_MS = 500;
/**
 * The connection's own checkpoint while the thread runs, as a safety net only (pages of 4 KiB: 64 MiB
 * of WAL): the thread checkpoints long before, unless readers kept the WAL from being copied.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 16_384;
/**
 * The size the WAL file is cut back to once it has been checkpointed (the connection's
 * journal_size_limit, in bytes): a PASSIVE checkpoint copies the WAL into the database file but never
 * shrinks it, so after a burst (a bulk logout writes tens of MiB) the file would keep its largest size
 * for good. SQLite cuts it when a commit next starts the WAL over
 * (https://sqlite.org/pragma.html#pragma_journal_size_limit). The bound is what the connection's own
 * checkpoint lets the WAL reach (pages of 4 KiB: 64 MiB).
 */
export const WAL_SIZE_LIMIT_BYTES = WAL_AUTOCHECKPOINT_PAGES * 4096;
/** SQLite's own default, which the connection goes back to should the thread stop on its own. */
export const SQLITE_AUTOCHECKPOINT_PAGES = 1000;
/** How long a close waits for the thread's last checkpoint before stopping it. */
const CLOSE_WAIT_MS = 2000;

// Plain JavaScript, run as the thread's source: it must load in the built app and under Jest alike.
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 0 });
let failed = false;
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    if (failed) parentPort.postMessage({ recovered: true });
    failed = false;
  } catch (error) {
    // SQLITE_BUSY: another connection checkpoints now. Anything else is said once, until it passes.
    if (error.code === 'SQLITE_BUSY') return;
    if (!failed) parentPort.postMessage({ error: error.message });
    failed = true;
  }
};
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints a SQLite database in WAL mode from a thread of its own. SQLite's automatic checkpoint
 * runs inside whichever commit crosses its threshold (1,000 pages by default): it copies the WAL into
 * the database file and fsyncs it on the thread that committed, which through better-sqlite3 is the
 * event loop. A fan-out of thousands of deliveries crossed it every few commits, about a third of its
 * commit time. The thread runs PASSIVE checkpoints (https://sqlite.org/wal.html#checkpointing): they
 * neither wait for nor block readers and writers, and are safe beside other processes' connections
 * to the same file. The connection keeps an automatic checkpoint at WAL_AUTOCHECKPOINT_PAGES, should
 * the thread stop.
 */
export class SqliteCheckpointer {
  private readonly logger = new Logger('Database');
  private readonly exited: Promise<unknown>;
  private stopping = false;

  /** `onStopped`: the thread ended on its own (it failed, or could not start); not called after stop(). */
  private constructor(
    private readonly thread: Worker,
    onStopped: () => void,
  ) {
    this.exited = once(thread, 'exit').catch(() => undefined);
    void this.exited.then(() => {
      if (!this.stopping) onStopped();
    });
    thread.on('message', (message: { error?: string; recovered?: boolean }) => {
      if (message.error)
        this.logger.warn({
          msg: 'checkpointing the SQLite WAL failed; the connection checkpoints itself meanwhile',
          error: message.error,
        });
      if (message.recovered) this.logger.log({ msg: 'checkpointing the SQLite WAL works again' });
    });
    thread.on('error', (error) =>
      this.logger.warn({
        msg: 'the SQLite checkpoint thread stopped; the connection checkpoints itself',
        error: error.message,
      }),
    );
    thread.unref();
  }

  static start(path: string, onStopped: () => void = () => undefined): SqliteCheckpointer {
    return new SqliteCheckpointer(
      new Worker(THREAD, {
        eval: true,
        workerData: { driver: require.resolve('better-sqlite3'), path, everyMs: CHECKPOINT_EVERY_MS },
      }),
      onStopped,
    );
  }

  /** A last checkpoint, then the thread ends (stopped if it does not within CLOSE_WAIT_MS). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.thread.postMessage('stop');
    const timer = setTimeout(() => void this.thread.terminate(), CLOSE_WAIT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}
