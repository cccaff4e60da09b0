import { DataSource } from 'typeorm';
import { queueTransactions } from './data-source';

describe('queueTransactions (SQLite: one connection)', () => {
  async function sqlite(queued: boolean): Promise<DataSource> {
    const dataSource = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
    if (queued) queueTransactions(dataSource);
    await dataSource.query('CREATE TABLE t (x INTEGER)');
    return dataSource;
  }

  /** Two transactions at once, the first still busy when the second begins; the second fails on purpose when `failSecond`. */
  async function race(dataSource: DataSource, failSecond = false) {
    const first = dataSource.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (1)');
      await new Promise((resolve) => setTimeout(resolve, 30));
      await tx.query('INSERT INTO t VALUES (2)');
    });
    const second = dataSource.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (3)');
      if (failSecond) throw new Error('rolled back');
    });
    return Promise.allSettled([first, second]);
  }

  const rows = async (dataSource: DataSource) =>
    ((await dataSource.query('SELECT x FROM t ORDER BY x')) as Array<{ x: number }>).map((row) => row.x);

  it('without it, two transactions at once both fail (what it is for)', async () => {
    const dataSource = await sqlite(false);
    expect((await race(dataSource)).map((result) => result.status)).toEqual(['rejected', 'rejected']);
    await dataSource.destroy();
  });

  it('with it, they take turns and both commit', async () => {
    const dataSource = await sqlite(true);
    expect((await race(dataSource)).map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(await rows(dataSource)).toEqual([1, 2, 3]);
    await dataSource.destroy();
  });

  it('a transaction that fails rolls back alone and hands on its turn', async () => {
    const dataSource = await sqlite(true);
    expect((await race(dataSource, true)).map((result) => result.status)).toEqual(['fulfilled', 'rejected']);
    await dataSource.transaction((tx) => tx.query('INSERT INTO t VALUES (4)'));
    expect(await rows(dataSource)).toEqual([1, 2, 4]);
    await dataSource.destroy();
  });
});
