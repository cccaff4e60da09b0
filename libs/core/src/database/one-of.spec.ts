import { DataSource } from 'typeorm';
import { oneOf } from './one-of';

describe('oneOf', () => {
  // Past SQLite's and PostgreSQL's limits on parameters (32,766 and 65,535): the list is one parameter.
  const ids = Array.from({ length: 70_000 }, (_, i) => `id-${i}`);

  async function each(url: string | undefined, test: (db: DataSource) => Promise<void>): Promise<void> {
    const db = await new DataSource(
      url ? { type: 'postgres', url } : { type: 'better-sqlite3', database: ':memory:' },
    ).initialize();
    try {
      await db.query('CREATE TEMPORARY TABLE one_of_rows (id varchar(36) PRIMARY KEY, seen integer)');
      await db.query(`WITH RECURSIVE n (x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < 99999)
         INSERT INTO one_of_rows (id, seen) SELECT 'id-' || x, 0 FROM n`);
      await test(db);
    } finally {
      await db.destroy();
    }
  }

  const databases = [
    ['SQLite', undefined],
    ...(process.env.DATABASE_URL?.startsWith('postgres') ? [['PostgreSQL', process.env.DATABASE_URL]] : []),
  ];

  it.each(databases)('selects exactly the rows listed, however many, on %s', async (_, url) => {
    await each(url, async (db) => {
      const [condition, list] = oneOf(db.manager, 'id', [...ids, 'not-a-row', "x' OR '1'='1"], 1);
      await db.query(`UPDATE one_of_rows SET seen = 1 WHERE ${condition}`, [list]);
      const [{ count }] = (await db.query('SELECT COUNT(*) AS count FROM one_of_rows WHERE seen = 1')) as Array<{
        count: string;
      }>;
      expect(Number(count)).toBe(70_000);
      const [{ last }] = (await db.query(
        `SELECT MAX(CAST(SUBSTR(id, 4) AS integer)) AS last FROM one_of_rows WHERE seen = 1`,
      )) as Array<{ last: string }>;
      expect(Number(last)).toBe(69_999);
    });
  });
});
