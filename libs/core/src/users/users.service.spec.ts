import { SignoffError } from '../errors/signoff-error';
import { checkProfile } from './users.service';

// The profile checks every caller goes through (the admin API's schemas say the same; the CLI has only these).
const problems = (profile: Parameters<typeof checkProfile>[0]): string[] => {
  try {
    checkProfile(profile);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(SignoffError);
    expect((error as SignoffError).code).toBe('invalid_request');
    return (error as SignoffError).details as string[];
  }
};

describe('checkProfile', () => {
  it('accepts the longest values the columns hold, nulls, and a verified address', () => {
    expect(
      problems({
        email: `${'e'.repeat(242)}@example.org`,
        emailVerified: true,
        name: 'n'.repeat(200),
        givenName: 'g'.repeat(100),
        familyName: 'f'.repeat(100),
      }),
    ).toEqual([]);
    expect(problems({ email: null, name: null, givenName: null, familyName: null, emailVerified: false })).toEqual([]);
    expect(problems({})).toEqual([]);
  });

  it('lists every value too long for its column', () => {
    expect(
      problems({
        email: `${'e'.repeat(243)}@example.org`,
        name: 'n'.repeat(201),
        givenName: 'g'.repeat(101),
        familyName: 'f'.repeat(101),
      }),
    ).toEqual([
      'email: must be a string of at most 254 characters',
      'name: must be a string of at most 200 characters',
      'givenName: must be a string of at most 100 characters',
      'familyName: must be a string of at most 100 characters',
    ]);
  });

  it('verifies only an address the user has', () => {
    expect(problems({ emailVerified: true })).toEqual([
      'emailVerified: an address can be verified only when the user has one',
    ]);
    expect(problems({ email: '', emailVerified: true })).toHaveLength(1);
    expect(problems({ email: 'a@example.org', emailVerified: 'yes' as unknown as boolean })).toEqual([
      'emailVerified: must be true or false',
    ]);
  });

  it('refuses control characters (not even XML 1.0 allows most of them: SAML assertions would break)', () => {
    expect(problems({ name: 'Ada\u0001', givenName: 'line\nbreak', familyName: 'Lovelace' })).toEqual([
      'name: must not contain control characters',
      'givenName: must not contain control characters',
    ]);
  });

  it('refuses the other characters XML cannot carry, and keeps those it can (an emoji is a surrogate pair)', () => {
    expect(problems({ name: 'Ada\uFFFF', givenName: 'half \uD83D', familyName: '\uDE00 half' })).toEqual([
      'name: must not contain U+FFFE, U+FFFF or an unpaired surrogate (XML cannot carry them)',
      'givenName: must not contain U+FFFE, U+FFFF or an unpaired surrogate (XML cannot carry them)',
      'familyName: must not contain U+FFFE, U+FFFF or an unpaired surrogate (XML cannot carry them)',
    ]);
    expect(problems({ name: 'Ada 😀 \uFFFD \u2028' })).toEqual([]);
  });
});
