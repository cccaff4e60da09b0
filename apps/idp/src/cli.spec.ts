import { loadConfig } from '@signoff/core';
import { runCli } from './cli';

/** Runs the CLI; none of these commands gets as far as opening the database. */
async function cli(...argv: string[]) {
  const stdout: string[] = [];
  let stderr = '';
  const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await runCli(argv, loadConfig({ DATA_DIR: '/nonexistent/signoff' }), (line) => stdout.push(line));
    return { code, stdout: stdout.join('\n'), stderr };
  } finally {
    write.mockRestore();
  }
}

// The usage as it has always read: the command table must keep generating exactly this text.
const USAGE = [
  'usage: npm run signoff -- <command> [options]',
  '',
  'commands:',
  '  create-user <username> [--password <pw> | --password-stdin] [--email <e>] [--name <n>] [--admin]',
  '              [--given-name <g>] [--family-name <f>] [--email-verified]',
  '  list-users',
  "  deactivate-user <username>          deactivate and end all of the user's sessions",
  '  set-password <username> [--password <pw> | --password-stdin]',
  "                                      set a new password; ends all of the user's sessions",
  '                                      and revokes their tokens',
  '  create-group <name> [--description <d>]',
  '                                      a group applications see (OIDC groups claim, SAML isMemberOf)',
  '  list-groups                         name, id, members, description',
  '  add-to-group <group> <username>     add a user to a group',
  '  remove-from-group <group> <username>',
  '                                      remove a user from a group',
  '  create-api-token <username> [--name <n>] [--expires-in <duration, e.g. 90d>] [--scope <s>]...',
  '                                      prints a bearer token (shown once): for the admin API, or with',
  '                                      --scope global_token_revocation for that endpoint alone',
  '  list-api-tokens [--user <username>] id, user, name, created, last used, expires, status, scopes',
  '  revoke-api-token <id>               revoke an API token at once',
  '  create-ssf-receiver <name> [--slug <s>] [--audience <aud>] [--subject-format iss_sub|email]',
  '                                      registers a Shared Signals receiver and prints its bearer token',
  '                                      (shown once), with which it creates its stream (docs/shared-signals.md)',
  '  list-ssf-receivers                  id, slug, name, audience, stream id, delivery method, status',
  '  rotate-keys                         next -> active -> retired for every signing key set',
  '  rotate-key-encryption-key           reseal every private signing key under KEY_ENCRYPTION_KEY',
  '                                      (the old key given as KEY_ENCRYPTION_KEY_PREVIOUS; docs/security.md)',
  '  import-saml-sp <metadata.xml> | --metadata-url <url> [--metadata-signing-certificate <pem-file>]',
  '                 [--slug <s>] [--name <n>]',
  '                 [--logout-method frontchannel_iframe|frontchannel_native|backchannel]',
  '                 [--sls-binding redirect|post|soap] [--sign-logout-requests] [--require-signed-requests]',
  '                 [--name-id-source persistent|email|username|transient] [--allow-unsigned-logout-requests]',
  '                 [--attribute-profile standard|none] [--subject-identifier subject-id|pairwise-id]',
  '                 [--attribute <Name>=<field>]... [--logout-return-url <url>]... [--encrypt-assertions]',
  '                                      registers a SAML service provider from its metadata;',
  '                                      --metadata-url: fetched from there (and refreshed by the',
  '                                      worker), signed by the certificate in <pem-file> if given;',
  '                                      --attribute (repeatable) adds a basic-NameFormat attribute',
  '                                      to the profile from a user field: id, username, email,',
  '                                      name, givenName, familyName, groups, or <field>@scope;',
  '                                      --logout-return-url (repeatable): where /logout?return_to=',
  '                                      &client_id=<entityID> may end (https, one *. label allowed);',
  "                                      --encrypt-assertions: to the SP's encryption certificate",
  "  refresh-saml-metadata <slug>        fetch a SAML SP's metadata from its metadata URL now",
  '                                      and apply what changed (as the worker does)',
  '  create-oidc-client --json <file> [--client-id <id>] [--slug <s>] [--name <n>]',
  '                                      registers an OIDC client from RFC 7591 metadata (JSON);',
  '                                      prints client_id (--client-id, else random)',
  '                                      and client_secret (shown once)',
  '',
].join('\n');

describe('the CLI', () => {
  it('prints the usage on stdout: exit 2 without a command, 0 when asked for help', async () => {
    expect(await cli()).toEqual({ code: 2, stdout: USAGE, stderr: '' });
    expect(await cli('--help')).toEqual({ code: 0, stdout: USAGE, stderr: '' });
    expect(await cli('help')).toEqual({ code: 0, stdout: USAGE, stderr: '' });
  });

  it.each(['frobnicate', 'toString', 'constructor', '__proto__'])(
    'refuses the unknown command %s with exit 2 and the usage on stderr',
    async (name) => {
      expect(await cli(name)).toEqual({
        code: 2,
        stdout: '',
        stderr: `signoff: unknown command "${name}"\n\n${USAGE}`,
      });
    },
  );

  it('refuses an unknown option, of any command, with exit 2 and the usage', async () => {
    for (const argv of [
      ['list-users', '--bogus'],
      ['frobnicate', '--bogus'],
    ]) {
      const { code, stderr } = await cli(...argv);
      expect(code).toBe(2);
      expect(stderr).toMatch(/^signoff: .*Unknown option '--bogus'/);
      expect(stderr.endsWith(`\n\n${USAGE}`)).toBe(true);
    }
  });
});
