import { LogoutDelivery, SYSTEM, UsersService } from '@signoff/core';
import { type ChildProcess, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { Browser } from '../support/browser';
import { eventually } from '../support/eventually';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { startBuiltWorker } from '../support/seed';
import { startApp, type TestApp } from '../support/test-app';

// The idp runs here; the worker runs as its own process (`npm run start:worker`), so it can be killed.
const root = join(__dirname, '..', '..');
let t: TestApp;
let app: TestClient;
const workers: ChildProcess[] = [];

async function startWorker(): Promise<ChildProcess> {
  const { child, started } = startBuiltWorker(t.config, { DELIVERY_TIMEOUT: '2s' });
  workers.push(child);
  await started;
  return child;
}

beforeAll(async () => {
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--if-needed', '--quiet'], { cwd: root });
  t = await startApp({ DELIVERY_TIMEOUT: '2s' });
  await t.app.get(UsersService).create({ username: 'alice', password: 'alice password' }, SYSTEM);
  app = await registerClient(t);
});
afterAll(async () => {
  for (const worker of workers) worker.kill('SIGKILL');
  await app.rp.stop();
  await t.close();
});

it('finishes a delivery whose worker was killed mid-attempt, once a worker runs again', async () => {
  app.rp.backchannelReplies = ['hang', 200];
  const browser = new Browser(t.url);
  await login(app, browser, { username: 'alice', password: 'alice password' });
  await browser.get('/logout');
  await browser.submit('/logout', { csrf: browser.csrf });
  const deliveries = () => t.app.get(DataSource).getRepository(LogoutDelivery).findBy({ providerId: app.providerId });

  const first = await startWorker();
  expect(await eventually(async () => app.rp.backchannelRequests === 1)).toBe(true);
  first.kill('SIGKILL'); // dies holding the job, its request unanswered at the RP
  await new Promise((resolve) => first.once('exit', resolve));
  expect((await deliveries())[0]).toMatchObject({ status: 'sending', attempts: 1 });

  await startWorker();
  const done = await eventually(
    async () => ((await deliveries())[0].status === 'succeeded' ? (await deliveries())[0] : null),
    40_000,
    250,
  );
  expect(done).toMatchObject({ status: 'succeeded', attempts: 2 });
  expect(app.rp.backchannelRequests).toBe(2);
  expect(app.rp.logoutTokens).toHaveLength(1); // the answered one; the first was never answered
}, 60_000);
