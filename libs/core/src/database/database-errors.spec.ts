import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { isDatabaseAway, isUniqueViolation } from './database-errors';
import { thrownBy } from '../../../../test/support/thrown';

let dir: string;
const servers: Server[] = [];
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'signoff-away-'))));
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A TCP server on 127.0.0.1 that does `onSocket` with each connection; its port. */
async function listening(onSocket: (socket: import('node:net').Socket) => void): Promise<number> {
  const server = createServer(onSocket);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('isDatabaseAway', () => {
  it('a SQLite file another connection holds locked (SQLITE_BUSY): away', async () => {
    const file = join(dir, 'db.sqlite');
    const holder = new Database(file);
    holder.exec('CREATE TABLE t (x INTEGER)');
    holder.exec('BEGIN IMMEDIATE');
    const other = new Database(file, { timeout: 0 });
    const error = await thrownBy(() => other.exec('INSERT INTO t VALUES (1)'));
    expect((error as { code: string }).code).toBe('SQLITE_BUSY');
    expect(isDatabaseAway(error)).toBe(true);
    holder.exec('ROLLBACK');
    holder.close();
    other.close();
  });

  it('a SQLite constraint, as TypeORM throws it (QueryFailedError): not away', async () => {
    const db = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
    await db.query('CREATE TABLE t (x INTEGER NOT NULL)');
    const error = await thrownBy(() => db.query('INSERT INTO t VALUES (NULL)'));
    expect((error as Error).name).toBe('QueryFailedError');
    expect(isDatabaseAway(error)).toBe(false);
    await db.destroy();
  });

  it('no server at the address (ECONNREFUSED): away', async () => {
    const port = await listening(() => undefined);
    servers.pop()!.close(); // the port is free again: nothing listens
    const error = await thrownBy(() =>
      new Client({ host: '127.0.0.1', port, connectionTimeoutMillis: 2000 }).connect(),
    );
    expect(isDatabaseAway(error)).toBe(true);
  });

  it('a server that drops the connection (pg: "Connection terminated unexpectedly"): away', async () => {
    const port = await listening((socket) => socket.destroy());
    const error = await thrownBy(() =>
      new Client({ host: '127.0.0.1', port, connectionTimeoutMillis: 2000 }).connect(),
    );
    expect((error as Error).message).toMatch(/Connection terminated/);
    expect(isDatabaseAway(error)).toBe(true);
  });

  it('PostgreSQL shutting down, restarting or full (SQLSTATE 08xxx, 57P01–57P03, 53300): away; a refused value (23502, 22P02): not', () => {
    for (const code of ['08006', '08001', '57P01', '57P02', '57P03', '53300'])
      expect([code, isDatabaseAway({ code, message: 'x' })]).toEqual([code, true]);
    for (const code of ['23502', '23505', '22P02', '42P01'])
      expect([code, isDatabaseAway({ code, message: 'x' })]).toEqual([code, false]);
  });

  it('anything else (a bug here): not away', () => {
    expect(isDatabaseAway(new TypeError('Do not know how to serialize a BigInt'))).toBe(false);
    expect(isDatabaseAway(null)).toBe(false);
    expect(isDatabaseAway('ECONNREFUSED')).toBe(false);
  });
});

describe('isUniqueViolation', () => {
  it('PostgreSQL’s unique_violation (23505), SQLite’s UNIQUE and PRIMARY KEY failures; not other constraints', () => {
    for (const code of ['23505', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY'])
      expect([code, isUniqueViolation({ code })]).toEqual([code, true]);
    for (const code of ['23502', '23503', 'SQLITE_CONSTRAINT_NOTNULL', 'SQLITE_CONSTRAINT_FOREIGNKEY', '08006'])
      expect([code, isUniqueViolation({ code })]).toEqual([code, false]);
    expect(isUniqueViolation({ driverError: { code: '23505' } })).toBe(true);
    expect(isUniqueViolation(null)).toBe(false);
  });
});
