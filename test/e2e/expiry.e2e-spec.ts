import { IdpSession, SYSTEM, UsersService } from '@signoff/core';
import { DataSource } from 'typeorm';
import { Browser } from '../support/browser';
import { eventually } from '../support/eventually';
import { startApp, type TestApp } from '../support/test-app';

const MINUTE = 60_000;
let t: TestApp;

beforeAll(async () => {
  t = await startApp(
    { SESSION_IDLE_TIMEOUT: '10m', SESSION_ABSOLUTE_LIFETIME: '1h', SESSION_SWEEP_INTERVAL: '1s' },
    { withWorker: true },
  );
  await t.app.get(UsersService).create({ username: 'alice', password: 'alice password' }, SYSTEM);
});
afterAll(() => t.close());

const sessionsOf = (username: string) =>
  t.app
    .get(DataSource)
    .getRepository(IdpSession)
    .find({ where: { user: { username } }, order: { createdAt: 'DESC' } });

describe('idle expiry', () => {
  it('keeps a session that is used, and ends it after SESSION_IDLE_TIMEOUT without use', async () => {
    const browser = new Browser(t.url);
    await browser.login('alice', 'alice password');
    t.clock.advance(6 * MINUTE);
    expect(await browser.signedInAs()).toBe('alice'); // activity at minute 6
    t.clock.advance(9 * MINUTE);
    expect(await browser.signedInAs()).toBe('alice'); // 9 minutes after the last activity
    t.clock.advance(11 * MINUTE);
    expect(await browser.signedInAs()).toBeNull();
    expect(await eventually(async () => (await sessionsOf('alice'))[0].endReason)).toBe('expired_idle');
  });
});

describe('absolute expiry', () => {
  it('ends a session after SESSION_ABSOLUTE_LIFETIME however active it is', async () => {
    const browser = new Browser(t.url);
    await browser.login('alice', 'alice password');
    for (let minute = 8; minute < 60; minute += 8) {
      t.clock.advance(8 * MINUTE);
      expect(await browser.signedInAs()).toBe('alice');
    }
    t.clock.advance(6 * MINUTE); // minute 62
    expect(await browser.signedInAs()).toBeNull();
    expect(await eventually(async () => (await sessionsOf('alice'))[0].endReason)).toBe('expired_absolute');
  });
});

describe('the expiry sweeper', () => {
  it('ends expired sessions nobody comes back to, through the worker', async () => {
    const browser = new Browser(t.url);
    await browser.login('alice', 'alice password');
    const [session] = await sessionsOf('alice');
    expect(session.endedAt).toBeNull();
    t.clock.advance(11 * MINUTE);
    const ended = await eventually(
      async () =>
        await t.app.get(DataSource).getRepository(IdpSession).findOneBy({ id: session.id, endReason: 'expired_idle' }),
    );
    expect(ended).toMatchObject({ endReason: 'expired_idle' });
  });
});
