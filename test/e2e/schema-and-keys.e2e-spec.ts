import { Logger } from '@nestjs/common';
import {
  ANSWERED_ROW,
  Clock,
  IdpSession,
  KeysService,
  LogoutDelivery,
  LogoutOperation,
  loadConfig,
  newId,
  OidcClient,
  openDatabase,
  Provider,
  SamlServiceProvider,
  SamlSession,
  SigningKey,
  User,
} from '@signoff/core';
import { compactVerify, CompactSign, importJWK } from 'jose';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DataSource, In } from 'typeorm';
import { ANSWERED_ROW_1765200000000 } from '../../libs/core/src/migrations/1765200000000-answered-message-index';
import { testDatabaseUrl } from '../support/databases';
import { liveIdpSession, liveSamlSession, plainUser } from '../support/seed';

let db: DataSource;
let keys: KeysService;
let dataDir: string;
let drop: () => Promise<void>;

beforeAll(async () => {
  Logger.overrideLogger(false);
  dataDir = mkdtempSync(join(tmpdir(), 'signoff-schema-'));
  const database = await testDatabaseUrl(dataDir);
  drop = database.drop;
  const config = loadConfig({ DATA_DIR: dataDir, DATABASE_URL: database.url });
  db = await openDatabase(config);
  keys = new KeysService(db, new Clock(), config);
});
afterAll(async () => {
  await db.destroy();
  await drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('migrations', () => {
  it('build exactly the schema the entities describe', async () => {
    const pending = await db.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('run again as a no-op', async () => {
    expect(await db.runMigrations()).toEqual([]);
  });

  it('make tombstones of applications deleted before deletion released their identifiers', async () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const provider = (id: string, slug: string, protocol: 'oidc' | 'saml', deletedAt: Date | null) =>
      db.getRepository(Provider).save({
        id,
        slug,
        name: slug,
        protocol,
        enabled: !deletedAt,
        invalidationFlowId: null,
        createdAt: at,
        updatedAt: at,
        deletedAt,
      });
    const client = (providerId: string, clientId: string) =>
      db.getRepository(OidcClient).save({
        providerId,
        clientId,
        clientSecretHash: 'f'.repeat(64),
        grantTypes: ['authorization_code'],
        redirectUris: ['https://rp.example/cb'],
        postLogoutRedirectUris: [],
        originalClientId: null,
      });
    const sp = (providerId: string, entityId: string) =>
      db.getRepository(SamlServiceProvider).save({
        providerId,
        entityId,
        acsEndpoints: [],
        slsEndpoints: [],
        certificates: [],
      });
    const ids = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
    const [deletedClient, deletedSp] = ids;
    const liveClient = '33333333-3333-4333-8333-333333333333';
    const longSlug = 'a-slug-longer-than-what-a-tombstone-keeps-of-it';
    await provider(deletedClient, longSlug, 'oidc', at);
    await client(deletedClient, 'c'.repeat(128));
    await provider(deletedSp, 'old-sp', 'saml', at);
    await sp(deletedSp, 'https://sp.example/metadata');
    await provider(liveClient, 'live', 'oidc', null);
    await client(liveClient, 'live-client');

    // As if these rows had been there before the migration: down, then up again.
    await downThenUp('ProviderTombstones1764600000000');

    const providers = db.getRepository(Provider);
    expect(await providers.findOneBy({ id: deletedClient })).toMatchObject({
      slug: `${longSlug.slice(0, 19)}~deleted~${deletedClient}`,
      enabled: false,
    });
    expect(await db.getRepository(OidcClient).findOneBy({ providerId: deletedClient })).toMatchObject({
      clientId: `${'c'.repeat(83)}~deleted~${deletedClient}`,
      originalClientId: 'c'.repeat(128),
      clientSecretHash: null,
    });
    expect((await providers.findOneBy({ id: deletedSp }))!.slug).toBe(`old-sp~deleted~${deletedSp}`);
    expect((await db.getRepository(SamlServiceProvider).findOneBy({ providerId: deletedSp }))!.entityId).toBe(
      `https://sp.example/metadata~deleted~${deletedSp}`,
    );
    // A live application is left as it was.
    expect(await providers.findOneBy({ id: liveClient })).toMatchObject({ slug: 'live', enabled: true });
    expect(await db.getRepository(OidcClient).findOneBy({ providerId: liveClient })).toMatchObject({
      clientId: 'live-client',
      originalClientId: null,
      clientSecretHash: 'f'.repeat(64),
    });
    expect((await db.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
    await providers.delete({ id: In([...ids, liveClient]) });
  });
});

describe('the Shared Signals migration', () => {
  it("keeps every delivery's provider session, and its unique index, when it makes the column nullable (down, then up)", async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const user = await db.getRepository(User).save(plainUser(`u${Date.now()}`, now));
    const idpSession = await db.getRepository(IdpSession).save(liveIdpSession(user.id, now));
    const provider = await db.getRepository(Provider).save({
      id: newId(),
      slug: `sp-${Date.now()}`,
      name: 'sp',
      protocol: 'saml',
      enabled: true,
      invalidationFlowId: null,
      createdAt: now,
      updatedAt: now,
      deletedAt: null,
    });
    const session = await db
      .getRepository(SamlSession)
      .save(
        liveSamlSession(
          { idpSessionId: idpSession.id, providerId: provider.id, userId: user.id },
          { idp: 'i', sp: 's' },
          now,
        ),
      );
    const operationId = newId();
    await db.query(
      `INSERT INTO logout_operations (id, trigger, initiator_type, initiator_id, initiating_provider_id, idp_session_ids, created_at)
       VALUES (${placeholders(db, 7)})`,
      [operationId, 'api', 'admin', null, null, '[]', now.getTime()],
    );
    const deliveryId = newId();
    await db.query(
      `INSERT INTO logout_deliveries (id, operation_id, provider_session_id, provider_id, channel, status, attempts, attempt_log, created_at, updated_at)
       VALUES (${placeholders(db, 10)})`,
      [
        deliveryId,
        operationId,
        session.id,
        provider.id,
        'backchannel_saml',
        'succeeded',
        1,
        '[]',
        now.getTime(),
        now.getTime(),
      ],
    );

    await downThenUp('SharedSignals1764900000000');

    const [row] = await db.query(
      `SELECT provider_session_id FROM logout_deliveries WHERE id = ${placeholders(db, 1)}`,
      [deliveryId],
    );
    expect(row.provider_session_id).toBe(session.id);
    // The unique (provider session, channel) index is still there: a second row for the same pair is refused.
    await expect(
      db.query(
        `INSERT INTO logout_deliveries (id, operation_id, provider_session_id, provider_id, channel, status, attempts, attempt_log, created_at, updated_at)
         VALUES (${placeholders(db, 10)})`,
        [
          newId(),
          operationId,
          session.id,
          provider.id,
          'backchannel_saml',
          'pending',
          0,
          '[]',
          now.getTime(),
          now.getTime(),
        ],
      ),
    ).rejects.toThrow();
    expect((await db.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
    await db.getRepository(Provider).delete({ id: provider.id });
    await db.getRepository(User).delete({ id: user.id });
  });
});

describe('the delivery-indexes migration', () => {
  it('makes an open delivery carrying a completed_at open by both measures, so the relay still finds it (down, then up)', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const provider = await db.getRepository(Provider).save({
      id: newId(),
      slug: `ssf-${Date.now()}`,
      name: 'receiver',
      protocol: 'ssf',
      enabled: true,
      invalidationFlowId: null,
      createdAt: now,
      updatedAt: now,
      deletedAt: null,
    });
    const operationId = newId();
    await db.query(
      `INSERT INTO logout_operations (id, trigger, initiator_type, initiator_id, initiating_provider_id, idp_session_ids, created_at)
       VALUES (${placeholders(db, 7)})`,
      [operationId, 'api', 'admin', null, null, '[]', now.getTime()],
    );
    const row = (id: string, status: string) => [
      id,
      operationId,
      provider.id,
      'ssf_push',
      status,
      '[]',
      now.getTime(),
      now.getTime(),
      now.getTime(),
    ];
    const [open, done] = [newId(), newId()];
    for (const values of [row(open, 'queued'), row(done, 'succeeded')])
      await db.query(
        `INSERT INTO logout_deliveries (id, operation_id, provider_id, channel, status, attempt_log, created_at, updated_at, completed_at)
         VALUES (${placeholders(db, 9)})`,
        values,
      );
    await downThenUp('DeliveryIndexes1765000000000');
    const completedAt = async (id: string) =>
      (await db.getRepository(LogoutDelivery).findOneByOrFail({ id })).completedAt;
    expect(await completedAt(open)).toBeNull();
    expect(await completedAt(done)).toEqual(now);
    expect((await db.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
    await db.getRepository(LogoutOperation).delete({ id: operationId });
    await db.getRepository(Provider).delete({ id: provider.id });
  });
});

describe('the answered-message index migration', () => {
  /** The indexes on logout_deliveries.message_id, as the database has them. */
  async function onMessageId() {
    const runner = db.createQueryRunner();
    try {
      return (await runner.getTable('logout_deliveries'))!.indices.filter(
        (index) => index.columnNames.join() === 'message_id',
      );
    } finally {
      await runner.release();
    }
  }

  it("writes the entity's condition, as it was when the migration was written", () => {
    expect(ANSWERED_ROW_1765200000000).toBe(ANSWERED_ROW);
  });

  it('indexes message_id of the answered channels only, and down puts the whole column back', async () => {
    expect((await onMessageId()).map((index) => index.where)).toEqual([expect.stringMatching(/frontchannel_saml/)]);
    const migration = db.migrations.find((candidate) => candidate.name === 'AnsweredMessageIndex1765200000000')!;
    const runner = db.createQueryRunner();
    try {
      await migration.down(runner);
      expect((await onMessageId()).map((index) => index.where || null)).toEqual([null]);
      await migration.up(runner);
    } finally {
      await runner.release();
    }
    expect((await onMessageId()).map((index) => index.where)).toEqual([expect.stringMatching(/frontchannel_saml/)]);
    expect((await db.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
  });
});

describe('the tables a logout updates in place (PostgreSQL)', () => {
  // A logout ends its sessions and a worker claims its deliveries without changing an indexed column:
  // free room on each page lets PostgreSQL write those updates in place (HOT).
  const onPostgres = /^postgres(ql)?:/.test(process.env.DATABASE_URL ?? '') ? it : it.skip;
  onPostgres('leave half of each new page free: provider_sessions and logout_deliveries', async () => {
    const options = async () =>
      Object.fromEntries(
        (
          (await db.query(
            `SELECT relname, reloptions FROM pg_class WHERE relname IN ('provider_sessions', 'logout_deliveries')`,
          )) as Array<{ relname: string; reloptions: string[] | null }>
        ).map((row) => [row.relname, row.reloptions]),
      );
    expect(await options()).toEqual({
      provider_sessions: ['fillfactor=50'],
      logout_deliveries: ['fillfactor=50'],
    });
    const migration = db.migrations.find((candidate) => candidate.name === 'DeliveryFillfactor1765100000000')!;
    const runner = db.createQueryRunner();
    try {
      await migration.down(runner);
      expect((await options()).logout_deliveries).toBeNull();
    } finally {
      await migration.up(runner);
      await runner.release();
    }
    expect((await options()).logout_deliveries).toEqual(['fillfactor=50']);
  });
});

/** Runs a migration's `down`, then its `up` again: as if the rows written meanwhile were there before it. */
async function downThenUp(name: string): Promise<void> {
  const migration = db.migrations.find((candidate) => candidate.name === name)!;
  const runner = db.createQueryRunner();
  try {
    await migration.down(runner);
    await migration.up(runner);
  } finally {
    await runner.release();
  }
}

/** `count` bound-parameter placeholders, as the database writes them. */
function placeholders(source: DataSource, count: number): string {
  return Array.from({ length: count }, (_, i) => (source.options.type === 'postgres' ? `$${i + 1}` : '?')).join(', ');
}

describe('signing keys', () => {
  it('are created on first start: an active and a next key per set, SAML ones with a matching self-signed certificate', async () => {
    await keys.ensureKeys();
    await keys.ensureKeys(); // a second start adds nothing
    const all = await db.getRepository(SigningKey).find();
    expect(all.map((key) => `${key.use}/${key.alg}/${key.state}`).sort()).toEqual([
      'oidc/ES256/active',
      'oidc/ES256/next',
      'oidc/RS256/active',
      'oidc/RS256/next',
      'saml/RS256/active',
      'saml/RS256/next',
    ]);
    for (const key of all.filter((candidate) => candidate.use === 'saml')) {
      const certificate = new X509Certificate(key.certificatePem!);
      expect(certificate.verify(certificate.publicKey)).toBe(true);
      expect(certificate.publicKey.export({ format: 'jwk' })).toMatchObject({ n: key.publicJwk.n, e: key.publicJwk.e });
      expect(new Date(certificate.validTo).getTime()).toBeGreaterThan(Date.now() + 365 * 86_400_000);
    }
  });

  it('sign with the active key, verifiable with the published JWK of the same kid', async () => {
    for (const alg of ['ES256', 'RS256'] as const) {
      const active = await keys.active('oidc', alg);
      const jws = await new CompactSign(new TextEncoder().encode('hello'))
        .setProtectedHeader({ alg, kid: active.kid })
        .sign(active.privateKey);
      const published = (await keys.published('oidc')).find((key) => key.kid === active.kid)!;
      const { payload } = await compactVerify(jws, await importJWK(published.publicJwk, alg));
      expect(new TextDecoder().decode(payload)).toBe('hello');
      expect(published.publicJwk).not.toHaveProperty('d');
      expect(createPublicKey({ key: published.publicJwk as never, format: 'jwk' }).type).toBe('public');
    }
  });

  it('rotate next -> active -> retired, and keep retired keys published for the configured time', async () => {
    const before = await keys.active('oidc', 'ES256');
    const nextBefore = (
      await db.getRepository(SigningKey).findOneByOrFail({ use: 'oidc', alg: 'ES256', state: 'next' })
    ).kid;
    const [es256] = (await keys.rotate()).filter((set) => set.use === 'oidc' && set.alg === 'ES256');
    expect(es256.activeKid).toBe(nextBefore);
    expect((await keys.active('oidc', 'ES256')).kid).toBe(nextBefore);
    const retired = await db.getRepository(SigningKey).findOneByOrFail({ kid: before.kid });
    expect(retired.state).toBe('retired');
    expect((await keys.published('oidc')).map((key) => key.kid)).toContain(before.kid);

    const later = new KeysService(
      db,
      { now: () => new Date(Date.now() + 8 * 86_400_000) } as Clock,
      loadConfig({ DATA_DIR: dataDir }),
    );
    expect((await later.published('oidc')).map((key) => key.kid)).not.toContain(before.kid);
  });

  it('sign with the new key after a rotation even when a read of the old one ends after it', async () => {
    const service = new KeysService(db, new Clock(), loadConfig({ DATA_DIR: dataDir }));
    const repository = db.getRepository(SigningKey);
    const read = repository.findOneByOrFail.bind(repository);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The first read finds the active key before the rotation and ends after it (a slow round trip).
    const spy = jest.spyOn(repository, 'findOneByOrFail').mockImplementationOnce(async (where) => {
      const row = await read(where);
      await held;
      return row;
    });
    try {
      const old = service.active('oidc', 'ES256');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const [es256] = (await service.rotate()).filter((set) => set.use === 'oidc' && set.alg === 'ES256');
      const asked = service.active('oidc', 'ES256'); // asked after the rotation, while the old read runs
      release();
      expect((await old).kid).not.toBe(es256.activeKid);
      expect((await asked).kid).toBe(es256.activeKid);
      expect((await service.active('oidc', 'ES256')).kid).toBe(es256.activeKid);
    } finally {
      spy.mockRestore();
    }
  });
});
