import { IdpSession, LogoutDelivery, OidcSession, SYSTEM, UsersService } from '@signoff/core';
import { type EndSessionsRequest, LogoutOrchestrator } from '@signoff/logout';
import { DataSource, In } from 'typeorm';
import { backchannelClients, liveIdpSession, liveOidcSession } from '../support/seed';
import { startApp, type TestApp } from '../support/test-app';

// Two logouts of the same sessions at once (a user's second click, an application's logout while an
// administrator deactivates the user), on the database CI runs this suite against: each session is
// ended once and its applications told once; neither request fails. No worker runs: the rows stay.
let t: TestApp;
let db: DataSource;
beforeAll(async () => {
  t = await startApp();
  db = t.app.get(DataSource);
});
afterAll(() => t.close());

const CLIENTS = 5;

async function liveSessions(idpSessions: number): Promise<{ idpSessionIds: string[]; providerSessionIds: string[] }> {
  const now = t.clock.now();
  const user = await t.app
    .get(UsersService)
    .create({ username: `u${Math.random().toString(36).slice(2, 10)}`, password: 'a long password' }, SYSTEM);
  const providerIds = await backchannelClients(t.app, CLIENTS, (i) => `http://127.0.0.1:9/bcl/${i}`);
  const idpSessionIds: string[] = [];
  const providerSessionIds: string[] = [];
  for (let s = 0; s < idpSessions; s++) {
    const idp = await db.getRepository(IdpSession).save(liveIdpSession(user.id, now));
    idpSessionIds.push(idp.id);
    for (const providerId of providerIds) {
      const session = liveOidcSession({ idpSessionId: idp.id, providerId, userId: user.id }, now);
      await db.getRepository(OidcSession).insert(session);
      providerSessionIds.push(session.id);
    }
  }
  return { idpSessionIds, providerSessionIds };
}

const deliveriesTo = (providerSessionIds: string[]) =>
  db.getRepository(LogoutDelivery).countBy({ providerSessionId: In(providerSessionIds) });

/**
 * Two logouts of `providerSessionIds` at once, asked for with `which` (full logouts of their IdP
 * sessions, or those provider sessions alone): both must answer, each session ended and told once.
 */
async function twoAtOnce(
  which: Pick<EndSessionsRequest, 'idpSessionIds' | 'providerSessionIds'>,
  providerSessionIds: string[],
): Promise<void> {
  const orchestrator = t.app.get(LogoutOrchestrator);
  const logout = () =>
    orchestrator.endSessions({ trigger: 'api', initiator: SYSTEM, reason: 'admin', withBrowser: false, ...which });
  const results = await Promise.allSettled([logout(), logout()]);
  expect(results.map((result) => (result.status === 'rejected' ? String(result.reason) : 'fulfilled'))).toEqual([
    'fulfilled',
    'fulfilled',
  ]);
  expect(await deliveriesTo(providerSessionIds)).toBe(providerSessionIds.length);
  expect(await db.getRepository(OidcSession).countBy({ id: In(providerSessionIds), state: 'ended' })).toBe(
    providerSessionIds.length,
  );
}

describe('two logouts of the same sessions at once', () => {
  it('both answer, and each application is told once per session (full logouts)', async () => {
    const { idpSessionIds, providerSessionIds } = await liveSessions(20);
    await twoAtOnce({ idpSessionIds }, providerSessionIds);
  });

  it('both answer, and each application is told once per session (one application’s sessions)', async () => {
    const { providerSessionIds } = await liveSessions(20);
    await twoAtOnce({ providerSessionIds }, providerSessionIds);
  });
});
