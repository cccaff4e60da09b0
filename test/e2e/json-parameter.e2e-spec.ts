import { jsonParameter, loadConfig, openDatabase } from '@signoff/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { testDatabaseUrl } from '../support/databases';

// Rows given to a statement as one JSON parameter (the recorder's results, a logout's outbox rows), on
// the database CI runs this suite against (SQLite, then PostgreSQL): a string the JSON cannot be
// stored from would fail the statement, and every row it writes with it.
let db: DataSource;
let dataDir: string;
let drop: () => Promise<void>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'signoff-json-'));
  const database = await testDatabaseUrl(dataDir);
  drop = database.drop;
  db = await openDatabase(loadConfig({ DATA_DIR: dataDir, DATABASE_URL: database.url, LOG_LEVEL: 'silent' }));
});
afterAll(async () => {
  await db.destroy();
  await drop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The `error` of each row in `json`, read as the recorder reads its records. */
async function errorsOf(json: string): Promise<Array<string | null>> {
  const rows: Array<{ error: string | null }> =
    db.options.type === 'postgres'
      ? await db.query('SELECT error FROM json_to_recordset(CAST($1 AS json)) AS r(error text)', [json])
      : await db.query("SELECT value ->> '$.error' AS error FROM json_each(?)", [json]);
  return rows.map((row) => row.error);
}

const awkward = [
  { error: 'HTTP 400: a\u0000b' }, // a NUL
  { error: 'HTTP 400: \ud800 and \udc00' }, // halves of surrogate pairs, each alone
  { error: 'HTTP 400: 😀 "quoted" \\u0000 é' }, // a whole pair, quotes, a backslash, an accent: kept
  { error: null },
];

describe('jsonParameter', () => {
  it('gives strings the database stores: a NUL and a lone half of a surrogate pair become U+FFFD, the rest as it was', async () => {
    expect(await errorsOf(jsonParameter(awkward))).toEqual([
      'HTTP 400: a\ufffdb',
      'HTTP 400: \ufffd and \ufffd',
      'HTTP 400: 😀 "quoted" \\u0000 é',
      null,
    ]);
  });

  it('is JSON.stringify when nothing needs it', () => {
    const plain = [{ error: 'HTTP 503', log: [{ at: '2026-11-26T00:00:00.000Z', ms: 3 }], next: 1_795_726_665_129 }];
    expect(jsonParameter(plain)).toBe(JSON.stringify(plain));
  });

  it('control: PostgreSQL refuses JSON.stringify of the same rows (SQLite stores them as they are)', async () => {
    const stored = errorsOf(JSON.stringify(awkward)).then(
      () => 'stored',
      (error: Error) => error.message,
    );
    if (db.options.type === 'postgres') expect(await stored).toMatch(/unsupported Unicode escape sequence/);
    else expect(await stored).toBe('stored');
  });
});
