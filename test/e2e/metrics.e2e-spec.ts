import { MetricsListener, SYSTEM, UsersService } from '@signoff/core';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { Browser } from '../support/browser';
import { testDatabaseUrl } from '../support/databases';
import { eventually } from '../support/eventually';
import { helpOf, sampleOf } from '../support/metrics-text';
import { builtWorkerArgs } from '../support/seed';
import { freshUserSignedIn, registerClient, type TestClient } from '../support/relying-party';
import { startApp, type TestApp } from '../support/test-app';

const TOKEN = randomBytes(32).toString('base64url');
const bearer = { Authorization: `Bearer ${TOKEN}` };

// One process (`npm start`): the idp with its worker, so one registry counts the logout (the idp's
// side) and its deliveries (the worker's side), and one /metrics shows both.
let t: TestApp;
const rps: TestClient[] = [];

beforeAll(async () => {
  t = await startApp({ METRICS_TOKEN: TOKEN, DELIVERY_TIMEOUT: '1s', DELIVERY_ATTEMPTS: '2' }, { withWorker: true });
});
afterAll(async () => {
  for (const rp of rps) await rp.rp.stop();
  await t?.close();
});

async function scrape(): Promise<string> {
  const response = await request(t.url).get('/metrics').set(bearer);
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(response.headers['cache-control']).toBe('no-store');
  return response.text;
}

/** A sample's value, 0 when absent (a counter never incremented with those labels). */
const value = (text: string, name: string, labels: Record<string, string> = {}) => sampleOf(text, name, labels) ?? 0;

const signedIn = (...clients: TestClient[]) => freshUserSignedIn(t, clients);

describe('/metrics on the idp port', () => {
  it('counts a back-channel logout by trigger and outcome, its delivery by channel and its latency; the outbox is empty after', async () => {
    const app = await registerClient(t);
    rps.push(app);
    const { browser } = await signedIn(app);
    const before = await scrape();

    await browser.get('/logout');
    await browser.submit('/logout', { csrf: browser.csrf });
    await eventually(async () => app.rp.logoutTokens.length);
    const completed = (text: string) => value(text, 'signoff_logout_operations_ended_total', { outcome: 'complete' });
    const after = await eventually(async () => {
      const text = await scrape();
      return completed(text) > completed(before) ? text : null;
    });
    expect(after).not.toBeNull();
    const grew = (name: string, labels: Record<string, string> = {}) =>
      value(after!, name, labels) - value(before, name, labels);

    expect(grew('signoff_logout_operations_started_total', { trigger: 'user_logout' })).toBe(1);
    expect(grew('signoff_logout_operations_ended_total', { outcome: 'complete' })).toBe(1);
    expect(grew('signoff_logout_operations_ended_total', { outcome: 'partial' })).toBe(0);
    expect(grew('signoff_logout_operations_ended_total', { outcome: 'failed' })).toBe(0);
    expect(grew('signoff_logout_deliveries_ended_total', { channel: 'backchannel_oidc', status: 'succeeded' })).toBe(1);
    expect(grew('signoff_logout_deliveries_ended_total', { channel: 'backchannel_oidc', status: 'dead' })).toBe(0);
    const latency = { channel: 'backchannel_oidc', result: 'succeeded' };
    expect(grew('signoff_logout_delivery_attempt_duration_seconds_count', latency)).toBe(1);
    expect(grew('signoff_logout_delivery_attempt_duration_seconds_sum', latency)).toBeGreaterThanOrEqual(0);
    expect(grew('signoff_logout_delivery_attempt_duration_seconds_bucket', { ...latency, le: '+Inf' })).toBe(1);
    expect(grew('signoff_logout_delivery_retries_total', { channel: 'backchannel_oidc' })).toBe(0);
    expect(grew('signoff_logout_delivery_redeliveries_total', { channel: 'backchannel_oidc' })).toBe(0);

    // Read from the table at scrape time: nothing left to send.
    for (const status of ['pending', 'queued', 'sending'])
      expect(sampleOf(after!, 'signoff_logout_outbox_deliveries', { status })).toBe(0);
    expect(sampleOf(after!, 'signoff_logout_outbox_oldest_age_seconds')).toBe(0);
    expect(sampleOf(after!, 'signoff_metrics_source_up', { source: 'database' })).toBe(1);
    expect(sampleOf(after!, 'signoff_metrics_source_up', { source: 'queue' })).toBe(1);
    for (const state of ['waiting', 'prioritized', 'active', 'delayed', 'failed'])
      expect(sampleOf(after!, 'signoff_delivery_queue_jobs', { state })).toBeGreaterThanOrEqual(0);

    // Every metric says what it is, and the process metrics are there.
    for (const name of [
      'signoff_logout_operations_started_total',
      'signoff_logout_deliveries_ended_total',
      'signoff_logout_delivery_attempt_duration_seconds',
      'signoff_logout_outbox_oldest_age_seconds',
      'signoff_delivery_queue_jobs',
      'signoff_logins_total',
    ])
      expect(helpOf(after!, name)).toBeTruthy();
    expect(sampleOf(after!, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sampleOf(after!, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('counts logins that succeed and logins that fail', async () => {
    await t.app.get(UsersService).create({ username: 'counted', password: 'user password' }, SYSTEM);
    const before = await scrape();
    expect((await new Browser(t.url).login('counted', 'not the password')).status).toBe(401);
    expect((await new Browser(t.url).login('nobody-by-that-name', 'user password')).status).toBe(401);
    expect((await new Browser(t.url).login('counted', 'user password')).status).toBe(303);
    const after = await scrape();
    const grew = (result: string) =>
      value(after, 'signoff_logins_total', { result }) - value(before, 'signoff_logins_total', { result });
    expect(grew('failure')).toBe(2);
    expect(grew('success')).toBe(1);
    expect(grew('throttled')).toBe(0);
  });

  it('answers 401 without the token or with a wrong one', async () => {
    const without = await request(t.url).get('/metrics');
    expect(without.status).toBe(401);
    expect(without.text).not.toMatch(/signoff_/);
    const wrong = await request(t.url)
      .get('/metrics')
      .set({ Authorization: `Bearer ${TOKEN.slice(0, -1)}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toMatch(/signoff_/);
    expect((await request(t.url).get('/metrics').set({ Authorization: TOKEN })).status).toBe(401);
  });
});

describe('without METRICS_TOKEN', () => {
  let plain: TestApp;
  beforeAll(async () => {
    plain = await startApp({ METRICS_PORT: '0' });
  });
  afterAll(() => plain?.close());

  it('the idp port answers 404 for /metrics; the METRICS_PORT listener (127.0.0.1) serves it without a token', async () => {
    expect((await request(plain.url).get('/metrics').set(bearer)).status).toBe(404);
    expect((await request(plain.url).get('/metrics')).status).toBe(404);
    const listener = plain.app.get(MetricsListener).url!;
    expect(listener).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const scraped = await fetch(`${listener}/metrics`);
    expect(scraped.status).toBe(200);
    const text = await scraped.text();
    expect(sampleOf(text, 'signoff_logins_total', { result: 'success' })).toBe(0);
    expect(sampleOf(text, 'signoff_logout_outbox_deliveries', { status: 'pending' })).toBe(0);
    expect((await fetch(`${listener}/healthz`)).status).toBe(200);
    expect((await fetch(`${listener}/admin`)).status).toBe(404);
    expect((await fetch(`${listener}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});

describe('the worker process', () => {
  const root = join(__dirname, '..', '..');
  let dataDir: string;
  let database: { url: string; drop: () => Promise<void> };
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--if-needed', '--quiet'], { cwd: root });
    dataDir = mkdtempSync(join(tmpdir(), 'signoff-metrics-'));
    database = await testDatabaseUrl(dataDir);
  }, 120_000);
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves /metrics on METRICS_PORT behind the token, and /healthz; it says where at start', async () => {
    worker = spawn(process.execPath, builtWorkerArgs(), {
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        DATABASE_URL: database.url,
        REDIS_URL: process.env.REDIS_URL,
        REDIS_PREFIX: `t${randomBytes(6).toString('hex')}`,
        METRICS_PORT: '0',
        METRICS_TOKEN: TOKEN,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the worker did not start:\n${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk;
        const started = /"msg":"signoff worker started","metrics":"(http:\/\/[^"]+)"/.exec(output);
        if (started) {
          clearTimeout(timer);
          resolve(started[1]);
        }
      };
      worker!.stdout!.on('data', onData);
      worker!.stderr!.on('data', onData);
      worker!.once('exit', (code) => reject(new Error(`the worker exited with ${code}:\n${output}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    const scraped = await fetch(`${url}/metrics`, { headers: bearer });
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await scraped.text();
    expect(sampleOf(text, 'signoff_logout_outbox_deliveries', { status: 'pending' })).toBe(0);
    expect(sampleOf(text, 'signoff_logout_outbox_oldest_age_seconds')).toBe(0);
    expect(sampleOf(text, 'signoff_metrics_source_up', { source: 'database' })).toBe(1);
    expect(sampleOf(text, 'signoff_metrics_source_up', { source: 'queue' })).toBe(1);
    expect(sampleOf(text, 'signoff_delivery_queue_jobs', { state: 'waiting' })).toBe(0);
    expect(
      sampleOf(text, 'signoff_logout_deliveries_ended_total', { channel: 'backchannel_saml', status: 'succeeded' }),
    ).toBe(0);
    expect(sampleOf(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    worker.kill('SIGTERM');
    // Nest's shutdown hooks end the process with the signal it got, after closing everything.
    const ended = await new Promise<string>((resolve) => {
      if (worker!.exitCode !== null || worker!.signalCode !== null)
        resolve(String(worker!.exitCode ?? worker!.signalCode));
      else worker!.once('exit', (code, signal) => resolve(String(code ?? signal)));
    });
    expect(['0', 'SIGTERM']).toContain(ended);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 60_000);
});
