import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteCheckpointer, WAL_AUTOCHECKPOINT_PAGES } from './sqlite-checkpointer';

describe('SqliteCheckpointer', () => {
  let dir: string;
  let db: Database.Database;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'signoff-checkpoint-'));
    db = new Database(join(dir, 'signoff.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    db.exec('CREATE TABLE t (x TEXT)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run('x'.repeat(500));
    })();
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The rows the database file holds by itself, without its WAL: what checkpoints copied there. */
  function rowsInTheFileAlone(): number {
    const copy = join(dir, 'copy.sqlite');
    copyFileSync(join(dir, 'signoff.sqlite'), copy);
    const alone = new Database(copy, { readonly: true });
    try {
      const table = alone.prepare("SELECT 1 FROM sqlite_master WHERE name = 't'").get();
      return table ? (alone.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n : 0;
    } finally {
      alone.close();
    }
  }

  it('without it, the commits stay in the WAL (below the connection’s own threshold)', async () => {
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(rowsInTheFileAlone()).toBe(0);
  });

  it('copies the WAL into the database file from its thread, and stops', async () => {
    let stoppedOnItsOwn = false;
    const checkpointer = SqliteCheckpointer.start(join(dir, 'signoff.sqlite'), () => (stoppedOnItsOwn = true));
    // Polled: a thread's start on a busy machine takes its time.
    const deadline = Date.now() + 5000;
    while (rowsInTheFileAlone() < 2000 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(rowsInTheFileAlone()).toBe(2000);
    await checkpointer.stop();
    await checkpointer.stop(); // twice is harmless
    expect(stoppedOnItsOwn).toBe(false);
  });

  it('says when its thread stops on its own (here: a database it cannot open)', async () => {
    let stoppedOnItsOwn!: () => void;
    const stopped = new Promise<void>((resolve) => (stoppedOnItsOwn = resolve));
    const checkpointer = SqliteCheckpointer.start(join(dir, 'no such directory', 'signoff.sqlite'), stoppedOnItsOwn);
    await stopped;
    await checkpointer.stop(); // after it ended: returns
  });
});
