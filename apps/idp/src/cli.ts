import 'reflect-metadata';
import { type INestApplicationContext, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type Config, configFromEnvOrExit, CoreModule, KeysService, parseDuration, passwordProblem, RedisModule, UsersService } from '@signoff/core';
import { LogoutModule } from '@signoff/logout';
import { OidcModule } from '@signoff/oidc';
import { ProviderAdminError, ProvidersAdminService, ProvidersModule } from '@signoff/providers';
import { parseSpMetadata, SamlModule, spWarnings } from '@signoff/saml';
import { SessionsModule } from '@signoff/sessions';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { apiTokenStatus, ApiTokensService } from './admin/api-tokens.service';
import { UserAdminService } from './admin/user-admin.service';

const USAGE = `usage: npm run signoff -- <command> [options]

commands:
  create-user <username> [--password <pw> | --password-stdin] [--email <e>] [--name <n>] [--admin]
  list-users
  deactivate-user <username>          deactivate and end all of the user's sessions
  set-password <username> [--password <pw> | --password-stdin]
                                      set a new password; ends all of the user's sessions
                                      and revokes their tokens
  create-api-token <username> [--name <n>] [--expires-in <duration, e.g. 90d>]
                                      prints a bearer token for the admin API (shown once)
  list-api-tokens [--user <username>] id, user, name, created, last used, expires, status
  revoke-api-token <id>               revoke an API token at once
  rotate-keys                         next -> active -> retired for every signing key set
  rotate-key-encryption-key           reseal every private signing key under KEY_ENCRYPTION_KEY
                                      (the old key given as KEY_ENCRYPTION_KEY_PREVIOUS; docs/security.md)
  import-saml-sp <metadata.xml> [--slug <s>] [--name <n>]
                 [--logout-method frontchannel_iframe|frontchannel_native|backchannel]
                 [--sls-binding redirect|post|soap] [--sign-logout-requests] [--require-signed-requests]
                 [--name-id-source persistent|email|username|transient] [--allow-unsigned-logout-requests]
                                      registers a SAML service provider from its metadata
  create-oidc-client --json <file> [--slug <s>] [--name <n>]
                                      registers an OIDC client from RFC 7591 metadata (JSON);
                                      prints client_id and client_secret (shown once)
`;

class UsageError extends Error {}

const CLI = { type: 'admin' as const, id: null };

@Module({ imports: [SessionsModule, LogoutModule, OidcModule, SamlModule, ProvidersModule], providers: [UserAdminService, ApiTokensService] })
class CliCommandsModule {}

@Module({})
class CliModule {
  static register(config: Config): DynamicModule {
    // Redis is there for the relay's kick after a deactivation; if it is down, the worker delivers later.
    return { module: CliModule, imports: [CoreModule.forRoot(config), RedisModule.forRoot(config), CliCommandsModule] };
  }
}

type Output = (line: string) => void;

/** Runs one CLI command against the database of `config`; returns the exit code. */
export async function runCli(argv: string[], config: Config, out: Output = (line) => process.stdout.write(`${line}\n`)): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    out(USAGE);
    return command ? 0 : 2;
  }
  let app: INestApplicationContext | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        password: { type: 'string' }, 'password-stdin': { type: 'boolean' }, email: { type: 'string' },
        name: { type: 'string' }, admin: { type: 'boolean' }, expires: { type: 'string' }, 'expires-in': { type: 'string' }, user: { type: 'string' },
        json: { type: 'string' }, slug: { type: 'string' },
        'logout-method': { type: 'string' }, 'sls-binding': { type: 'string' }, 'sign-logout-requests': { type: 'boolean' },
        'require-signed-requests': { type: 'boolean' }, 'allow-unsigned-logout-requests': { type: 'boolean' }, 'name-id-source': { type: 'string' },
      },
    });
    const commands: Record<string, () => Promise<void>> = {
      'create-user': async () => {
        const username = one(positionals, 'a username');
        const password = newPassword(values, config);
        if (!/^[A-Za-z0-9._@-]{1,64}$/.test(username)) throw new UsageError('a username is 1-64 letters, digits, or . _ @ -');
        const user = await app!.get(UsersService).create({ username, password, email: values.email ?? null, name: values.name ?? null, isAdmin: values.admin ?? false }, CLI);
        out(`created ${user.isAdmin ? 'administrator' : 'user'} ${user.username} (${user.id})`);
      },
      'list-users': async () => {
        const { items } = await app!.get(UsersService).list({ limit: 10_000, offset: 0 });
        out(['username', 'id', 'email', 'admin', 'active'].join('\t'));
        for (const user of items) out([user.username, user.id, user.email ?? '-', user.isAdmin ? 'yes' : 'no', user.isActive ? 'yes' : 'no'].join('\t'));
      },
      'deactivate-user': async () => {
        const user = await findUser(app!, one(positionals, 'a username'));
        const { operation } = await app!.get(UserAdminService).deactivate(user.id, CLI);
        out(`deactivated ${user.username}; ended ${operation.idpSessionIds.length} session(s); logout operation ${operation.id}`);
      },
      'set-password': async () => {
        const password = newPassword(values, config);
        if (password === undefined) throw new UsageError('give the new password with --password or --password-stdin');
        const user = await findUser(app!, one(positionals, 'a username'));
        const { operation } = await app!.get(UserAdminService).changePassword(user.id, password, CLI);
        out(`changed the password of ${user.username}; ended ${operation.idpSessionIds.length} session(s); logout operation ${operation.id}`);
      },
      'create-api-token': async () => {
        const user = await findUser(app!, one(positionals, 'a username'));
        if (!user.isAdmin) throw new UsageError(`${user.username} is not an administrator; API tokens act with their user's rights`);
        const expires = values['expires-in'] ?? values.expires; // --expires: the older spelling
        const lifetime = expires === undefined ? null : parseDuration(expires);
        if (expires !== undefined && !lifetime) throw new UsageError('--expires-in takes a duration such as 90d or 12h');
        const { token } = await app!.get(ApiTokensService).create(user, values.name ?? 'cli', lifetime, CLI);
        out(token);
      },
      'list-api-tokens': async () => {
        const userId = values.user === undefined ? undefined : (await findUser(app!, values.user)).id;
        const { items } = await app!.get(ApiTokensService).list({ userId, limit: 10_000, offset: 0 });
        const when = (date: Date | null) => date?.toISOString() ?? '-';
        const now = new Date();
        out(['id', 'user', 'name', 'created', 'last used', 'expires', 'status'].join('\t'));
        for (const token of items) out([token.id, token.user.username, token.name, when(token.createdAt), when(token.lastUsedAt), when(token.expiresAt), apiTokenStatus(token, now)].join('\t'));
      },
      'revoke-api-token': async () => {
        const id = one(positionals, 'the id of an API token (see list-api-tokens)');
        if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw new Error(`no API token with id "${id}"`);
        const token = await app!.get(ApiTokensService).revoke(id, CLI);
        out(`revoked API token ${token.id} (${token.name}) of ${token.user.username}`);
      },
      'create-oidc-client': async () => {
        if (!values.json) throw new UsageError('--json <file> is required');
        let input: unknown;
        try {
          input = JSON.parse(readFileSync(values.json, 'utf8'));
        } catch (error) {
          throw new UsageError(`cannot read ${values.json}: ${(error as Error).message}`);
        }
        const { client, clientSecret } = await app!.get(ProvidersAdminService).create({ protocol: 'oidc', oidc: input, slug: values.slug, name: values.name }, CLI).catch((error: unknown) => {
          if (error instanceof ProviderAdminError && error.reason === 'invalid_oidc_metadata') throw new UsageError(error.details![0]);
          throw error;
        });
        out(`client_id=${client.clientId}`);
        if (clientSecret) out(`client_secret=${clientSecret}`);
        out(`provider=${client.provider.slug} (${client.providerId})`);
      },
      'import-saml-sp': async () => {
        const file = one(positionals, 'the path of the SP metadata XML');
        const choice = <T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined => {
          if (value !== undefined && !allowed.includes(value as T)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}`);
          return value as T | undefined;
        };
        let metadata;
        try {
          metadata = parseSpMetadata(readFileSync(file, 'utf8'));
        } catch (error) {
          throw new UsageError(`cannot import ${file}: ${(error as Error).message}`);
        }
        const { sp } = await app!.get(ProvidersAdminService).create({ protocol: 'saml', slug: values.slug, name: values.name, saml: {
          metadata,
          logoutMethod: choice('logout-method', values['logout-method'], ['frontchannel_iframe', 'frontchannel_native', 'backchannel'] as const),
          slsBinding: choice('sls-binding', values['sls-binding'], ['redirect', 'post', 'soap'] as const),
          nameIdSource: choice('name-id-source', values['name-id-source'], ['persistent', 'email', 'username', 'transient'] as const),
          signLogoutRequests: values['sign-logout-requests'], requireSignedRequests: values['require-signed-requests'],
          allowUnsignedLogoutRequests: values['allow-unsigned-logout-requests'],
        } }, CLI);
        out(`registered SAML SP ${sp.entityId} as ${sp.provider.slug} (${sp.providerId}); logout ${sp.logoutMethod}${sp.slsBinding ? ` over ${sp.slsBinding}` : ', no SingleLogoutService'}`);
        for (const warning of spWarnings(sp)) out(`warning: ${warning}`);
      },
      'rotate-key-encryption-key': async () => {
        if (!config.keys.previousEncryptionKey) throw new UsageError('set KEY_ENCRYPTION_KEY to the new key and KEY_ENCRYPTION_KEY_PREVIOUS to the old one');
        const { resealed, total, kekId } = await app!.get(KeysService).resealKeys();
        out(`resealed ${resealed} of ${total} signing key(s) under key-encryption key ${kekId}; KEY_ENCRYPTION_KEY_PREVIOUS can now be removed`);
      },
      'rotate-keys': async () => {
        for (const set of await app!.get(KeysService).rotate()) out(`${set.use} ${set.alg}: active ${set.activeKid}, next ${set.nextKid}`);
      },
    };
    const run = commands[command];
    if (!run) throw new UsageError(`unknown command "${command}"`);
    app = await NestFactory.createApplicationContext(CliModule.register(config), { logger: false, abortOnError: false });
    await run();
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`signoff: ${message}\n`);
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`\n${USAGE}`);
      return 2;
    }
    return 1;
  } finally {
    await app?.close();
  }
}

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected ${what}`);
  return positionals[0];
}

/** The new password from --password or --password-stdin, checked against the password policy. */
function newPassword(values: { password?: string; 'password-stdin'?: boolean }, config: Config): string | undefined {
  const password = values['password-stdin'] ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : values.password;
  const problem = password === undefined ? null : passwordProblem(password, config.passwords.minLength);
  if (problem) throw new UsageError(problem);
  return password;
}

async function findUser(app: INestApplicationContext, username: string) {
  const user = await app.get(UsersService).findByUsername(username);
  if (!user) throw new Error(`no user named "${username}"`);
  return user;
}

if (require.main === module) {
  // process.exit, not exitCode: a command whose start failed (a KEY_ENCRYPTION_KEY that opens no
  // signing key, say) cannot close the connections its half-started context opened, and would hang.
  runCli(process.argv.slice(2), configFromEnvOrExit()).then((code) => process.exit(code));
}
