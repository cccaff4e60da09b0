import { accountForLogoutHint, type LiveAccount } from './rp-initiated-logout';

describe('accountForLogoutHint (RP-Initiated Logout 1.0 §2 logout_hint)', () => {
  const account = (id: string, username: string, email: string | null): LiveAccount => ({
    id,
    user: { username, email },
  });
  const live = [
    account('s-bob', 'bob', 'shared@example.org'),
    account('s-alice', 'alice', 'Alice@Example.org'),
    account('s-carol', 'carol', 'shared@example.org'),
    account('s-dave', 'dave', 'alice'),
  ];

  it.each<[string, string, string | null]>([
    ['a username', 'alice', 's-alice'],
    ['a username in another case (usernames are stored lower-cased)', 'ALICE', 's-alice'],
    ['an email address, without regard to case', 'alice@example.ORG', 's-alice'],
    ['a username before an email address that is the same text', 'alice', 's-alice'],
    ['an email address several accounts share: none of them', 'shared@example.org', null],
    ['nobody of this browser', 'eve', null],
    ['an empty hint', '  ', null],
    ['an opaque value (another OP, a session id)', 's-alice', null],
  ])('%s', (_name, hint, expected) => {
    expect(accountForLogoutHint(hint, live)?.id ?? null).toBe(expected);
  });

  it('names nobody when the browser has no account', () => {
    expect(accountForLogoutHint('alice', [])).toBeNull();
  });
});
