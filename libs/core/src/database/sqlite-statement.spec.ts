import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { type Config, loadConfig } from '../config/config';
import { Group } from '../entities';
import {
  dataSourceOptions,
  openDatabase,
  queueTransactions,
  sqliteEachInTransaction,
  sqliteStatement,
  sqliteStatementEach,
} from './data-source';
import { WAL_SIZE_LIMIT_BYTES } from './sqlite-checkpointer';

// sqliteStatement on a real SQLite file opened as the app opens it (openDatabase: the transactions'
// queue, synchronous = FULL, the migrations), with a scratch table of its own.
let dir: string;
let config: Config;
let db: DataSource;
const others: Array<{ destroy?: () => Promise<void>; close?: () => unknown }> = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'signoff-statement-'));
  config = loadConfig(
    { DATABASE_URL: `sqlite:${join(dir, 'signoff.sqlite')}`, DATA_DIR: dir, LOG_LEVEL: 'silent' },
    dir,
  );
  db = await openDatabase(config);
  await db.query('CREATE TABLE t (x INTEGER)');
});
afterEach(async () => {
  for (const other of others.splice(0)) await (other.destroy?.() ?? other.close?.());
  if (db.isInitialized) await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const xs = async () => ((await db.query('SELECT x FROM t ORDER BY rowid')) as Array<{ x: number }>).map((row) => row.x);

/**
 * The message `promise` was refused with, or 'resolved'. By message, not `toThrow`: better-sqlite3's
 * SqliteError belongs to the realm of the test file that first loaded the native addon in this jest
 * worker, so in another file it is no `instanceof Error` and `rejects.toThrow` does not recognise it.
 */
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: unknown) => String((error as { message?: unknown })?.message ?? error),
  );

/** A second connection to the same file, of its own: what it sees was committed. */
function secondConnection(): Database.Database {
  const other = new Database(config.database.type === 'sqlite' ? config.database.path : '', { readonly: true });
  others.push(other);
  return other;
}

/**
 * A transaction through the queue that inserts 1, then stays open until `release()`, then inserts 2:
 * `inside` resolves once it is open with its first row written.
 */
function heldTransaction({ rollBack = false }: { rollBack?: boolean } = {}) {
  let entered!: () => void;
  let release!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const done = db.transaction(async (tx) => {
    await tx.query('INSERT INTO t VALUES (1)');
    entered();
    await released;
    if (rollBack) throw new Error('rolled back on purpose');
    await tx.query('INSERT INTO t VALUES (2)');
  });
  return { inside, release, done };
}

/** Whether `promise` has settled by now (after the event loop had its turn). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await sleep(50);
  return done;
}

describe('openDatabase (SQLite)', () => {
  it('syncs every commit: synchronous is FULL (2)', async () => {
    expect(await db.query('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
  });

  it('is what sets it: the same connection without openDatabase syncs only at checkpoints (NORMAL, 1)', async () => {
    // Control: better-sqlite3 builds SQLite with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1.
    const bare = await new DataSource(dataSourceOptions(config)).initialize();
    others.push(bare);
    expect(await bare.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    expect(await bare.query('PRAGMA synchronous')).toEqual([{ synchronous: 1 }]);
  });

  /**
   * A burst of writes larger than WAL_SIZE_LIMIT_BYTES, then small writes until the WAL file is back
   * within it (the checkpoint thread copied the burst, and a commit started the WAL over) or `waitMs`
   * have passed: its size after the burst, and then.
   */
  async function walAfterABurst(waitMs: number): Promise<{ burst: number; after: number }> {
    const wal = `${config.database.type === 'sqlite' ? config.database.path : ''}-wal`;
    const rows = Math.ceil((WAL_SIZE_LIMIT_BYTES * 1.25) / 4000);
    await db.query(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) INSERT INTO t SELECT randomblob(4000) FROM n`,
    );
    const burst = statSync(wal).size;
    const deadline = Date.now() + waitMs;
    while (statSync(wal).size > WAL_SIZE_LIMIT_BYTES && Date.now() < deadline) {
      await sleep(200);
      await db.query('INSERT INTO t VALUES (1)');
    }
    return { burst, after: statSync(wal).size };
  }

  it('cuts the WAL file back to WAL_SIZE_LIMIT_BYTES once a burst larger than that is checkpointed', async () => {
    const { burst, after } = await walAfterABurst(10_000);
    expect(burst).toBeGreaterThan(WAL_SIZE_LIMIT_BYTES);
    expect(after).toBeLessThanOrEqual(WAL_SIZE_LIMIT_BYTES);
  }, 30_000);

  it('is what cuts it: without its journal_size_limit the WAL keeps the burst’s size', async () => {
    await db.query('PRAGMA journal_size_limit = -1');
    const { burst, after } = await walAfterABurst(3000);
    // Not cut back. It may have grown by a frame or two: a small write before the checkpoint thread
    // has copied the burst (a busy machine) is appended after it.
    expect(after).toBeGreaterThanOrEqual(burst);
  }, 30_000);

  it('migrates only once no other process is migrating the same file (its lock file beside it)', async () => {
    const path = config.database.type === 'sqlite' ? config.database.path : '';
    // Another process, in the middle of its migrations: it holds the lock for half a second.
    const other = spawn(
      process.execPath,
      [
        '-e',
        `const lock = new (require('better-sqlite3'))(${JSON.stringify(`${path}-migrating`)});
         lock.exec('BEGIN EXCLUSIVE');
         console.log('locked');
         setTimeout(() => { console.log('released', Date.now()); lock.exec('ROLLBACK'); lock.close(); }, 500);`,
      ],
      { cwd: join(__dirname, '..', '..', '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    await new Promise<void>((resolve) =>
      other.stdout!.on('data', (chunk: Buffer) => {
        output += chunk;
        if (output.includes('locked')) resolve();
      }),
    );
    const second = await openDatabase(config);
    const openedAt = Date.now();
    others.push(second);
    await new Promise((resolve) => other.once('exit', resolve));
    const releasedAt = Number(/released (\d+)/.exec(output)?.[1]);
    expect(openedAt).toBeGreaterThanOrEqual(releasedAt);
  });
});

describe('sqliteStatement', () => {
  it('answers the rows of an INSERT … RETURNING and an UPDATE … RETURNING', async () => {
    expect(await sqliteStatement(db, 'INSERT INTO t VALUES (?), (?) RETURNING x', [1, 2])).toEqual([
      { x: 1 },
      { x: 2 },
    ]);
    expect(await sqliteStatement(db, 'UPDATE t SET x = x * 10 WHERE x > ? RETURNING x', [1])).toEqual([{ x: 20 }]);
    expect(await xs()).toEqual([1, 20]);
  });

  it('answers [] for a statement without RETURNING, and runs it', async () => {
    expect(await sqliteStatement(db, 'INSERT INTO t VALUES (?)', [7])).toEqual([]);
    expect(await xs()).toEqual([7]);
  });

  it('binds booleans as 1 and 0 (better-sqlite3 binds none)', async () => {
    expect(await sqliteStatement(db, 'SELECT ? AS yes, ? AS no', [true, false])).toEqual([{ yes: 1, no: 0 }]);
  });

  describe('takes its turn among the transactions', () => {
    it('waits for an open transaction, and sees both its rows committed', async () => {
      const held = heldTransaction();
      await held.inside;
      const statement = sqliteStatement<{ x: number }>(
        db,
        'INSERT INTO t SELECT count(*) + 100 FROM t RETURNING x',
        [],
      );
      expect(await settled(statement)).toBe(false); // still waiting while the transaction is open
      held.release();
      await held.done;
      expect(await statement).toEqual([{ x: 102 }]);
      expect(await xs()).toEqual([1, 2, 102]);
    });

    it('fails at once when called inside a transaction (it would wait for that transaction’s end)', async () => {
      const done = db.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (1)');
        return refusal(sqliteStatement(db, 'INSERT INTO t VALUES (2)', []));
      });
      expect(await done).toMatch(/cannot run inside a transaction/);
      expect(await xs()).toEqual([1]);
    });

    it('lets a transaction asked for after it wait for it', async () => {
      const statement = sqliteStatement(db, 'INSERT INTO t VALUES (1)', []);
      const transaction = db.transaction((tx) => tx.query('INSERT INTO t SELECT count(*) + 100 FROM t RETURNING x'));
      await Promise.all([statement, transaction]);
      expect(await xs()).toEqual([1, 101]);
    });
  });

  describe('what else the app writes while a transaction is open (queueTransactions)', () => {
    const group = (name: string) => ({
      id: name,
      name,
      description: null,
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    const groups = async () => (await db.getRepository(Group).find({ order: { name: 'ASC' } })).map((row) => row.name);

    it('a plain write waits for it instead of joining it: it stands when the transaction rolls back', async () => {
      const held = heldTransaction({ rollBack: true });
      await held.inside;
      const write = db.query('INSERT INTO t VALUES (5)');
      expect(await settled(write)).toBe(false);
      held.release();
      expect(await refusal(held.done)).toBe('rolled back on purpose');
      await write;
      expect(await xs()).toEqual([5]);
    });

    it('control: without the queue, the same write joins the transaction and is undone with it', async () => {
      const bare = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
      others.push(bare);
      await bare.query('CREATE TABLE t (x INTEGER)');
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const done = bare.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (1)');
        await released;
        throw new Error('rolled back on purpose');
      });
      await sleep(10);
      const write = bare.query('INSERT INTO t VALUES (5)');
      expect(await settled(write)).toBe(true); // did not wait
      release();
      expect(await refusal(done)).toBe('rolled back on purpose');
      expect(await bare.query('SELECT x FROM t')).toEqual([]);
    });

    it('so does a repository’s save (which opens a transaction of its own) and update', async () => {
      await db.getRepository(Group).save(group('before'));
      const held = heldTransaction({ rollBack: true });
      await held.inside;
      const saved = db.getRepository(Group).save(group('saved'));
      const updated = db.getRepository(Group).update({ id: 'before' }, { description: 'updated' });
      expect(await settled(Promise.all([saved, updated]))).toBe(false);
      held.release();
      await held.done.catch(() => undefined);
      await Promise.all([saved, updated]);
      expect(await groups()).toEqual(['before', 'saved']);
      expect((await db.getRepository(Group).findOneByOrFail({ id: 'before' })).description).toBe('updated');
    });

    it('and runs after it when it commits, its rows first', async () => {
      const held = heldTransaction();
      await held.inside;
      const write = db.query('INSERT INTO t VALUES (5)');
      held.release();
      await Promise.all([held.done, write]);
      expect(await xs()).toEqual([1, 2, 5]);
    });

    it('a read does not wait (a cached read a transaction awaits could never end): it sees the transaction so far', async () => {
      const held = heldTransaction();
      await held.inside;
      expect(await xs()).toEqual([1]);
      held.release();
      await held.done;
    });

    it('the transaction’s own work through the DataSource (not its `tx`) is part of it, and does not wait for itself', async () => {
      const done = db.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (1)');
        await db.query('INSERT INTO t VALUES (2)');
        await db.getRepository(Group).save(group('inside'));
        throw new Error('rolled back on purpose');
      });
      expect(await refusal(done)).toBe('rolled back on purpose');
      expect(await xs()).toEqual([]);
      expect(await groups()).toEqual([]);
    });
  });

  describe('durability', () => {
    it('durable (the default): commits, and leaves synchronous FULL', async () => {
      await sqliteStatement(db, 'INSERT INTO t VALUES (?)', [1]);
      expect(secondConnection().prepare('SELECT x FROM t').all()).toEqual([{ x: 1 }]);
      expect(await db.query('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
    });

    it('durable: false commits too, and puts synchronous back to FULL afterwards', async () => {
      expect(await sqliteStatement(db, 'INSERT INTO t VALUES (?) RETURNING x', [1], { durable: false })).toEqual([
        { x: 1 },
      ]);
      expect(secondConnection().prepare('SELECT x FROM t').all()).toEqual([{ x: 1 }]);
      expect(await db.query('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
    });

    it('durable: false puts synchronous back even when the statement fails', async () => {
      // Fails as it runs (not as it is prepared, which comes before synchronous is lowered).
      await db.query('CREATE TABLE v (x INTEGER NOT NULL)');
      expect(await refusal(sqliteStatement(db, 'INSERT INTO v VALUES (?)', [null], { durable: false }))).toMatch(
        /NOT NULL/,
      );
      expect(await db.query('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
    });
  });

  it('named: the same text again (its prepared statement kept) runs with the new parameters', async () => {
    const insert = 'INSERT INTO t VALUES (?) RETURNING x';
    expect(await sqliteStatement(db, insert, [1], { named: true })).toEqual([{ x: 1 }]);
    expect(await sqliteStatement(db, insert, [2], { named: true })).toEqual([{ x: 2 }]);
    const select = 'SELECT x FROM t WHERE x >= ? ORDER BY x';
    expect(await sqliteStatement(db, select, [1], { named: true })).toEqual([{ x: 1 }, { x: 2 }]);
    expect(await sqliteStatement(db, select, [2], { named: true })).toEqual([{ x: 2 }]);
    expect(await xs()).toEqual([1, 2]);
  });

  describe('a statement that fails', () => {
    beforeEach(() => db.query('CREATE TABLE u (x INTEGER UNIQUE)'));

    it('rejects, and is undone whole (it is its own transaction)', async () => {
      expect(await refusal(sqliteStatement(db, 'INSERT INTO u VALUES (1), (1)', []))).toMatch(/UNIQUE/);
      expect(await db.query('SELECT count(*) AS n FROM u')).toEqual([{ n: 0 }]);
    });

    it('rejects on a syntax error', async () => {
      expect(await refusal(sqliteStatement(db, 'INSERT INTO t VALUE (1)', []))).toMatch(/syntax error/);
    });

    it('hands on its turn: the transaction and the statement queued behind it run', async () => {
      const failing = sqliteStatement(db, 'INSERT INTO u VALUES (1), (1)', []);
      const transaction = db.transaction((tx) => tx.query('INSERT INTO t VALUES (1)'));
      const statement = sqliteStatement(db, 'INSERT INTO t VALUES (2) RETURNING x', []);
      const results = await Promise.allSettled([failing, transaction, statement]);
      expect(results.map((result) => result.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
      expect(await xs()).toEqual([1, 2]);
    });
  });

  describe('a transaction begun by hand on a query runner, outside the queue (as the migrations begin theirs)', () => {
    /** A transaction begun on the connection by hand, not through the queue: inserts 5, then waits. */
    async function outsideTransaction() {
      const runner = db.createQueryRunner();
      await runner.startTransaction();
      await runner.query('INSERT INTO t VALUES (5)');
      return runner;
    }

    it('waits for it to end instead of joining it: the statement stands when it rolls back', async () => {
      const runner = await outsideTransaction();
      const statement = sqliteStatement(db, 'INSERT INTO t VALUES (6) RETURNING x', []);
      expect(await settled(statement)).toBe(false);
      await runner.rollbackTransaction();
      await runner.release();
      expect(await statement).toEqual([{ x: 6 }]);
      expect(await xs()).toEqual([6]);
    });

    it('control: a plain query joins it, and is undone with it', async () => {
      const runner = await outsideTransaction();
      await db.query('INSERT INTO t VALUES (6)');
      await runner.rollbackTransaction();
      await runner.release();
      expect(await xs()).toEqual([]);
    });
  });

  describe('needs the queue', () => {
    let bare: DataSource;
    beforeEach(async () => {
      bare = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
      others.push(bare);
    });

    it('refuses a DataSource openDatabase did not set up', async () => {
      await expect(sqliteStatement(bare, 'SELECT 1 AS one', [])).rejects.toThrow(
        'sqliteStatement needs a SQLite DataSource opened by openDatabase',
      );
    });

    it('runs once the DataSource has its queue (control: the refusal is about the queue)', async () => {
      queueTransactions(bare);
      expect(await sqliteStatement(bare, 'SELECT 1 AS one', [])).toEqual([{ one: 1 }]);
    });
  });
});

describe('sqliteStatementEach', () => {
  beforeEach(() => db.query('INSERT INTO t VALUES (1), (2), (3)'));

  it('runs the statement once per set and answers how many rows each changed', async () => {
    const changed = await sqliteStatementEach(db, 'UPDATE t SET x = x * 10 WHERE x = ?', [[1], [9], [3]]);
    expect(changed).toEqual([1, 0, 1]);
    expect(await xs()).toEqual([10, 2, 30]);
  });

  it('is one transaction: a set that fails undoes the sets before it', async () => {
    await db.query('CREATE TABLE u (x INTEGER UNIQUE)');
    const insert = 'INSERT INTO u VALUES (?)';
    expect(await refusal(sqliteStatementEach(db, insert, [[1], [2], [1]]))).toMatch(/UNIQUE/);
    expect(await db.query('SELECT count(*) AS n FROM u')).toEqual([{ n: 0 }]);
    // Control: the same sets without the repeated one are all written.
    expect(await sqliteStatementEach(db, insert, [[1], [2]])).toEqual([1, 1]);
    expect(await db.query('SELECT count(*) AS n FROM u')).toEqual([{ n: 2 }]);
  });

  it('waits for an open transaction, and runs after it', async () => {
    const held = heldTransaction();
    await held.inside;
    const each = sqliteStatementEach(db, 'UPDATE t SET x = x + 100 WHERE x = ?', [[1], [2]]);
    expect(await settled(each)).toBe(false);
    held.release();
    await held.done;
    // The transaction's rows are there: 1 twice (the held one's first), 2 twice; each set changed both.
    expect(await each).toEqual([2, 2]);
    expect(await xs()).toEqual([101, 102, 3, 101, 102]);
  });

  it('durable: false commits, and puts synchronous back to FULL', async () => {
    expect(await sqliteStatementEach(db, 'INSERT INTO t VALUES (?)', [[4]], { durable: false })).toEqual([1]);
    expect(secondConnection().prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 4 });
    expect(await db.query('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
  });
});

describe('sqliteEachInTransaction', () => {
  it('runs in the caller’s transaction: its rows are undone with it', async () => {
    const failing = db.transaction(async (tx) => {
      expect(sqliteEachInTransaction(tx, 'INSERT INTO t VALUES (?)', [[1], [2]])).toEqual([1, 1]);
      expect(await tx.query('SELECT count(*) AS n FROM t')).toEqual([{ n: 2 }]);
      throw new Error('rolled back');
    });
    expect(await refusal(failing)).toBe('rolled back');
    expect(await xs()).toEqual([]);
    // Control: committed, they stay.
    await db.transaction(async (tx) => sqliteEachInTransaction(tx, 'INSERT INTO t VALUES (?)', [[1], [2]]));
    expect(await xs()).toEqual([1, 2]);
  });

  it('refuses to run outside a transaction (each row would be its own commit)', () => {
    expect(() => sqliteEachInTransaction(db.manager, 'INSERT INTO t VALUES (?)', [[1]])).toThrow(
      'sqliteEachInTransaction needs a transaction on a SQLite DataSource',
    );
  });
});
