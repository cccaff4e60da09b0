import { type Config, IdpSession, newId, SYSTEM, User } from '@signoff/core';
import type { INestApplicationContext } from '@nestjs/common';
import { OidcClientsService } from '@signoff/oidc';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';

// Rows written straight into the tables, for suites and benchmarks whose subject comes after the
// sign-in (a thousand sessions signed in through the endpoints would dwarf what they measure).

/**
 * `count` OIDC clients registered as an administrator registers them (OidcClientsService), the
 * i-th with `backchannelUri(i)` as its back-channel logout URI; their provider ids, in order.
 */
export async function backchannelClients(
  app: INestApplicationContext,
  count: number,
  backchannelUri: (i: number) => string,
  metadata: Record<string, unknown> = {},
): Promise<string[]> {
  const clients = app.get(OidcClientsService);
  const providerIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const { client } = await clients.register(
      clients.parse({
        redirect_uris: ['http://127.0.0.1:9/cb'],
        backchannel_logout_uri: backchannelUri(i),
        ...metadata,
      }),
      {},
      SYSTEM,
    );
    providerIds.push(client.providerId);
  }
  return providerIds;
}

/** A live IdP session of `userId`, started at `now`, ending an hour later. */
export function liveIdpSession(userId: string, now: Date): Omit<IdpSession, 'user'> {
  return {
    id: newId(),
    userId,
    browserId: randomBytes(32).toString('base64url'),
    authTime: now,
    lastSeenAt: now,
    expiresAt: new Date(now.getTime() + 3_600_000),
    createdAt: now,
    endedAt: null,
    endReason: null,
    ip: null,
    userAgent: null,
  };
}

/** An active user without a password (nobody signs in as them), created at `now`. */
export function plainUser(username: string, now: Date): User {
  return {
    id: newId(),
    username,
    email: null,
    emailVerified: false,
    name: null,
    givenName: null,
    familyName: null,
    passwordHash: null,
    isActive: true,
    isAdmin: false,
    createdAt: now,
    updatedAt: now,
    deactivatedAt: null,
  };
}

/**
 * The environment of a process of the built program (a worker, the CLI) that shares `config`'s
 * deployment: its public URL, secrets, Redis and key prefix, and database.
 */
export function deploymentEnv(config: Config, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PUBLIC_URL: config.publicUrl,
    DATA_DIR: config.dataDir,
    REDIS_URL: config.redisUrl,
    REDIS_PREFIX: config.redisPrefix,
    DATABASE_URL: config.database.type === 'postgres' ? config.database.url : `sqlite:${config.database.path}`,
    ...extra,
  };
}

/** A live OIDC session at `providerId` within an IdP session, with a fresh `sid`, as the token endpoint would have written it. */
export function liveOidcSession(session: { idpSessionId: string; providerId: string; userId: string }, now: Date) {
  return {
    id: newId(),
    kind: 'oidc' as const,
    ...session,
    sid: randomBytes(16).toString('base64url'),
    sub: session.userId,
    createdAt: now,
    endedAt: null,
    state: 'active' as const,
  };
}

/**
 * A live SAML session at `providerId` within an IdP session, with a fresh SessionIndex and a
 * persistent NameID, as the SSO endpoint would have written it.
 */
export function liveSamlSession(
  session: { idpSessionId: string; providerId: string; userId: string },
  qualifiers: { idp: string; sp: string },
  now: Date,
) {
  return {
    id: newId(),
    kind: 'saml' as const,
    ...session,
    createdAt: now,
    endedAt: null,
    state: 'active' as const,
    sessionIndex: `_${randomBytes(16).toString('hex')}`,
    nameId: randomBytes(16).toString('hex'),
    nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    nameQualifier: qualifiers.idp,
    spNameQualifier: qualifiers.sp,
    sessionNotOnOrAfter: new Date(now.getTime() + 3_600_000),
  };
}

/**
 * Starts the built worker (`npm run start:worker`) as a process of `config`'s deployment: the child
 * at once (to stop it whatever happens), and `started`, which resolves once it says it started (its
 * start-up line is at info, so LOG_LEVEL stays at least that).
 */
export function startBuiltWorker(
  config: Config,
  extra: Record<string, string> = {},
): { child: ChildProcess; started: Promise<void> } {
  const child = spawn(process.execPath, builtWorkerArgs(), {
    env: deploymentEnv(config, { LOG_LEVEL: 'info', ...extra }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const started = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes('signoff worker started')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the worker exited with ${code}: ${output}`)));
  });
  return { child, started };
}

/**
 * The arguments `npm run start:worker` gives node (package.json: its flags, such as the heap's cap,
 * then the built worker's entry point), for tests and benchmarks that start the worker as an
 * operator does.
 */
export function builtWorkerArgs(): string[] {
  const root = repositoryRoot();
  const script = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts['start:worker'];
  const command = /\bnode ((?:--\S+ )*)dist\/apps\/worker\/src\/main\.js/.exec(script);
  if (!command) throw new Error(`package.json's start:worker does not start dist/apps/worker/src/main.js: ${script}`);
  return [...command[1].split(' ').filter(Boolean), join(root, 'dist/apps/worker/src/main.js')];
}

/** The checkout's root, from here or from the compiled copy under dist/ (the benchmarks'). */
function repositoryRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
