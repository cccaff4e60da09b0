import { type DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type Actor, type Config, CoreModule, RedisModule, selfSignedCertificate, UsersService } from '@signoff/core';
import { LogoutModule } from '@signoff/logout';
import { OidcModule } from '@signoff/oidc';
import { ProvidersAdminService, ProvidersModule } from '@signoff/providers';
import { SamlModule } from '@signoff/saml';
import { SessionsModule } from '@signoff/sessions';
import { createHash, generateKeyPairSync, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';

/**
 * What the demo keeps between runs, in DATA_DIR/demo.json (0600, beside Signoff's own secrets): the
 * passwords it printed, the OIDC client's secret (Signoff shows it once), the SAML application's key
 * and certificate, and a fingerprint of each registration as last applied, so that a second
 * `npm run demo` reuses everything and changes only what differs (the applications' ports).
 */
export interface DemoState {
  passwords: Record<string, string>;
  /** The ids of the users and applications the demo made: the only ones it ever changes. */
  made?: string[];
  oidc: { clientSecret?: string; applied?: string };
  saml: { privateKey: string; certificate: string; applied?: string };
}

/** The demo's user and administrator. */
export const DEMO_USERS = [
  {
    username: 'demo',
    name: 'Dee Moe',
    givenName: 'Dee',
    familyName: 'Moe',
    email: 'demo@example.org',
    emailVerified: true,
    isAdmin: false,
  },
  { username: 'admin', name: 'Demo Administrator', email: 'admin@example.org', emailVerified: true, isAdmin: true },
] as const;

export const OIDC_DEMO = { slug: 'demo-oidc-app', name: 'Demo OIDC app', clientId: 'demo-oidc-app' } as const;
export const SAML_DEMO = { slug: 'demo-saml-app', name: 'Demo SAML app' } as const;

/** How the SAML application is registered: front channel in an iframe of the logout page, NameID = email. */
const SAML_SETTINGS = {
  logoutMethod: 'frontchannel_iframe',
  requireSignedRequests: true,
  nameIdSource: 'email',
} as const;

/** The audit log names the demo as an administrator without an account (as the CLI is). */
const DEMO: Actor = { type: 'admin', id: null };

/** The state of an earlier run, or a new one with a fresh key and certificate for the SAML application. */
export async function loadState(dataDir: string): Promise<DemoState> {
  const file = join(dataDir, 'demo.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DemoState;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const certificate = await selfSignedCertificate(
    privatePem,
    publicKey.export({ type: 'spki', format: 'pem' }) as string,
    'Signoff demo SAML app',
    3650,
  );
  return { passwords: {}, oidc: {}, saml: { privateKey: privatePem, certificate } };
}

export function saveState(dataDir: string, state: DemoState): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dataDir, 'demo.json'), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

@Module({ imports: [SessionsModule, LogoutModule, OidcModule, SamlModule, ProvidersModule] })
class DemoSeedServices {}

/** What the CLI composes, for the same reason: users and applications over the database of `config`. */
@Module({})
class DemoSeedModule {
  static register(config: Config): DynamicModule {
    return {
      module: DemoSeedModule,
      imports: [CoreModule.forRoot(config), RedisModule.forRoot(config), DemoSeedServices],
    };
  }
}

export interface DemoApplications {
  /** The OIDC application's client metadata (RFC 7591), its client_id included. */
  oidc: Record<string, unknown>;
  /** The SAML application's metadata XML. */
  samlMetadata: string;
}

/**
 * Makes sure the demo's users and applications exist as `apps` describes them, through the same
 * services the admin API and the CLI use (audited). Creates what is missing, updates a registration
 * whose fingerprint changed, and leaves the rest alone. Returns one line per thing it did.
 */
export async function seed(config: Config, state: DemoState, apps: DemoApplications): Promise<string[]> {
  const done: string[] = [];
  const app = await NestFactory.createApplicationContext(DemoSeedModule.register(config), {
    logger: false,
    abortOnError: false,
  });
  try {
    const users = app.get(UsersService);
    const providers = app.get(ProvidersAdminService);
    const existing = await providers.list();
    // Before anything is written: a database with someone else's user or application of these names is not the demo's.
    for (const { username } of DEMO_USERS) {
      const user = await users.findByUsername(username);
      if (user) notOurs(state, user.id, `a user named ${username}`);
    }
    for (const slug of [OIDC_DEMO.slug, SAML_DEMO.slug]) {
      const provider = existing.find((candidate) => candidate.slug === slug);
      if (provider) notOurs(state, provider.id, `an application named ${slug}`);
    }
    for (const { username, ...profile } of DEMO_USERS) {
      const known = state.passwords[username];
      const user = await users.findByUsername(username);
      if (!user) {
        const password = known ?? newPassword();
        const created = await users.create({ username, password, ...profile }, DEMO);
        state.passwords[username] = password;
        state.made = [...(state.made ?? []), created.id];
        done.push(`created the user ${username}`);
        continue;
      }
      if (!user.isActive) {
        await users.activate(user.id, DEMO);
        done.push(`activated the user ${username} again`);
      }
      if (known) continue;
      // The user is there but its password was not kept here (demo.json removed): give it a new one.
      const password = newPassword();
      const hash = await users.hashNewPassword(password);
      await app.get(DataSource).transaction((tx) => users.setPasswordIn(tx, user, hash, DEMO));
      state.passwords[username] = password;
      done.push(`set a new password for ${username}`);
    }

    const oidc = existing.find((provider) => provider.slug === OIDC_DEMO.slug);
    const oidcApplied = fingerprint(apps.oidc);
    if (!oidc) {
      const { clientSecret, view } = await providers.create(
        { protocol: 'oidc', slug: OIDC_DEMO.slug, name: OIDC_DEMO.name, oidc: apps.oidc },
        DEMO,
      );
      state.oidc = { clientSecret: clientSecret!, applied: oidcApplied };
      state.made = [...(state.made ?? []), view.id];
      done.push(`registered ${OIDC_DEMO.name} (OIDC, back-channel logout)`);
    } else {
      if (state.oidc.applied !== oidcApplied) {
        await providers.update(oidc.id, { oidc: apps.oidc }, DEMO);
        state.oidc.applied = oidcApplied;
        done.push(`updated ${OIDC_DEMO.name}'s addresses`);
      }
      if (!state.oidc.clientSecret) {
        state.oidc.clientSecret = (await providers.rotateSecret(oidc.id, DEMO)).clientSecret;
        done.push(`gave ${OIDC_DEMO.name} a new client secret`);
      }
    }

    const samlApp = saml(existing);
    const samlApplied = fingerprint({ metadata: apps.samlMetadata, ...SAML_SETTINGS });
    if (!samlApp) {
      const { view } = await providers.create(
        {
          protocol: 'saml',
          slug: SAML_DEMO.slug,
          name: SAML_DEMO.name,
          saml: { metadata: apps.samlMetadata, ...SAML_SETTINGS },
        },
        DEMO,
      );
      state.made = [...(state.made ?? []), view.id];
      done.push(`registered ${SAML_DEMO.name} (SAML, front-channel logout)`);
    } else if (state.saml.applied !== samlApplied) {
      await providers.update(samlApp.id, { saml: { metadata: apps.samlMetadata, ...SAML_SETTINGS } }, DEMO);
      done.push(`updated ${SAML_DEMO.name}'s metadata`);
    }
    state.saml.applied = samlApplied;
  } finally {
    await app.close();
  }
  return done;
}

const saml = (providers: Array<{ id: string; slug: string }>) =>
  providers.find((provider) => provider.slug === SAML_DEMO.slug);

/**
 * The demo changes only what it made (recorded in demo.json): pointed at a database that already
 * has a user or an application of that name (DATABASE_URL left set to a real one, say), it stops
 * rather than set a password, reactivate a user or rewrite a registration that is someone else's.
 */
function notOurs(state: DemoState, id: string, what: string): void {
  if (state.made?.includes(id)) return;
  throw new Error(
    `this database already has ${what} that the demo did not make; the demo changes only what it made. ` +
      'Give it a database of its own: unset DATABASE_URL, or use another DATA_DIR.',
  );
}

/** Three groups of four letters and digits (60 bits), easy to type from the terminal. */
function newPassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  const group = () => Array.from({ length: 4 }, () => alphabet[randomInt(alphabet.length)]).join('');
  return `${group()}-${group()}-${group()}`;
}

const fingerprint = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');
