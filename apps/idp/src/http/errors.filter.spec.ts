import { SignoffError } from '@signoff/core';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { asRefusal } from './errors.filter';
import { thrownBy } from '../../../../test/support/thrown';

describe('asRefusal (what the database says, as the refusal it is)', () => {
  let db: DataSource;
  beforeAll(async () => {
    db = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
    await db.query('CREATE TABLE t (x INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER NOT NULL)');
    await db.query(`INSERT INTO t VALUES (1, 'taken', 0)`);
  });
  afterAll(() => db.destroy());

  it('a key another request took (UNIQUE, PRIMARY KEY): 409 conflict, without the database’s words', async () => {
    for (const sql of [`INSERT INTO t VALUES (2, 'taken', 0)`, `INSERT INTO t VALUES (1, 'free', 0)`]) {
      const refusal = asRefusal(await thrownBy(() => db.query(sql)));
      expect(refusal).toBeInstanceOf(SignoffError);
      expect(refusal).toMatchObject({ code: 'conflict', status: 409 });
      expect((refusal as Error).message).not.toMatch(/UNIQUE|constraint|t\.name/);
    }
  });

  it('a database that cannot be reached (ECONNREFUSED): 503 temporarily_unavailable', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve)); // nothing listens there now
    const refusal = asRefusal(await thrownBy(() => new Client({ host: '127.0.0.1', port }).connect()));
    expect(refusal).toMatchObject({ code: 'temporarily_unavailable', status: 503 });
    expect((refusal as Error).message).not.toContain(String(port));
  });

  it('anything else stays what it was (a NOT NULL refused is a fault here: 500)', async () => {
    const error = await thrownBy(() => db.query(`INSERT INTO t VALUES (3, 'other', NULL)`));
    expect(asRefusal(error)).toBe(error);
    const bug = new TypeError('x is not a function');
    expect(asRefusal(bug)).toBe(bug);
  });
});
