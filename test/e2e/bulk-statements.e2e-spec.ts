import {
  IdpSession,
  LogoutDelivery,
  LogoutDeliveryPiece,
  oneOf,
  LogoutOperation,
  newId,
  OidcClient,
  OidcSession,
  Provider,
  SamlServiceProvider,
  SYSTEM,
  UsersService,
} from '@signoff/core';
import {
  type AttemptRecord,
  AttemptRecorder,
  entitiesWhereOneOf,
  LEASE_MS,
  LEFT_BEHIND_MS,
  LogoutOperationsService,
  LogoutOrchestrator,
  OutboxPieces,
} from '@signoff/logout';
import { parseSpMetadata, SamlSpsService } from '@signoff/saml';
import type { PlannedDelivery } from '../../libs/logout/src/delivery-plan';
import { insertDeliveries, PIECE_ROWS, ROWS_AT_ONCE } from '../../libs/logout/src/outbox-rows';
import { rowsOf } from '../../libs/logout/src/returning-rows';
import { DataSource, In } from 'typeorm';
import { Browser } from '../support/browser';
import { backchannelClients, liveIdpSession, liveOidcSession } from '../support/seed';
import { startApp, type TestApp } from '../support/test-app';

// The fan-out's statements of many rows, on the database CI runs this suite against (SQLite, then
// PostgreSQL): a logout's outbox rows (PostgreSQL writes 2,500 a statement, each sent while the next
// is built, and a bulk logout's rows past the first ROWS_AT_ONCE as pieces turned into rows after its commit;
// SQLite a bound INSERT per row), and the recorder's group commit (PostgreSQL's one
// statement answers with the records it did NOT write; SQLite's bound UPDATE per record with its count
// of changed rows), and the worker's reads of a batch's applications. No worker runs: the rows stay
// as the test leaves them.
let t: TestApp;
let db: DataSource;
beforeAll(async () => {
  t = await startApp({ BOOTSTRAP_ADMIN_USERNAME: 'root', BOOTSTRAP_ADMIN_PASSWORD: 'root password' });
  db = t.app.get(DataSource);
});
afterAll(() => t.close());

const CLIENTS = 26;
const SESSIONS_PER_CLIENT = 100; // 2,600 rows: on PostgreSQL the first ROWS_AT_ONCE in the transaction, then pieces
const postgres = () => db.options.type === 'postgres';
const onPostgres = /^postgres(ql)?:/.test(process.env.DATABASE_URL ?? '') ? it : it.skip;

/** A user with `perClient` IdP sessions, each at `clients` back-channel clients: their ids. */
async function bulkSessions(
  clients: number,
  perClient: number,
): Promise<{ idpSessionIds: string[]; providerSessionIds: string[]; providerIds: string[] }> {
  const now = t.clock.now();
  const user = await t.app
    .get(UsersService)
    .create({ username: `many${newId().slice(0, 8)}`, password: 'a long password' }, SYSTEM);
  const providerIds = await backchannelClients(t.app, clients, (i) => `http://127.0.0.1:9/bcl/${i}`);
  const idpSessionIds: string[] = [];
  const providerSessionIds: string[] = [];
  for (let s = 0; s < perClient; s++) {
    const idp = await db.getRepository(IdpSession).save(liveIdpSession(user.id, now));
    idpSessionIds.push(idp.id);
    const sessions = providerIds.map((providerId) =>
      liveOidcSession({ idpSessionId: idp.id, providerId, userId: user.id }, now),
    );
    await db.getRepository(OidcSession).insert(sessions);
    providerSessionIds.push(...sessions.map((session) => session.id));
  }
  return { idpSessionIds, providerSessionIds, providerIds };
}

/** A logout of `idpSessionIds` committed by a process that died right after: nothing done after the commit. */
const committedOnly = (idpSessionIds: string[]) =>
  db.transaction((tx) =>
    t.app
      .get(LogoutOrchestrator)
      .endSessionsIn(tx, { trigger: 'api', initiator: SYSTEM, reason: 'admin', idpSessionIds, withBrowser: false }),
  );

const parameter = (n: number) => (postgres() ? `$${n}` : '?');
const deliveriesOf = (
  operationId: string,
): Promise<Array<{ provider_session_id: string; channel: string; status: string }>> =>
  db.query(`SELECT provider_session_id, channel, status FROM logout_deliveries WHERE operation_id = ${parameter(1)}`, [
    operationId,
  ]);
const piecesOf = async (operationId: string): Promise<number> =>
  db.getRepository(LogoutDeliveryPiece).countBy({ operationId });

describe('the outbox', () => {
  it('gets one back-channel row per provider session a large logout ends: on PostgreSQL the first ROWS_AT_ONCE in its transaction, the others in pieces written right after', async () => {
    const { idpSessionIds, providerSessionIds } = await bulkSessions(CLIENTS, SESSIONS_PER_CLIENT);
    const orchestrator = t.app.get(LogoutOrchestrator);

    const operation = await committedOnly(idpSessionIds);

    // What the commit itself wrote.
    const total = CLIENTS * SESSIONS_PER_CLIENT;
    expect(await deliveriesOf(operation.id)).toHaveLength(postgres() ? ROWS_AT_ONCE : total);
    expect(await piecesOf(operation.id)).toBe(postgres() ? Math.ceil((total - ROWS_AT_ONCE) / PIECE_ROWS) : 0);
    // Every session the logout ended, whatever else this suite's database holds.
    const ended = await db.getRepository(OidcSession).countBy({ idpSessionId: In(idpSessionIds), state: 'ended' });
    expect(ended).toBe(providerSessionIds.length);

    orchestrator.afterCommit(operation);
    await t.app.get(OutboxPieces).idle();

    const rows = await deliveriesOf(operation.id);
    expect(rows).toHaveLength(total);
    expect(new Set(rows.map((row) => row.provider_session_id))).toEqual(new Set(providerSessionIds));
    expect(new Set(rows.map((row) => `${row.channel} ${row.status}`))).toEqual(new Set(['backchannel_oidc queued']));
    expect(await piecesOf(operation.id)).toBe(0);

    // Once every row ends, the operation settles: nothing of it is left to write.
    await db.query(
      `UPDATE logout_deliveries SET status = 'succeeded', completed_at = ${parameter(1)} WHERE operation_id = ${parameter(2)}`,
      [t.clock.now().getTime(), operation.id],
    );
    await t.app.get(LogoutOperationsService).settle(operation.id);
    expect(await db.getRepository(LogoutOperation).findOneByOrFail({ id: operation.id })).toMatchObject({
      outcome: 'complete',
    });
  });
});

describe("a bulk logout's pieces (PostgreSQL)", () => {
  onPostgres(
    'are written by the worker when the process that committed the logout died first, and the operation is not over until they are',
    async () => {
      const { idpSessionIds, providerSessionIds } = await bulkSessions(12, 100); // 1,200: the first ROWS_AT_ONCE, then a piece
      const operation = await committedOnly(idpSessionIds);
      const pieces = t.app.get(OutboxPieces);
      // Every row written so far ends: the operation still has a piece to write, so it is not over.
      await db.query(`UPDATE logout_deliveries SET status = 'succeeded', completed_at = $2 WHERE operation_id = $1`, [
        operation.id,
        t.clock.now().getTime(),
      ]);
      await t.app.get(LogoutOperationsService).settle(operation.id);
      expect((await db.getRepository(LogoutOperation).findOneByOrFail({ id: operation.id })).completedAt).toBeNull();

      // Too young: its own process may still be writing it.
      expect(await pieces.unpackLeftBehind()).toBe(0);
      const operations = t.app.get(LogoutOperationsService);
      expect(await operations.get(operation.id)).toMatchObject({ writing: true, deliveries: { length: ROWS_AT_ONCE } });
      expect(await operations.overview(operation.id)).toMatchObject({
        writing: true,
        deliveryCounts: { succeeded: ROWS_AT_ONCE },
      });
      // The console's page says its counts are not whole yet, and stops saying so once they are.
      const admin = new Browser(t.url);
      await admin.login('root', 'root password');
      const page = async () => (await admin.get(`/admin/logouts/${operation.id}`)).text;
      const writingPage = await page();
      expect(writingPage).toContain('id="deliveries-writing"');
      expect(writingPage).toContain(`id="delivery-counts">${ROWS_AT_ONCE} deliveries: ${ROWS_AT_ONCE} confirmed`);
      t.clock.advance(LEFT_BEHIND_MS + 1);
      expect(await pieces.unpackLeftBehind()).toBe(1);
      expect(await operations.get(operation.id)).toMatchObject({ writing: false, deliveries: { length: 1200 } });
      const writtenPage = await page();
      expect(writtenPage).not.toContain('id="deliveries-writing"');
      expect(writtenPage).toContain(`id="delivery-counts">1200 deliveries: ${ROWS_AT_ONCE} confirmed`);

      const rows = await deliveriesOf(operation.id);
      expect(rows).toHaveLength(1200);
      expect(new Set(rows.map((row) => row.provider_session_id))).toEqual(new Set(providerSessionIds));
      expect(rows.filter((row) => row.status === 'queued')).toHaveLength(1200 - ROWS_AT_ONCE); // the piece's
      expect(await piecesOf(operation.id)).toBe(0);
    },
  );

  onPostgres('are written once when two processes write the same piece at once', async () => {
    const { idpSessionIds } = await bulkSessions(15, 100); // 1,500: ROWS_AT_ONCE, then pieces
    const operation = await committedOnly(idpSessionIds);
    const pieces = t.app.get(OutboxPieces);
    // Both writers wait on the piece's row, held by a third transaction, then go at once.
    const holder = db.createQueryRunner();
    await holder.startTransaction();
    await holder.query(`SELECT 1 FROM logout_delivery_pieces WHERE operation_id = $1 FOR UPDATE`, [operation.id]);
    const both = Promise.all([pieces.unpack(operation.id, 0), pieces.unpack(operation.id, 0)]);
    const waiting = async (): Promise<number> =>
      Number(
        (
          await db.query(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%logout_delivery_pieces%' AND datname = current_database()`,
          )
        )[0].n,
      );
    while ((await waiting()) < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    await holder.commitTransaction();
    await holder.release();

    const written = await both;

    const first = Math.min(1500 - ROWS_AT_ONCE, PIECE_ROWS);
    expect([...written].sort((a, b) => a - b)).toEqual([0, first]);
    expect(await deliveriesOf(operation.id)).toHaveLength(ROWS_AT_ONCE + first);
    await db.getRepository(LogoutDeliveryPiece).delete({ operationId: operation.id }); // the next tests' passes see none
  });

  onPostgres('go on with the others when the database refuses one, and leave that one for the next pass', async () => {
    const { idpSessionIds } = await bulkSessions(12, 100); // 1,200: ROWS_AT_ONCE, then one piece
    const operation = await committedOnly(idpSessionIds);
    const broken = await openOperation();
    await db.getRepository(LogoutDeliveryPiece).insert({
      operationId: broken.operationId,
      piece: 0,
      // A row with no channel or status: the outbox's NOT NULL columns refuse it.
      rows: JSON.stringify([{ i: newId(), p: broken.providerId }]),
      attempts: 0,
      attemptLog: '[]',
      createdAt: broken.now,
      updatedAt: broken.now,
    });
    t.clock.advance(LEFT_BEHIND_MS + 1);

    expect(await t.app.get(OutboxPieces).unpackLeftBehind()).toBe(1);

    expect(await deliveriesOf(operation.id)).toHaveLength(1200);
    expect(await piecesOf(broken.operationId)).toBe(1);
    await t.app.get(LogoutOperationsService).settle(broken.operationId);
    expect(
      (await db.getRepository(LogoutOperation).findOneByOrFail({ id: broken.operationId })).completedAt,
    ).toBeNull();
    await db.getRepository(LogoutDeliveryPiece).delete({ operationId: broken.operationId });
  });

  onPostgres(
    'leave out the row of a provider session deleted after the logout, as its deletion would have',
    async () => {
      const { idpSessionIds } = await bulkSessions(11, 100); // 1,100: ROWS_AT_ONCE, then one piece
      const operation = await committedOnly(idpSessionIds);
      const piece = await db
        .getRepository(LogoutDeliveryPiece)
        .findOneByOrFail({ operationId: operation.id, piece: 0 });
      const [gone, ...kept] = (JSON.parse(piece.rows) as Array<{ s: string }>).map((row) => row.s);
      await db.query(`DELETE FROM provider_sessions WHERE id = $1`, [gone]);

      expect(await t.app.get(OutboxPieces).unpack(operation.id, 0)).toBe(1100 - ROWS_AT_ONCE - 1);

      const rows = await deliveriesOf(operation.id);
      expect(rows).toHaveLength(1099);
      expect(rows.map((row) => row.provider_session_id)).toEqual(expect.arrayContaining(kept));
      expect(rows.map((row) => row.provider_session_id)).not.toContain(gone);
      expect(await piecesOf(operation.id)).toBe(0);
    },
  );
});

/**
 * A fresh user with one IdP session, one back-channel client, and an operation about that session
 * (no deliveries yet): what an outbox row refers to.
 */
async function openOperation(): Promise<{
  now: Date;
  userId: string;
  providerId: string;
  idpSessionId: string;
  operationId: string;
}> {
  const now = t.clock.now();
  const user = await t.app
    .get(UsersService)
    .create({ username: `u${newId().slice(0, 8)}`, password: 'a long password' }, SYSTEM);
  const [providerId] = await backchannelClients(t.app, 1, () => 'http://127.0.0.1:9/bcl');
  const idp = await db.getRepository(IdpSession).save(liveIdpSession(user.id, now));
  const operationId = newId();
  await db.getRepository(LogoutOperation).insert({
    id: operationId,
    trigger: 'api',
    initiatorType: 'system',
    initiatorId: null,
    initiatingProviderId: null,
    idpSessionIds: [idp.id],
    createdAt: now,
    completedAt: null,
    outcome: null,
  });
  return { now, userId: user.id, providerId, idpSessionId: idp.id, operationId };
}

/** An outbox row as a logout plans it (a back-channel one, pending, no attempt yet), `fields` over it. */
function plannedRow(
  of: Pick<PlannedDelivery, 'operationId' | 'providerSessionId' | 'providerId' | 'createdAt'>,
  fields: Partial<PlannedDelivery> = {},
): PlannedDelivery {
  return {
    id: newId(),
    ...of,
    channel: 'backchannel_oidc',
    status: 'pending',
    attempts: 0,
    nextAttemptAt: null,
    leaseUntil: null,
    lastHttpStatus: null,
    lastError: null,
    attemptLog: [],
    messageId: null,
    event: null,
    updatedAt: of.createdAt,
    completedAt: null,
    ...fields,
  };
}

describe('insertDeliveries', () => {
  it('writes each planned row as it was planned, whatever it holds: a lease, a reason, an event, another instant (on PostgreSQL through pieces too)', async () => {
    const { now, userId, providerId, idpSessionId, operationId } = await openOperation();
    const later = new Date(now.getTime() + 1000);
    const sessions = [0, 1, 2].map(() => liveOidcSession({ idpSessionId, providerId, userId }, now));
    await db.getRepository(OidcSession).insert(sessions);
    const row = (fields: Partial<PlannedDelivery>) =>
      plannedRow({ operationId, providerSessionId: sessions[0].id, providerId, createdAt: now }, fields);
    // ROWS_AT_ONCE back-channel rows first: on PostgreSQL the back-channel rows below go in pieces.
    const filler = Array.from({ length: ROWS_AT_ONCE }, () =>
      liveOidcSession({ idpSessionId, providerId, userId }, now),
    );
    for (let start = 0; start < filler.length; start += 250)
      await db.getRepository(OidcSession).insert(filler.slice(start, start + 250));
    const planned = [
      ...filler.map((session) => row({ providerSessionId: session.id })),
      row({ status: 'queued', leaseUntil: new Date(now.getTime() + 60_000) }),
      row({
        channel: 'frontchannel_oidc',
        status: 'skipped',
        lastError: 'no browser: "quoted", \\ and é ✓ 🙂',
        completedAt: now,
      }),
      row({
        providerSessionId: null,
        channel: 'ssf_push',
        event: {
          iat: 1,
          txn: operationId,
          sub_id: { format: 'opaque', id: 'a "b" \\ é' },
          events: { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': { reason: 'x' } },
        },
      }),
      // Rows that share less with the others (planned at another instant, an attempt already, a log, a
      // retry's time and answer): a statement of their own on PostgreSQL, every value still written.
      row({
        providerSessionId: sessions[1].id,
        attempts: 2,
        createdAt: later,
        updatedAt: later,
        nextAttemptAt: later,
        lastHttpStatus: 503,
        messageId: 'jti-1',
        attemptLog: [
          { at: now.toISOString(), ms: 4, httpStatus: 503, result: 'queued', error: 'HTTP 503', messageId: 'jti-1' },
        ],
      }),
      row({ providerSessionId: sessions[2].id, channel: 'frontchannel_saml_iframe', status: 'pending' }),
    ];

    const { pieces } = await db.transaction((tx) => insertDeliveries(tx, planned));
    // The queued row and the event in a piece; the row planned at another instant in one of its own.
    expect(pieces).toBe(postgres() ? 2 : 0);
    for (let piece = 0; piece < pieces; piece++) await t.app.get(OutboxPieces).unpack(operationId, piece);

    const written = await db.getRepository(LogoutDelivery).findBy({ operationId });
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect(written.sort(byId)).toEqual([...planned].sort(byId));
    // The JSON columns' text as stored: what JSON.stringify writes (the entities above are parsed back).
    const stored: Array<{ id: string; attempt_log: string; event: string | null }> = await db.query(
      `SELECT id, attempt_log, event FROM logout_deliveries WHERE operation_id = ${db.options.type === 'postgres' ? '$1' : '?'}`,
      [operationId],
    );
    expect(stored.sort(byId)).toEqual(
      [...planned].sort(byId).map((row) => ({
        id: row.id,
        attempt_log: JSON.stringify(row.attemptLog),
        event: row.event && JSON.stringify(row.event),
      })),
    );
  });
});

/** `count` deliveries claimed for their first attempt (status sending, attempts 1), of one operation. */
async function claimedDeliveries(count: number): Promise<{ operationId: string; ids: string[] }> {
  const { now, userId, providerId, idpSessionId, operationId } = await openOperation();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const session = liveOidcSession({ idpSessionId, providerId, userId }, now);
    await db.getRepository(OidcSession).insert(session);
    const row = plannedRow(
      { operationId, providerSessionId: session.id, providerId, createdAt: now },
      { status: 'sending', attempts: 1, leaseUntil: new Date(now.getTime() + 60_000) },
    );
    ids.push(row.id);
    await db.getRepository(LogoutDelivery).insert({ ...row, event: null });
  }
  return { operationId, ids };
}

const succeeded = (deliveryId: string, operationId: string, attempt: number): AttemptRecord => ({
  deliveryId,
  operationId,
  channel: 'backchannel_oidc',
  attempt,
  log: [],
  entries: [
    {
      at: t.clock.now().toISOString(),
      ms: 3,
      httpStatus: 200,
      result: 'succeeded',
      error: null,
      messageId: `jti-${attempt}`,
    },
  ],
  status: 'succeeded',
  httpStatus: 200,
  error: null,
  messageId: `jti-${attempt}`,
  retryInMs: 0,
});

describe('AttemptRecorder', () => {
  it("writes the records whose rows are still their attempt's, in one commit, and says which it wrote", async () => {
    const { operationId, ids } = await claimedDeliveries(3);
    // The third row was claimed again meanwhile (its lease ran out): attempt 1's result is stale.
    await db.getRepository(LogoutDelivery).update({ id: ids[2] }, { attempts: 2 });
    const recorder = t.app.get(AttemptRecorder);
    const recorded = Promise.all(ids.map((id) => recorder.record(succeeded(id, operationId, 1))));
    recorder.flushNow();
    expect(await recorded).toEqual([true, true, false]);

    const rows = await db.getRepository(LogoutDelivery).findBy({ operationId });
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const id of ids.slice(0, 2))
      expect(byId.get(id)).toMatchObject({ status: 'succeeded', messageId: 'jti-1', completedAt: expect.any(Date) });
    expect(byId.get(ids[0])!.attemptLog).toHaveLength(1);
    // The stale record left the row as the new claim had it.
    expect(byId.get(ids[2])).toMatchObject({ status: 'sending', attempts: 2, attemptLog: [], completedAt: null });
  });

  it('writes every field of a retry: its status, answer and error, when it is tried again, its lease, the log after what it held', async () => {
    const { operationId, ids } = await claimedDeliveries(1);
    const before = { ...succeeded(ids[0], operationId, 0).entries[0], result: 'queued' as const, messageId: 'jti-0' };
    await db.getRepository(LogoutDelivery).update({ id: ids[0] }, { attemptLog: [before] });
    const recorder = t.app.get(AttemptRecorder);
    const retry: AttemptRecord = {
      ...succeeded(ids[0], operationId, 1),
      log: [before],
      status: 'queued',
      httpStatus: 503,
      error: 'HTTP 503: indisponible — réessayez',
      retryInMs: 1500,
    };
    const from = t.clock.now().getTime();
    const recorded = recorder.record(retry);
    recorder.flushNow();
    expect(await recorded).toBe(true);
    const to = t.clock.now().getTime();

    const row = (await db.getRepository(LogoutDelivery).findOneBy({ id: ids[0] }))!;
    expect(row).toMatchObject({
      status: 'queued',
      attempts: 1,
      lastHttpStatus: 503,
      lastError: 'HTTP 503: indisponible — réessayez',
      messageId: 'jti-1',
      completedAt: null,
    });
    // Written at the commit's instant: the retry due 1.5 s after it, the lease LEASE_MS after that.
    const writtenAt = row.updatedAt.getTime();
    expect(writtenAt).toBeGreaterThanOrEqual(from);
    expect(writtenAt).toBeLessThanOrEqual(to);
    expect(row.nextAttemptAt!.getTime() - writtenAt).toBe(1500);
    expect(row.leaseUntil!.getTime() - row.nextAttemptAt!.getTime()).toBe(LEASE_MS);
    expect(row.attemptLog).toEqual([before, ...retry.entries]);
  });

  it('says none was written when no row is still its attempt’s', async () => {
    const { operationId, ids } = await claimedDeliveries(2);
    await db.getRepository(LogoutDelivery).update({ operationId }, { status: 'pending', attempts: 0 });
    const recorder = t.app.get(AttemptRecorder);
    const recorded = Promise.all(ids.map((id) => recorder.record(succeeded(id, operationId, 1))));
    recorder.flushNow();
    expect(await recorded).toEqual([false, false]);
    expect((await db.getRepository(LogoutDelivery).findBy({ operationId })).map((row) => row.status)).toEqual([
      'pending',
      'pending',
    ]);
  });
  it('fails at once on records the database refuses (NOT NULL), where a database away is waited for (~16 s)', async () => {
    const { operationId, ids } = await claimedDeliveries(1);
    const recorder = t.app.get(AttemptRecorder);
    const started = performance.now();
    const recorded = recorder.record({ ...succeeded(ids[0], operationId, 1), status: null as unknown as 'succeeded' });
    recorder.flushNow();
    const refusal = await recorded.then(
      () => 'written',
      (error: Error) => error.message,
    );
    expect(refusal).toMatch(/NOT NULL|null value/i);
    // Not tried again: the first retry alone would come 250 ms later, the last after ~16 s in all.
    expect(performance.now() - started).toBeLessThan(250);
    expect(await db.getRepository(LogoutDelivery).findOneByOrFail({ id: ids[0] })).toMatchObject({
      status: 'sending',
      attempts: 1,
    });
  });
});

describe('entitiesWhereOneOf (a batch’s applications, read raw)', () => {
  const spMetadata = (i: number) =>
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp${i}.lean.test/metadata">` +
    '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' +
    `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="https://sp${i}.lean.test/slo"/>` +
    `<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp${i}.lean.test/acs" index="0"/>` +
    '</md:SPSSODescriptor></md:EntityDescriptor>';
  const byId = <T>(rows: T[], id: (row: T) => string) => [...rows].sort((a, b) => id(a).localeCompare(id(b)));

  it('gives the entities a repository gives, for providers, OIDC clients and SAML SPs, and none for an unknown id', async () => {
    const oidc = await backchannelClients(t.app, 2, (i) => `http://127.0.0.1:9/lean/${i}`);
    const saml: string[] = [];
    for (const i of [1, 2])
      saml.push((await t.app.get(SamlSpsService).import(parseSpMetadata(spMetadata(i)), {}, SYSTEM)).providerId);
    const unknown = newId();

    const providers = await entitiesWhereOneOf(db, Provider, 'id', [...oidc, ...saml, unknown]);
    expect(providers).toHaveLength(4);
    expect(byId(providers, (row) => row.id)).toEqual(
      byId(await db.getRepository(Provider).findBy({ id: In([...oidc, ...saml]) }), (row) => row.id),
    );
    const clients = await entitiesWhereOneOf(db, OidcClient, 'provider_id', [...oidc, unknown]);
    expect(clients).toHaveLength(2);
    expect(byId(clients, (row) => row.providerId)).toEqual(
      byId(await db.getRepository(OidcClient).findBy({ providerId: In(oidc) }), (row) => row.providerId),
    );
    // Entities of their class, with their columns as TypeORM converts them (arrays, booleans, instants).
    expect(clients[0]).toBeInstanceOf(OidcClient);
    expect(clients[0].redirectUris).toEqual(['http://127.0.0.1:9/cb']);
    const sps = await entitiesWhereOneOf(db, SamlServiceProvider, 'provider_id', saml);
    expect(sps).toHaveLength(2);
    expect(byId(sps, (row) => row.providerId)).toEqual(
      byId(await db.getRepository(SamlServiceProvider).findBy({ providerId: In(saml) }), (row) => row.providerId),
    );
    expect(await entitiesWhereOneOf(db, Provider, 'id', [])).toEqual([]);
  });

  it('keeps answering after a migration adds a column (its prepared statement names its columns)', async () => {
    const [providerId] = await backchannelClients(t.app, 1, () => 'http://127.0.0.1:9/lean/added');
    const read = () => entitiesWhereOneOf(db, OidcClient, 'provider_id', [providerId]);
    // Control: the same read as a named `SELECT *`, prepared before the column comes.
    const star = () =>
      rowsOf(
        db,
        `SELECT * FROM oidc_clients WHERE ${oneOf(db.manager, 'provider_id', [providerId], 1)[0]}`,
        [oneOf(db.manager, 'provider_id', [providerId], 1)[1]],
        { name: 'test_oidc_clients_star' },
      );
    // Sequential reads take the pool's same idle connection: the statements are prepared on it.
    for (let i = 0; i < 3; i++) {
      expect(await read()).toHaveLength(1);
      expect(await star()).toHaveLength(1);
    }
    await db.query('ALTER TABLE oidc_clients ADD COLUMN added_later integer');
    try {
      for (let i = 0; i < 3; i++) expect(await read()).toHaveLength(1);
      const starred = star().then(
        () => 'answered',
        (error: Error) => error.message,
      );
      // SQLite prepares a statement again when the schema changed; PostgreSQL refuses the plan it kept.
      if (db.options.type === 'postgres') expect(await starred).toMatch(/cached plan must not change result type/);
      else expect(await starred).toBe('answered');
    } finally {
      await db.query('ALTER TABLE oidc_clients DROP COLUMN added_later');
    }
  });
});
