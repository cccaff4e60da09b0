import 'reflect-metadata';
import { type INestApplicationContext, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  API_TOKEN_SCOPES,
  type ApiTokenScope,
  type Config,
  configFromEnvOrExit,
  CoreModule,
  GroupsService,
  SignoffError,
  KeysService,
  parseDuration,
  passwordProblem,
  RedisModule,
  SSF_SUBJECT_FORMATS,
  type SsfSubjectFormat,
  UsersService,
} from '@signoff/core';
import { LogoutModule } from '@signoff/logout';
import { OidcModule } from '@signoff/oidc';
import { ProviderAdminError, ProvidersAdminService, ProvidersModule } from '@signoff/providers';
import {
  type AttributeAssignment,
  parseSpMetadata,
  releasedAttributeNames,
  SamlModule,
  type SpMetadata,
  spWarnings,
} from '@signoff/saml';
import { SsfModule, SsfReceiversService } from '@signoff/ssf';
import { SessionsModule } from '@signoff/sessions';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { apiTokenStatus, ApiTokensService } from './admin/api-tokens.service';
import { UserAdminService } from './admin/user-admin.service';

class UsageError extends Error {}

const CLI = { type: 'admin' as const, id: null };

@Module({
  imports: [SessionsModule, LogoutModule, OidcModule, SamlModule, SsfModule, ProvidersModule],
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
  'given-name': { type: 'string' },
  'family-name': { type: 'string' },
  'email-verified': { type: 'boolean' },
  admin: { type: 'boolean' },
  description: { type: 'string' },
  expires: { type: 'string' },
  'expires-in': { type: 'string' },
  scope: { type: 'string', multiple: true },
  user: { type: 'string' },
  json: { type: 'string' },
  slug: { type: 'string' },
  'logout-method': { type: 'string' },
  'sls-binding': { type: 'string' },
  'sign-logout-requests': { type: 'boolean' },
  'require-signed-requests': { type: 'boolean' },
  'allow-unsigned-logout-requests': { type: 'boolean' },
  'name-id-source': { type: 'string' },
  attribute: { type: 'string', multiple: true },
  'attribute-profile': { type: 'string' },
  'subject-identifier': { type: 'string' },
  'client-id': { type: 'string' },
  audience: { type: 'string' },
  'subject-format': { type: 'string' },
  'logout-return-url': { type: 'string', multiple: true },
  'metadata-url': { type: 'string' },
  'metadata-signing-certificate': { type: 'string' },
  'encrypt-assertions': { type: 'boolean' },
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
    synopsis: [
      '<username> [--password <pw> | --password-stdin] [--email <e>] [--name <n>] [--admin]',
      '[--given-name <g>] [--family-name <f>] [--email-verified]',
    ],
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
  'create-group': {
    synopsis: ['<name> [--description <d>]'],
    summary: ['a group applications see (OIDC groups claim, SAML isMemberOf)'],
    run: createGroup,
  },
  'list-groups': { synopsis: [], summary: ['name, id, members, description'], run: listGroups },
  'add-to-group': { synopsis: ['<group> <username>'], summary: ['add a user to a group'], run: addToGroup },
  'remove-from-group': {
    synopsis: ['<group> <username>'],
    summary: ['remove a user from a group'],
    run: removeFromGroup,
  },
  'create-api-token': {
    synopsis: ['<username> [--name <n>] [--expires-in <duration, e.g. 90d>] [--scope <s>]...'],
    summary: [
      'prints a bearer token (shown once): for the admin API, or with',
      '--scope global_token_revocation for that endpoint alone',
    ],
    run: createApiToken,
  },
  'list-api-tokens': {
    synopsis: ['[--user <username>]'],
    summary: ['id, user, name, created, last used, expires, status, scopes'],
    run: listApiTokens,
  },
  'revoke-api-token': { synopsis: ['<id>'], summary: ['revoke an API token at once'], run: revokeApiToken },
  'create-ssf-receiver': {
    synopsis: ['<name> [--slug <s>] [--audience <aud>] [--subject-format iss_sub|email]'],
    summary: [
      'registers a Shared Signals receiver and prints its bearer token',
      '(shown once), with which it creates its stream (docs/shared-signals.md)',
    ],
    run: createSsfReceiver,
  },
  'list-ssf-receivers': {
    synopsis: [],
    summary: ['id, slug, name, audience, stream id, delivery method, status'],
    run: listSsfReceivers,
  },
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
      '<metadata.xml> | --metadata-url <url> [--metadata-signing-certificate <pem-file>]',
      '[--slug <s>] [--name <n>]',
      '[--logout-method frontchannel_iframe|frontchannel_native|backchannel]',
      '[--sls-binding redirect|post|soap] [--sign-logout-requests] [--require-signed-requests]',
      '[--name-id-source persistent|email|username|transient] [--allow-unsigned-logout-requests]',
      '[--attribute-profile standard|none] [--subject-identifier subject-id|pairwise-id]',
      '[--attribute <Name>=<field>]... [--logout-return-url <url>]... [--encrypt-assertions]',
    ],
    summary: [
      'registers a SAML service provider from its metadata;',
      '--metadata-url: fetched from there (and refreshed by the',
      'worker), signed by the certificate in <pem-file> if given;',
      '--attribute (repeatable) adds a basic-NameFormat attribute',
      'to the profile from a user field: id, username, email,',
      'name, givenName, familyName, groups, or <field>@scope;',
      '--logout-return-url (repeatable): where /logout?return_to=',
      '&client_id=<entityID> may end (https, one *. label allowed);',
      "--encrypt-assertions: to the SP's encryption certificate",
    ],
    run: importSamlSp,
  },
  'refresh-saml-metadata': {
    synopsis: ['<slug>'],
    summary: ["fetch a SAML SP's metadata from its metadata URL now", 'and apply what changed (as the worker does)'],
    run: refreshSamlMetadata,
  },
  'create-oidc-client': {
    synopsis: ['--json <file> [--client-id <id>] [--slug <s>] [--name <n>]'],
    summary: [
      'registers an OIDC client from RFC 7591 metadata (JSON);',
      'prints client_id (--client-id, else random)',
      'and client_secret (shown once)',
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
  const user = await app.get(UsersService).create(
    {
      username,
      password,
      email: values.email ?? null,
      emailVerified: values['email-verified'] ?? false,
      name: values.name ?? null,
      givenName: values['given-name'] ?? null,
      familyName: values['family-name'] ?? null,
      isAdmin: values.admin ?? false,
    },
    CLI,
  );
  out(`created ${user.isAdmin ? 'administrator' : 'user'} ${user.username} (${user.id})`);
}

async function createGroup({ values, positionals }: Args, { app, out }: Context): Promise<void> {
  const group = await app
    .get(GroupsService)
    .create({ name: one(positionals, 'a group name'), description: values.description ?? null }, CLI);
  out(`created group ${group.name} (${group.id})`);
}

async function listGroups(_args: Args, { app, out }: Context): Promise<void> {
  const groups = app.get(GroupsService);
  out(['name', 'id', 'members', 'description'].join('\t'));
  for (const group of await groups.list())
    out([group.name, group.id, (await groups.members(group.id)).length, group.description ?? '-'].join('\t'));
}

async function addToGroup({ positionals }: Args, { app, out }: Context): Promise<void> {
  const [groupName, username] = two(positionals, 'a group and a username');
  const user = await findUser(app, username);
  const groups = app.get(GroupsService);
  const group = await groups.get(groupName);
  await groups.addMember(group.id, user.id, CLI);
  out(`${user.username} is a member of ${group.name}`);
}

async function removeFromGroup({ positionals }: Args, { app, out }: Context): Promise<void> {
  const [groupName, username] = two(positionals, 'a group and a username');
  const user = await findUser(app, username);
  const groups = app.get(GroupsService);
  const group = await groups.get(groupName);
  await groups.removeMember(group.id, user.id, CLI);
  out(`removed ${user.username} from ${group.name}`);
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

async function createSsfReceiver({ values, positionals }: Args, { app, out }: Context): Promise<void> {
  const format = values['subject-format'];
  if (format !== undefined && !SSF_SUBJECT_FORMATS.includes(format as SsfSubjectFormat))
    throw new UsageError(`--subject-format takes ${SSF_SUBJECT_FORMATS.join(' or ')}, not ${format}`);
  const { token } = await app.get(SsfReceiversService).create(
    {
      name: one(positionals, 'a name'),
      slug: values.slug,
      audience: values.audience,
      subjectFormat: format as SsfSubjectFormat | undefined,
    },
    CLI,
  );
  out(token);
}

async function listSsfReceivers(_args: Args, { app, out }: Context): Promise<void> {
  out(['id', 'slug', 'name', 'audience', 'stream', 'method', 'status'].join('\t'));
  for (const receiver of await app.get(SsfReceiversService).list())
    out(
      [
        receiver.id,
        receiver.slug,
        receiver.name,
        receiver.audience,
        receiver.stream?.streamId ?? '-',
        receiver.stream?.deliveryMethod ?? '-',
        receiver.stream?.status ?? '-',
      ].join('\t'),
    );
}

async function createApiToken({ values, positionals }: Args, { app, out }: Context): Promise<void> {
  const user = await findUser(app, one(positionals, 'a username'));
  if (!user.isAdmin)
    throw new UsageError(`${user.username} is not an administrator; API tokens act with their user's rights`);
  const expires = values['expires-in'] ?? values.expires; // --expires: the older spelling
  const lifetime = expires === undefined ? null : parseDuration(expires);
  if (expires !== undefined && !lifetime) throw new UsageError('--expires-in takes a duration such as 90d or 12h');
  const scopes = values.scope ?? ['admin'];
  if (scopes.length > 1) throw new UsageError('--scope is given once: a token has one scope');
  if (!API_TOKEN_SCOPES.includes(scopes[0] as ApiTokenScope))
    throw new UsageError(`--scope takes ${API_TOKEN_SCOPES.join(' or ')}, not ${scopes[0]}`);
  const { token } = await app
    .get(ApiTokensService)
    .create(user, values.name ?? 'cli', lifetime, CLI, null, scopes as ApiTokenScope[]);
  out(token);
}

async function listApiTokens({ values }: Args, { app, out }: Context): Promise<void> {
  const userId = values.user === undefined ? undefined : (await findUser(app, values.user)).id;
  const { items } = await app.get(ApiTokensService).list({ userId, limit: 10_000, offset: 0 });
  const when = (date: Date | null) => date?.toISOString() ?? '-';
  const now = new Date();
  out(['id', 'user', 'name', 'created', 'last used', 'expires', 'status', 'scopes'].join('\t'));
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
        token.scopes.join(','),
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
  for (const set of await app.get(KeysService).rotate(CLI))
    out(`${set.use} ${set.alg}: active ${set.activeKid}, next ${set.nextKid}`);
}

async function rotateKeyEncryptionKey(_args: Args, { app, config, out }: Context): Promise<void> {
  if (!config.keys.previousEncryptionKey)
    throw new UsageError('set KEY_ENCRYPTION_KEY to the new key and KEY_ENCRYPTION_KEY_PREVIOUS to the old one');
  const { resealed, total, kekId, secrets } = await app.get(KeysService).resealKeys();
  out(
    `resealed ${resealed} of ${total} signing key(s) under key-encryption key ${kekId}` +
      `${secrets ? ` (and ${secrets} SSF push authorization header(s))` : ''}; KEY_ENCRYPTION_KEY_PREVIOUS can now be removed`,
  );
}

async function importSamlSp({ values, positionals }: Args, { app, out }: Context): Promise<void> {
  const source = samlMetadataSource(values, positionals);
  const attributes = (values.attribute ?? []).map(attributeOption);
  const { sp, view } = await app
    .get(ProvidersAdminService)
    .create(
      {
        protocol: 'saml',
        slug: values.slug,
        name: values.name,
        saml: {
          ...source,
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
          attributeProfile: choice('attribute-profile', values['attribute-profile'], ['standard', 'none'] as const),
          subjectIdentifier: choice('subject-identifier', values['subject-identifier'], [
            'subject-id',
            'pairwise-id',
          ] as const),
          attributeMappings: attributes.length ? attributes : undefined,
          logoutReturnUrls: values['logout-return-url'],
          encryptAssertions: values['encrypt-assertions'],
        },
      },
      CLI,
    )
    .catch((error: unknown) => {
      // Name the --attribute each problem is about, as typed.
      if (error instanceof SignoffError && error.code === 'invalid_attribute_mapping')
        throw new UsageError(
          (error.details as string[])
            .map((detail) =>
              detail.replace(
                /^attributeMappings\[(\d+)\]\.?/,
                (_all, i: string) => `--attribute ${values.attribute![Number(i)]}: `,
              ),
            )
            .join('; '),
        );
      throw error;
    });
  out(
    `registered SAML SP ${sp.entityId} as ${sp.provider.slug} (${sp.providerId}); logout ${sp.logoutMethod}${sp.slsBinding ? ` over ${sp.slsBinding}` : ', no SingleLogoutService'}`,
  );
  if (sp.metadataUrl)
    out(
      `metadata fetched from ${sp.metadataUrl}${sp.metadataSigningCertificate ? ', its signature checked against the pinned certificate' : ''}; the worker refreshes it from there`,
    );
  if (values.attribute || values['attribute-profile'] || values['subject-identifier'])
    out(
      `attributes sent (each when the user has a value): ${
        releasedAttributeNames(sp)
          .map((attribute) => attribute.friendlyName ?? attribute.name)
          .join(', ') || 'none'
      }`,
    );
  for (const hint of view.saml?.requestedAttributes ?? [])
    out(
      `requested attribute ${hint.name}${hint.friendlyName ? ` (${hint.friendlyName})` : ''}${hint.isRequired ? ', required' : ''}: ${hint.provided ? 'sent' : 'NOT sent; add it with --attribute or the admin API'}`,
    );
  if (sp.logoutReturnUrls.length) out(`logout return URLs: ${sp.logoutReturnUrls.join(', ')}`);
  const encryption = view.saml?.assertionEncryption;
  if (sp.encryptAssertions && encryption)
    out(`assertions encrypted: ${encryption.contentEncryption} content, ${encryption.keyTransport} key transport`);
  for (const warning of view.saml?.warnings ?? spWarnings(sp)) out(`warning: ${warning}`);
}

/** The SP's metadata read from the file named, or its `--metadata-url` with the certificate in `--metadata-signing-certificate`. */
function samlMetadataSource(
  values: Args['values'],
  positionals: string[],
): { metadata: SpMetadata } | { metadataUrl: string; metadataSigningCertificate?: string } {
  const url = values['metadata-url'];
  const certificateFile = values['metadata-signing-certificate'];
  if (url === undefined) {
    if (certificateFile !== undefined) throw new UsageError('--metadata-signing-certificate goes with --metadata-url');
    const file = one(positionals, 'the path of the SP metadata XML, or --metadata-url <url>');
    try {
      return { metadata: parseSpMetadata(readFileSync(file, 'utf8')) };
    } catch (error) {
      throw new UsageError(`cannot import ${file}: ${(error as Error).message}`);
    }
  }
  if (positionals.length) throw new UsageError('give the SP metadata XML or --metadata-url <url>, not both');
  if (certificateFile === undefined) return { metadataUrl: url };
  try {
    return { metadataUrl: url, metadataSigningCertificate: readFileSync(certificateFile, 'utf8') };
  } catch (error) {
    throw new UsageError(`cannot read ${certificateFile}: ${(error as Error).message}`);
  }
}

async function refreshSamlMetadata({ positionals }: Args, { app, out }: Context): Promise<void> {
  const slug = one(positionals, 'the slug of a SAML service provider');
  const providers = app.get(ProvidersAdminService);
  const found = (await providers.list()).find((provider) => provider.slug === slug);
  if (!found) throw new Error(`no provider "${slug}"`);
  const { changes, provider } = await providers.refreshMetadata(found.id, CLI);
  const changed = Object.keys(changes);
  out(
    `refreshed the metadata of ${slug} from ${provider.saml?.metadataUrl}: ${changed.length ? `changed ${changed.join(', ')}` : 'nothing changed'}`,
  );
  for (const [what, change] of [
    ['signing certificate', changes.certificates],
    ['encryption certificate', changes.encryptionCertificates],
  ] as const) {
    for (const fingerprint of change?.added ?? []) out(`${what} added: ${fingerprint}`);
    for (const fingerprint of change?.removed ?? []) out(`${what} removed: ${fingerprint}`);
  }
  if (changes.singleLogout)
    out(
      `SingleLogoutService: ${JSON.stringify(changes.singleLogout.before)} -> ${JSON.stringify(changes.singleLogout.after)}`,
    );
}

/** `--attribute <Name>=<field>`: a basic-NameFormat attribute valued from a user field (the last "=" splits). */
function attributeOption(text: string): AttributeAssignment {
  const split = text.lastIndexOf('=');
  if (split < 1 || split === text.length - 1)
    throw new UsageError(`--attribute takes <Name>=<field>, e.g. --attribute email=email (got "${text}")`);
  return { name: text.slice(0, split), nameFormat: 'basic', from: text.slice(split + 1) };
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
    .create(
      { protocol: 'oidc', oidc: oidcInput(input, values['client-id']), slug: values.slug, name: values.name },
      CLI,
    )
    .catch((error: unknown) => {
      if (error instanceof ProviderAdminError && error.reason === 'invalid_oidc_metadata')
        throw new UsageError(error.details![0]);
      throw error;
    });
  out(`client_id=${client.clientId}`);
  if (clientSecret) out(`client_secret=${clientSecret}`);
  out(`provider=${client.provider.slug} (${client.providerId})`);
}

/** The metadata with --client-id as its client_id (the administrator's choice; checked by ProvidersAdminService). */
function oidcInput(metadata: unknown, clientId: string | undefined): unknown {
  if (clientId === undefined) return metadata;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return metadata; // refused as metadata
  const given = (metadata as { client_id?: unknown }).client_id;
  if (given !== undefined && given !== clientId)
    throw new UsageError(`--client-id ${clientId} differs from the client_id in the JSON file`);
  return { ...metadata, client_id: clientId };
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

function two(positionals: string[], what: string): [string, string] {
  if (positionals.length !== 2) throw new UsageError(`expected ${what}`);
  return [positionals[0], positionals[1]];
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
