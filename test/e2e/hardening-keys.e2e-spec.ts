import type { NestExpressApplication } from '@nestjs/platform-express';
import {
  type Config,
  KeyEncryption,
  KeyEncryptionError,
  loadConfig,
  ManualClock,
  SigningKey,
  SYSTEM,
  UsersService,
} from '@signoff/core';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createIdpApp } from '../../apps/idp/src/app.factory';
import { runCli } from '../../apps/idp/src/cli';
import { Browser } from '../support/browser';
import { testDatabaseUrl } from '../support/databases';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { freePort } from '../support/test-app';

/**
 * Issue 8, item 15: private signing keys are sealed at rest (AES-256-GCM under the key-encryption
 * key), the SQLite file is private, and the key-encryption key can be rotated. Each app here is the
 * real idp on 127.0.0.1, restarted on the same data dir and database as an operator would.
 */
const SQLITE = !process.env.DATABASE_URL?.startsWith('postgres');
const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist/apps/idp/src/cli.js');
const PASSWORD = 'a long enough password';
const K1 = randomBytes(32).toString('base64url');
const K2 = randomBytes(32).toString('base64url');

interface Deployment {
  dataDir: string;
  port: number;
  env: Record<string, string>;
  drop: () => Promise<void>;
}
interface Running {
  app: NestExpressApplication;
  url: string;
  config: Config;
  clock: ManualClock;
}

const deployments: Deployment[] = [];
const running = new Set<Running>();
const rps: TestClient[] = [];

async function deployment(prepare?: (dataDir: string) => void): Promise<Deployment> {
  const dataDir = mkdtempSync(join(tmpdir(), 'signoff-keys-'));
  prepare?.(dataDir);
  const database = await testDatabaseUrl(dataDir);
  const created = {
    dataDir,
    port: await freePort(),
    drop: database.drop,
    env: {
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      REDIS_URL: process.env.REDIS_URL!,
      REDIS_PREFIX: `t${randomBytes(6).toString('hex')}`,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    },
  };
  deployments.push(created);
  return created;
}

function configOf(d: Deployment, env: Record<string, string> = {}): Config {
  return loadConfig({ ...d.env, PUBLIC_URL: `http://127.0.0.1:${d.port}`, ...env });
}

async function start(d: Deployment, env: Record<string, string> = {}): Promise<Running> {
  const config = configOf(d, env);
  const clock = new ManualClock();
  const app = await createIdpApp(config, { clock });
  await app.listen(d.port, '127.0.0.1');
  const started = { app, url: `http://127.0.0.1:${d.port}`, config, clock };
  running.add(started);
  return started;
}

async function stop(r: Running): Promise<void> {
  running.delete(r);
  await r.app.close();
}

const keyRows = (r: Running) => r.app.get(DataSource).getRepository(SigningKey).find();

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-needed', '--quiet'], { cwd: ROOT });
});
afterAll(async () => {
  for (const rp of rps) await rp.rp.stop();
  for (const r of running) await r.app.close();
  for (const d of deployments) {
    await d.drop();
    rmSync(d.dataDir, { recursive: true, force: true });
  }
});

/** A full code flow through openid-client, which checks the ID token's signature against our JWKS. */
async function signIn(r: Running, rp: TestClient) {
  const { tokens } = await login(rp, new Browser(r.url), { username: 'alice', password: PASSWORD });
  return tokens.id_token!;
}

describe('private signing keys at rest', () => {
  it('are sealed (enc:v1, no PEM) under a key-encryption key generated into DATA_DIR, 0600', async () => {
    const d = await deployment();
    const r = await start(d);
    const rows = await keyRows(r);
    expect(rows.length).toBeGreaterThanOrEqual(6);
    for (const row of rows) {
      expect(row.privateKeyPem).toMatch(
        /^enc:v1:[A-Za-z0-9_-]{11}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/,
      );
      expect(row.privateKeyPem).not.toContain('PRIVATE KEY');
    }
    expect(statSync(join(d.dataDir, 'key-encryption-key')).mode & 0o777).toBe(0o600);
    await stop(r);
  });

  (SQLITE ? it : it.skip)(
    'creates the SQLite file 0600, and narrows an existing world-readable one to 0600',
    async () => {
      const fresh = await deployment();
      const r = await start(fresh);
      expect(statSync(join(fresh.dataDir, 'signoff.sqlite')).mode & 0o777).toBe(0o600);
      await stop(r);

      const old = await deployment((dataDir) => {
        writeFileSync(join(dataDir, 'signoff.sqlite'), ''); // an empty file is an empty SQLite database
        chmodSync(join(dataDir, 'signoff.sqlite'), 0o644);
      });
      const again = await start(old);
      expect(statSync(join(old.dataDir, 'signoff.sqlite')).mode & 0o777).toBe(0o600);
      await stop(again);
    },
  );

  it('seals plaintext keys of an older version at start; a restarted process signs tokens that verify; a KEK rotation reseals and a wrong KEK fails clearly', async () => {
    const d = await deployment();
    let r = await start(d, { KEY_ENCRYPTION_KEY: K1 });
    await r.app.get(UsersService).create({ username: 'alice', password: PASSWORD }, SYSTEM);
    const rp = await registerClient({ ...r, close: async () => undefined }, {}, { backchannel: false });
    rps.push(rp);
    const before = await signIn(r, rp);

    // What an older version left behind: every private key as plain PEM.
    const k1 = new KeyEncryption(K1);
    for (const row of await keyRows(r)) {
      await r.app
        .get(DataSource)
        .getRepository(SigningKey)
        .update({ id: row.id }, { privateKeyPem: k1.open(row.privateKeyPem, row.id) });
    }
    expect((await keyRows(r)).every((row) => row.privateKeyPem.startsWith('-----BEGIN PRIVATE KEY-----'))).toBe(true);
    await stop(r);

    r = await start(d, { KEY_ENCRYPTION_KEY: K1 });
    expect((await keyRows(r)).every((row) => k1.isCurrent(row.privateKeyPem))).toBe(true);
    const jwks = createRemoteJWKSet(new URL(`${r.url}/oauth2/jwks`));
    await jwtVerify(before, jwks, { issuer: r.url, audience: rp.clientId, currentDate: r.clock.now() });
    await signIn(r, rp);

    // A sealed key moved to another row does not open there (the row id is authenticated data).
    const [first, second] = await keyRows(r);
    expect(() => k1.open(first.privateKeyPem, second.id)).toThrow(KeyEncryptionError);
    await stop(r);

    // Rotation: the new key as KEY_ENCRYPTION_KEY, the old one as KEY_ENCRYPTION_KEY_PREVIOUS.
    const output: string[] = [];
    expect(
      await runCli(
        ['rotate-key-encryption-key'],
        configOf(d, { KEY_ENCRYPTION_KEY: K2, KEY_ENCRYPTION_KEY_PREVIOUS: K1 }),
        (line) => output.push(line),
      ),
    ).toBe(0);
    const k2 = new KeyEncryption(K2);
    expect(output.join('\n')).toMatch(
      new RegExp(`^resealed (\\d+) of \\1 signing key\\(s\\) under key-encryption key ${k2.currentId}`),
    );
    expect(output.join('\n')).not.toContain(K2);

    r = await start(d, { KEY_ENCRYPTION_KEY: K2 });
    const rows = await keyRows(r);
    expect(rows.every((row) => k2.isCurrent(row.privateKeyPem))).toBe(true);
    expect(() => k1.open(rows[0].privateKeyPem, rows[0].id)).toThrow(/neither KEY_ENCRYPTION_KEY/);
    await jwtVerify(await signIn(r, rp), createRemoteJWKSet(new URL(`${r.url}/oauth2/jwks`)), {
      issuer: r.url,
      audience: rp.clientId,
      currentDate: r.clock.now(),
    });
    await stop(r);

    // The old key alone no longer opens anything: the real CLI refuses to start, says why, and exits.
    const refused = spawnSync(process.execPath, [CLI, 'list-users'], {
      env: { ...process.env, ...d.env, PUBLIC_URL: `http://127.0.0.1:${d.port}`, KEY_ENCRYPTION_KEY: K1 },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(refused.signal).toBeNull();
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `sealed under key-encryption key ${k2.currentId}, which is neither KEY_ENCRYPTION_KEY \\(${k1.currentId}\\)`,
      ),
    );
    expect(refused.stderr + refused.stdout).not.toContain(K1);
  });
});
