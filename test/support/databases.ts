import { Client } from 'pg';
import { randomBytes } from 'node:crypto';

/**
 * With DATABASE_URL pointing at PostgreSQL, each test app gets a database of its own on that server
 * (created here, dropped at close); otherwise a SQLite file in the app's data dir.
 */
export async function testDatabaseUrl(dataDir: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const server = process.env.DATABASE_URL;
  if (!server || !/^postgres(ql)?:/.test(server))
    return { url: `sqlite:${dataDir}/signoff.sqlite`, drop: async () => undefined };
  const name = `signoff_test_${randomBytes(6).toString('hex')}`;
  await admin(server, `CREATE DATABASE ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => admin(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function admin(server: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: server });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
