import { IdpSession, OidcSession, SYSTEM, UsersService } from '@signoff/core';
import { LogoutOrchestrator } from '@signoff/logout';
import { OidcClientsService } from '@signoff/oidc';
import { DataSource } from 'typeorm';
import { liveIdpSession, liveOidcSession } from '../support/seed';
import { startApp, type TestApp } from '../support/test-app';

// A logout's outbox rows on the database CI runs this suite against (SQLite, then PostgreSQL, which
// writes them in pieces of 2,500, each sent while the next is built): every provider session the
// logout ends gets its one row, in the transaction that ends it. No worker runs: the rows stay queued.
let t: TestApp;
let db: DataSource;
beforeAll(async () => {
  t = await startApp();
  db = t.app.get(DataSource);
});
afterAll(() => t.close());

const CLIENTS = 26;
const SESSIONS_PER_CLIENT = 100; // 2,600 rows: two pieces on PostgreSQL

it('writes one back-channel row per provider session a large logout ends (more rows than one INSERT takes)', async () => {
  const now = t.clock.now();
  const user = await t.app.get(UsersService).create({ username: 'many', password: 'a long password' }, SYSTEM);
  const clients = t.app.get(OidcClientsService);
  const providerIds: string[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const { client } = await clients.register(
      clients.parse({
        redirect_uris: ['http://127.0.0.1:9/cb'],
        backchannel_logout_uri: `http://127.0.0.1:9/bcl/${i}`,
      }),
      {},
      SYSTEM,
    );
    providerIds.push(client.providerId);
  }
  const idpSessionIds: string[] = [];
  const providerSessionIds: string[] = [];
  for (let s = 0; s < SESSIONS_PER_CLIENT; s++) {
    const idp = await db.getRepository(IdpSession).save(liveIdpSession(user.id, now));
    idpSessionIds.push(idp.id);
    const sessions = providerIds.map((providerId) =>
      liveOidcSession({ idpSessionId: idp.id, providerId, userId: user.id }, now),
    );
    await db.getRepository(OidcSession).insert(sessions);
    providerSessionIds.push(...sessions.map((session) => session.id));
  }

  const operation = await t.app
    .get(LogoutOrchestrator)
    .endSessions({ trigger: 'api', initiator: SYSTEM, reason: 'admin', idpSessionIds, withBrowser: false });

  const rows: Array<{ provider_session_id: string; channel: string; status: string }> = await db.query(
    `SELECT provider_session_id, channel, status FROM logout_deliveries WHERE operation_id = ${db.options.type === 'postgres' ? '$1' : '?'}`,
    [operation.id],
  );
  expect(rows).toHaveLength(CLIENTS * SESSIONS_PER_CLIENT);
  expect(new Set(rows.map((row) => row.provider_session_id))).toEqual(new Set(providerSessionIds));
  expect(new Set(rows.map((row) => `${row.channel} ${row.status}`))).toEqual(new Set(['backchannel_oidc queued']));
  const live = await db.getRepository(OidcSession).countBy({ state: 'active' });
  expect(live).toBe(0);
});
