import type { User } from '@signoff/core';
import { SCOPE_CLAIMS, SUPPORTED_CLAIMS, SUPPORTED_SCOPES, userClaims } from './claims';

const user = (fields: Partial<User> = {}): User =>
  ({
    id: 'u1',
    username: 'ada',
    email: 'ada@example.org',
    emailVerified: true,
    name: 'Ada Lovelace',
    givenName: 'Ada',
    familyName: 'Lovelace',
    updatedAt: new Date(1_700_000_000_999),
    ...fields,
  }) as User;

describe('userClaims', () => {
  it('releases each scope’s claims (OIDC Core §5.4), updated_at in whole seconds', () => {
    expect(userClaims(user(), ['openid', 'profile', 'email', 'groups'], ['admins', 'staff'])).toEqual({
      name: 'Ada Lovelace',
      given_name: 'Ada',
      family_name: 'Lovelace',
      preferred_username: 'ada',
      updated_at: 1_700_000_000,
      email: 'ada@example.org',
      email_verified: true,
      groups: ['admins', 'staff'],
    });
  });

  it.each([
    [['openid'], []],
    [['openid', 'profile'], SCOPE_CLAIMS.profile],
    [['openid', 'email'], SCOPE_CLAIMS.email],
    [['openid', 'groups'], SCOPE_CLAIMS.groups],
    [['openid', 'offline_access', 'phone'], []],
  ])('with scopes %j releases exactly %j', (scopes, claims) => {
    expect(Object.keys(userClaims(user(), scopes, ['staff'])).sort()).toEqual([...claims].sort());
  });

  it('omits claims with no value instead of sending null or an empty list', () => {
    const bare = user({ email: null, emailVerified: false, name: null, givenName: null, familyName: null });
    const claims = userClaims(bare, ['openid', 'profile', 'email', 'groups'], []);
    expect(claims).toEqual({ preferred_username: 'ada', updated_at: 1_700_000_000 });
  });

  it('sends email_verified false for an unverified address, and copies the group list', () => {
    const groups = ['staff'];
    const claims = userClaims(user({ emailVerified: false }), ['email', 'groups'], groups);
    expect(claims).toEqual({ email: 'ada@example.org', email_verified: false, groups: ['staff'] });
    expect(claims.groups).not.toBe(groups);
  });

  it('names every scope claim in the discovery lists', () => {
    expect(SUPPORTED_SCOPES).toEqual(['openid', 'profile', 'email', 'groups', 'offline_access']);
    for (const claim of Object.values(SCOPE_CLAIMS).flat()) expect(SUPPORTED_CLAIMS).toContain(claim);
  });
});
