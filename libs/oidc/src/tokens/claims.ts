import { Injectable } from '@nestjs/common';
import { GroupsService, type User } from '@signoff/core';

/**
 * The scopes Signoff grants; any other requested scope is dropped from the grant (RFC 6749 §3.3:
 * the server may ignore scopes it does not support, and says so in the token response's `scope`).
 * `groups` is not an OIDC Core scope, but the name Keycloak, authentik and most RPs use for it.
 */
export const SUPPORTED_SCOPES = ['openid', 'profile', 'email', 'groups', 'offline_access'];

/** The claims each scope releases: OIDC Core §5.4 for profile and email (the profile claims Signoff keeps), and `groups`. */
export const SCOPE_CLAIMS = {
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
  groups: ['groups'],
} as const satisfies Record<string, readonly string[]>;

/** Every claim an ID token or the UserInfo response may carry (discovery's `claims_supported`). */
export const SUPPORTED_CLAIMS = [
  'sub',
  'iss',
  'aud',
  'exp',
  'iat',
  'auth_time',
  'nonce',
  'sid',
  'at_hash',
  ...Object.values(SCOPE_CLAIMS).flat(),
];

/**
 * The user's claims for the granted scopes. A claim with no value is left out, never sent as null
 * (OIDC Core §5.3.2: "If a Claim is not returned, that Claim Name SHOULD be omitted ... rather than
 * being present with a null or empty string value"); for the same reason a user in no group gets no
 * `groups` claim rather than an empty one. `email_verified` goes with an `email` only: it says
 * something about that address. `updated_at` is in seconds since the epoch (§5.1).
 */
export function userClaims(user: User, scopes: readonly string[], groups: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  if (scopes.includes('profile')) {
    if (user.name) claims.name = user.name;
    if (user.givenName) claims.given_name = user.givenName;
    if (user.familyName) claims.family_name = user.familyName;
    claims.preferred_username = user.username;
    claims.updated_at = Math.floor(user.updatedAt.getTime() / 1000);
  }
  if (scopes.includes('email') && user.email) {
    claims.email = user.email;
    claims.email_verified = user.emailVerified;
  }
  if (scopes.includes('groups') && groups.length) claims.groups = [...groups];
  return claims;
}

/**
 * The claims of a user for a grant's scopes, as both the ID token and the UserInfo response carry
 * them.
 *
 * Where they go: OIDC Core §5.4 says that with a response type that issues an access token (Signoff
 * issues only `code`) the scope claims "are returned from the UserInfo Endpoint"; §2 lets an ID token
 * carry other claims too. Signoff puts them in both, as Keycloak and authentik do, because widely
 * deployed RPs read them from the ID token only (mod_auth_openidc unless told to call userinfo, many
 * libraries' defaults). Both are built here from the same grant, so they never disagree; an RP that
 * wants a small ID token asks only for `openid` and reads the rest from userinfo.
 */
@Injectable()
export class ClaimsService {
  constructor(private readonly groups: GroupsService) {}

  /** The user's claims for these granted scopes; the group lookup is made only when `groups` was granted. */
  async forScopes(user: User, scopes: readonly string[]): Promise<Record<string, unknown>> {
    const groups = scopes.includes('groups') ? await this.groups.namesOf(user.id) : [];
    return userClaims(user, scopes, groups);
  }
}
