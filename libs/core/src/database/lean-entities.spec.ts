import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { liveIdpSession, liveOidcSession, liveSamlSession, plainUser } from '../../../../test/support/seed';
import { loadConfig } from '../config/config';
import { newId } from '../crypto/random';
import { IdpSession, OidcSession, Provider, ProviderSession, SamlSession, User } from '../entities';
import { openDatabase } from './data-source';
import { leanEntities } from './lean-entities';

// leanEntities against TypeORM's own hydration of the same rows, on a real SQLite database opened and
// migrated as the app opens it: the logout paths that read raw rows must see the very entities a
// repository would have given them.
describe('leanEntities (provider sessions read raw)', () => {
  let dir: string;
  let db: DataSource;
  // Milliseconds that are not zero: an instant must come back to the millisecond.
  const now = new Date('2026-03-04T05:06:07.089Z');
  let ids: { oidc: string; saml: string; ended: string };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signoff-lean-'));
    db = await openDatabase(
      loadConfig({ DATABASE_URL: `sqlite:${join(dir, 'signoff.sqlite')}`, DATA_DIR: dir, LOG_LEVEL: 'silent' }, dir),
    );
    const user = plainUser('lean', now);
    await db.getRepository(User).insert(user);
    const idpSession = liveIdpSession(user.id, now);
    await db.getRepository(IdpSession).insert(idpSession);
    const provider = (protocol: 'oidc' | 'saml') => ({
      id: newId(),
      slug: `${protocol}-app`,
      name: protocol,
      protocol,
      enabled: true,
      invalidationFlowId: null,
      createdAt: now,
      updatedAt: now,
      deletedAt: null,
    });
    const oidcProvider = provider('oidc');
    const samlProvider = provider('saml');
    await db.getRepository(Provider).insert([oidcProvider, samlProvider]);
    const owner = { idpSessionId: idpSession.id, userId: user.id };
    const oidc = liveOidcSession({ ...owner, providerId: oidcProvider.id }, now);
    // One that has ended: endedAt is an instant then, not null.
    const ended = {
      ...liveOidcSession({ ...owner, providerId: oidcProvider.id }, now),
      endedAt: new Date(now.getTime() + 1234),
      state: 'ended' as const,
    };
    const saml = liveSamlSession(
      { ...owner, providerId: samlProvider.id },
      { idp: 'https://idp.example/saml', sp: 'https://sp.example/metadata' },
      now,
    );
    ids = { oidc: oidc.id, saml: saml.id, ended: ended.id };
    // One row per insert: TypeORM writes the columns it reads back (state has a default) into the
    // objects given, and with several rows it matches them by position against rows read in id
    // order, so two objects can swap their ids (the rows themselves are right).
    await db.getRepository(OidcSession).insert(oidc);
    await db.getRepository(OidcSession).insert(ended);
    await db.getRepository(SamlSession).insert(saml);
  });

  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const byId = <T extends { id: string }>(list: T[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
  const rawRows = async () => (await db.query('SELECT * FROM provider_sessions')) as Array<Record<string, unknown>>;

  it('builds each row as its own kind: OidcSession or SamlSession', async () => {
    const lean = leanEntities(db.manager, ProviderSession, await rawRows());
    const kinds = Object.fromEntries(lean.map((session) => [session.id, session]));
    expect(lean).toHaveLength(3);
    expect(kinds[ids.oidc]).toBeInstanceOf(OidcSession);
    expect(kinds[ids.ended]).toBeInstanceOf(OidcSession);
    expect(kinds[ids.saml]).toBeInstanceOf(SamlSession);
    expect(kinds[ids.saml]).not.toBeInstanceOf(OidcSession);
  });

  it('gives exactly what a repository gives for the same rows', async () => {
    const lean = byId(leanEntities(db.manager, ProviderSession, await rawRows()));
    const typeorm = byId(await db.getRepository(ProviderSession).find());
    expect(typeorm.map((session) => session.id)).toEqual(lean.map((session) => session.id));
    // Strict: the same class, the same properties (none missing, none extra, none undefined).
    expect(lean).toStrictEqual(typeorm);
  });

  it('converts instants to Dates, to the millisecond, and keeps null as null', async () => {
    const lean = leanEntities(db.manager, ProviderSession, await rawRows());
    const oidc = lean.find((session) => session.id === ids.oidc) as OidcSession;
    const ended = lean.find((session) => session.id === ids.ended) as OidcSession;
    const saml = lean.find((session) => session.id === ids.saml) as SamlSession;
    expect(oidc.createdAt).toBeInstanceOf(Date);
    expect(oidc.createdAt.getTime()).toBe(now.getTime());
    expect(oidc.endedAt).toBeNull();
    expect(ended.endedAt).toBeInstanceOf(Date);
    expect(ended.endedAt!.getTime()).toBe(now.getTime() + 1234);
    expect(saml.sessionNotOnOrAfter).toBeInstanceOf(Date);
    expect(saml.sessionNotOnOrAfter!.getTime()).toBe(now.getTime() + 3_600_000);
  });

  it('has no discriminator property: the kind is the class', async () => {
    const lean = leanEntities(db.manager, ProviderSession, await rawRows());
    for (const session of lean) expect(session).not.toHaveProperty('kind');
  });

  it('gives a row’s own values, not its neighbours’ (a changed row compares unequal: the comparison can fail)', async () => {
    // Control for the comparison above: the raw row with one instant a millisecond later.
    const rows = (await rawRows()).map((row) =>
      row.id === ids.saml ? { ...row, created_at: Number(row.created_at) + 1 } : row,
    );
    const lean = byId(leanEntities(db.manager, ProviderSession, rows));
    const typeorm = byId(await db.getRepository(ProviderSession).find());
    expect(lean).not.toStrictEqual(typeorm);
    expect(lean.filter((session) => session.id !== ids.saml)).toStrictEqual(
      typeorm.filter((session) => session.id !== ids.saml),
    );
  });

  it('gives no entities for no rows', () => {
    expect(leanEntities(db.manager, ProviderSession, [])).toEqual([]);
  });
});
