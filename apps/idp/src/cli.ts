import 'reflect-metadata';
import { type INestApplicationContext, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  type Config,
  configFromEnvOrExit,
  CoreModule,
  KeysService,
  parseDuration,
  passwordProblem,
  RedisModule,
  UsersService,
} from '@signoff/core';
import { LogoutModule } from '@signoff/logout';
import { OidcModule } from '@signoff/oidc';
import { ProviderAdminError, ProvidersAdminService, ProvidersModule } from '@signoff/providers';
import { parseSpMetadata, SamlModule, spWarnings } from '@signoff/saml';
import { SessionsModule } from '@signoff/sessions';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { apiTokenStatus, ApiTokensService } from './admin/api-tokens.service';
import { UserAdminService } from './admin/user-admin.service';

class UsageError extends Error {}

const CLI = { type: 'admin' as const, id: null };

@Module({
  imports: [SessionsModule, LogoutModule, OidcModule, SamlModule, ProvidersModule],
  providers: [UserAdminService, ApiTokensService],
})
class CliCommandsModule {}

@Module({})
class CliModule {
  static register(config: Config): DynamicModule {
    // Redis is there for the relay's kick after a deactivation; if it is down, the worker delivers later.
    return { module: CliModule, imports: [CoreModule.forRoot(config), RedisModule.forRoot(config), CliCommandsModule] };
  }
}

type Output = (line: string) => void;

/** The options of every command: parsed once, before the command is looked up; a command ignores those it does not use. */
const OPTIONS = {
  password: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  email: { type: 'string' },
  name: { type: 'string' },
  admin: { type: 'boolean' },
  expires: { type: 'string' },
  'expires-in': { type: 'string' },
  user: { type: 'string' },
  json: { type: 'string' },
  slug: { type: 'string' },
  'logout-method': { type: 'string' },
  'sls-binding': { type: 'string' },
  'sign-logout-requests': { type: 'boolean' },
  'require-signed-requests': { type: 'boolean' },
  'allow-unsigned-logout-requests': { type: 'boolean' },
  'name-id-source': { type: 'string' },
} as const;

function parseArguments(args: string[]) {
  return parseArgs({ args, allowPositionals: true, options: OPTIONS });
}

type Args = ReturnType<typeof parseArguments>;

/** What a command runs with: the application context over the database of `config`, and where to print. */
interface Context {
  app: INestApplicationContext;
  config: Config;
  out: Output;
}

interface Command {
  /** The arguments as the usage shows them, one line each; later lines hang under the first. */
  synopsis: string[];
  /** What the command does, one line each, in the usage's description column. */
  summary: string[];
  run(args: Args, context: Context): Promise<void>;
}

/** Every command, in the order of the usage. */
const COMMANDS: Record<string, Command> = {
  'create-user': {
    synopsis: ['<username> [--password <pw> | --password-stdin] [--email <e>] [--name <n>] [--admin]'],
    summary: [],
    run: createUser,
  },
  'list-users': { synopsis: [], summary: [], run: listUsers },
  'deactivate-user': {
    synopsis: ['<username>'],
    summary: ["deactivate and end all of the user's sessions"],
    run: deactivateUser,
  },
  'set-password': {
    synopsis: ['<username> [--password <pw> | --password-stdin]'],
    summary: ["set a new password; ends all of the user's sessions", 'and revokes their tokens'],
    run: setPassword,
  },
  'create-api-token': {
    synopsis: ['<username> [--name <n>] [--expires-in <duration, e.g. 90d>]'],
    summary: ['prints a bearer token for the admin API (shown once)'],
    run: createApiToken,
  },
  'list-api-tokens': {
    synopsis: ['[--user <username>]'],
    summary: ['id, user, name, created, last used, expires, status'],
    run: listApiTokens,
  },
  'revoke-api-token': { synopsis: ['<id>'], summary: ['revoke an API token at once'], run: revokeApiToken },
  'rotate-keys': { synopsis: [], summary: ['next -> active -> retired for every signing key set'], run: rotateKeys },
  'rotate-key-encryption-key': {
    synopsis: [],
    summary: [
      'reseal every private signing key under KEY_ENCRYPTION_KEY',
      '(the old key given as KEY_ENCRYPTION_KEY_PREVIOUS; docs/security.md)',
    ],
    run: rotateKeyEncryptionKey,
  },
  'import-saml-sp': {
    synopsis: [
      '<metadata.xml> [--slug <s>] [--name <n>]',
      '[--logout-method frontchannel_iframe|frontchannel_native|backchannel]',
      '[--sls-binding redirect|post|soap] [--sign-logout-requests] [--require-signed-requests]',
      '[--name-id-source persistent|email|username|transient] [--allow-unsigned-logout-requests]',
    ],
    summary: ['registers a SAML service provider from its metadata'],
    run: importSamlSp,
  },
  'create-oidc-client': {
    synopsis: ['--json <file> [--slug <s>] [--name <n>]'],
    summary: [
      'registers an OIDC client from RFC 7591 metadata (JSON);',
      'prints client_id and client_secret (shown once)',
    ],
    run: createOidcClient,
  },
};

const DESCRIPTION_COLUMN = 38;

/** A command's lines in the usage: its synopsis, then its summary in the description column (beside the synopsis when there is room). */
function usageLines(name: string, { synopsis, summary }: Command): string[] {
  const hanging = ' '.repeat(`  ${name} `.length);
  const lines = synopsis.length
    ? synopsis.map((text, i) => (i === 0 ? `  ${name} ${text}` : hanging + text))
    : [`  ${name}`];
  const [first, ...rest] = summary;
  if (first === undefined) return lines;
  const column = ' '.repeat(DESCRIPTION_COLUMN);
  const last = lines.length - 1;
  if (lines[last].length < DESCRIPTION_COLUMN) lines[last] = lines[last].padEnd(DESCRIPTION_COLUMN) + first;
  else lines.push(column + first);
  return [...lines, ...rest.map((text) => column + text)];
}

const USAGE = `usage: npm run signoff -- <command> [options]

commands:
${Object.entries(COMMANDS)
  .flatMap(([name, command]) => usageLines(name, command))
  .join('\n')}
`;

/** Runs one CLI command against the database of `config`; returns the exit code. */
export async function runCli(
  argv: string[],
  config: Config,
  out: Output = (line) => process.stdout.write(`${line}\n`),
): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help') {
    out(USAGE);
    return name ? 0 : 2;
  }
  let app: INestApplicationContext | undefined;
  try {
    const args = parseArguments(rest);
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined; // own names only: "toString" is no command
    if (!command) throw new UsageError(`unknown command "${name}"`);
    app = await NestFactory.createApplicationContext(CliModule.register(config), {
      logger: false,
      abortOnError: false,
    });
    await command.run(args, { app, config, out });
    return 0;
  } catch (error) {
    return failed(error);
  } finally {
    await app?.close();
  }
}

/** Reports a failed command on stderr; returns its exit code: 2 (with the usage) for bad input, else 1. */
function failed(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`signoff: ${message}\n`);
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`\n${USAGE}`);
    return 2;
  }
  return 1;
}

async function createUser({ values, positionals }: Args, { app, config, out }: Context): Promise<void> {
  const username = one(positionals, 'a username');
  const password = newPassword(values, config);
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(username)) throw new UsageError('a username is 1-64 letters, digits, or . _ @ -');
  const user = await app
    .get(UsersService)
    .create(
      { username, password, email: values.email ?? null, name: values.name ?? null, isAdmin: values.admin ?? false },
      CLI,
    );
  out(`created ${user.isAdmin ? 'administrator' : 'user'} ${user.username} (${user.id})`);
}

async function listUsers(_args: Args, { app, out }: Context): Promise<void> {
  const { items } = await app.get(UsersService).list({ limit: 10_000, offset: 0 });
  out(['username', 'id', 'email', 'admin', 'active'].join('\t'));
  for (const user of items)
    out(
      [user.username, user.id, user.email ?? '-', user.isAdmin ? 'yes' : 'no', user.isActive ? 'yes' : 'no'].join('\t'),
    );
}

async function deactivateUser({ positionals }: Args, { app, out }: Context): Promise<void> {
  const user = await findUser(app, one(positionals, 'a username'));
  const { operation } = await app.get(UserAdminService).deactivate(user.id, CLI);
  out(
    `deactivated ${user.username}; ended ${operation.idpSessionIds.length} session(s); logout operation ${operation.id}`,
  );
}

async function setPassword({ values, positionals }: Args, { app, config, out }: Context): Promise<void> {
  const password = newPassword(values, config);
  if (password === undefined) throw new UsageError('give the new password with --password or --password-stdin');
  const user = await findUser(app, one(positionals, 'a username'));
  const { operation } = await app.get(UserAdminService).changePassword(user.id, password, CLI);
  out(
    `changed the password of ${user.username}; ended ${operation.idpSessionIds.length} session(s); logout operation ${operation.id}`,
  );
}

async function createApiToken({ values, positionals }: Args, { app, out }: Context): Promise<void> {
  const user = await findUser(app, one(positionals, 'a username'));
  if (!user.isAdmin)
    throw new UsageError(`${user.username} is not an administrator; API tokens act with their user's rights`);
  const expires = values['expires-in'] ?? values.expires; // --expires: the older spelling
  const lifetime = expires === undefined ? null : parseDuration(expires);
  if (expires !== undefined && !lifetime) throw new UsageError('--expires-in takes a duration such as 90d or 12h');
  const { token } = await app.get(ApiTokensService).create(user, values.name ?? 'cli', lifetime, CLI);
  out(token);
}

async function listApiTokens({ values }: Args, { app, out }: Context): Promise<void> {
  const userId = values.user === undefined ? undefined : (await findUser(app, values.user)).id;
  const { items } = await app.get(ApiTokensService).list({ userId, limit: 10_000, offset: 0 });
  const when = (date: Date | null) => date?.toISOString() ?? '-';
  const now = new Date();
  out(['id', 'user', 'name', 'created', 'last used', 'expires', 'status'].join('\t'));
  for (const token of items)
    out(
      [
        token.id,
        token.user.username,
        token.name,
        when(token.createdAt),
        when(token.lastUsedAt),
        when(token.expiresAt),
        apiTokenStatus(token, now),
      ].join('\t'),
    );
}

async function revokeApiToken({ positionals }: Args, { app, out }: Context): Promise<void> {
  const id = one(positionals, 'the id of an API token (see list-api-tokens)');
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id))
    throw new Error(`no API token with id "${id}"`);
  const token = await app.get(ApiTokensService).revoke(id, CLI);
  out(`revoked API token ${token.id} (${token.name}) of ${token.user.username}`);
}

async function rotateKeys(_args: Args, { app, out }: Context): Promise<void> {
  for (const set of await app.get(KeysService).rotate())
    out(`${set.use} ${set.alg}: active ${set.activeKid}, next ${set.nextKid}`);
}

async function rotateKeyEncryptionKey(_args: Args, { app, config, out }: Context): Promise<void> {
  if (!config.keys.previousEncryptionKey)
    throw new UsageError('set KEY_ENCRYPTION_KEY to the new key and KEY_ENCRYPTION_KEY_PREVIOUS to the old one');
  const { resealed, total, kekId } = await app.get(KeysService).resealKeys();
  out(
    `resealed ${resealed} of ${total} signing key(s) under key-encryption key ${kekId}; KEY_ENCRYPTION_KEY_PREVIOUS can now be removed`,
  );
}

async function importSamlSp({ values, positionals }: Args, { app, out }: Context): Promise<void> {
  const file = one(positionals, 'the path of the SP metadata XML');
  let metadata;
  try {
    metadata = parseSpMetadata(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot import ${file}: ${(error as Error).message}`);
  }
  const { sp } = await app.get(ProvidersAdminService).create(
    {
      protocol: 'saml',
      slug: values.slug,
      name: values.name,
      saml: {
        metadata,
        logoutMethod: choice('logout-method', values['logout-method'], [
          'frontchannel_iframe',
          'frontchannel_native',
          'backchannel',
        ] as const),
        slsBinding: choice('sls-binding', values['sls-binding'], ['redirect', 'post', 'soap'] as const),
        nameIdSource: choice('name-id-source', values['name-id-source'], [
          'persistent',
          'email',
          'username',
          'transient',
        ] as const),
        signLogoutRequests: values['sign-logout-requests'],
        requireSignedRequests: values['require-signed-requests'],
        allowUnsignedLogoutRequests: values['allow-unsigned-logout-requests'],
      },
    },
    CLI,
  );
  out(
    `registered SAML SP ${sp.entityId} as ${sp.provider.slug} (${sp.providerId}); logout ${sp.logoutMethod}${sp.slsBinding ? ` over ${sp.slsBinding}` : ', no SingleLogoutService'}`,
  );
  for (const warning of spWarnings(sp)) out(`warning: ${warning}`);
}

async function createOidcClient({ values }: Args, { app, out }: Context): Promise<void> {
  if (!values.json) throw new UsageError('--json <file> is required');
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(values.json, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read ${values.json}: ${(error as Error).message}`);
  }
  const { client, clientSecret } = await app
    .get(ProvidersAdminService)
    .create({ protocol: 'oidc', oidc: input, slug: values.slug, name: values.name }, CLI)
    .catch((error: unknown) => {
      if (error instanceof ProviderAdminError && error.reason === 'invalid_oidc_metadata')
        throw new UsageError(error.details![0]);
      throw error;
    });
  out(`client_id=${client.clientId}`);
  if (clientSecret) out(`client_secret=${clientSecret}`);
  out(`provider=${client.provider.slug} (${client.providerId})`);
}

/** The value of --`flag`, which must be one of `allowed` when given. */
function choice<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value !== undefined && !allowed.includes(value as T))
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}`);
  return value as T | undefined;
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
