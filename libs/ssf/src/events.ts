import type { ActorType, LogoutTrigger } from '@signoff/core';

/** The event types Signoff transmits (CAEP 1.0 §3, RISC 1.0 §2, SSF 1.0 §8.1.4). */
export const EVENT_TYPES = {
  sessionRevoked: 'https://schemas.openid.net/secevent/caep/event-type/session-revoked',
  credentialChange: 'https://schemas.openid.net/secevent/caep/event-type/credential-change',
  accountDisabled: 'https://schemas.openid.net/secevent/risc/event-type/account-disabled',
  accountEnabled: 'https://schemas.openid.net/secevent/risc/event-type/account-enabled',
  verification: 'https://schemas.openid.net/secevent/ssf/event-type/verification',
} as const;

/**
 * What a receiver may ask for (a stream's `events_supported`, SSF 1.0 §8.1.1). Verification is not
 * among them: it is sent whenever asked for, whatever the stream requested (§8.1.4).
 */
export const EVENTS_SUPPORTED: readonly string[] = [
  EVENT_TYPES.sessionRevoked,
  EVENT_TYPES.credentialChange,
  EVENT_TYPES.accountDisabled,
  EVENT_TYPES.accountEnabled,
];

/** CAEP 1.0 §2 `initiating_entity`. */
export type InitiatingEntity = 'admin' | 'user' | 'policy' | 'system';

/**
 * Who ended it, as CAEP says it (§2): the user (a logout of their own, at Signoff or at an
 * application), an administrator (a session ended, an account deactivated), or policy (a session's
 * lifetime, a security tool's global revocation). A password change is the user's or an admin's.
 */
export function initiatingEntityOf(trigger: LogoutTrigger, initiatorType: ActorType): InitiatingEntity {
  switch (trigger) {
    case 'user_logout':
    case 'rp_initiated':
    case 'sp_initiated':
      return 'user';
    case 'password_changed':
      return initiatorType === 'user' ? 'user' : 'admin';
    case 'expiry':
    case 'global_revocation':
      return 'policy';
    case 'ssf_verification':
      return 'system';
    default:
      return 'admin';
  }
}

/** A reason in words (CAEP 1.0 §2 reason_admin / reason_user: language-tagged strings). */
type Reasons = { reason_admin: { en: string }; reason_user: { en: string } };

const REASONS: Record<LogoutTrigger, [admin: string, user: string]> = {
  user_logout: ['The user signed out at the identity provider', 'You signed out.'],
  rp_initiated: ['The user signed out at an OpenID Connect application', 'You signed out.'],
  sp_initiated: ['The user signed out at a SAML application', 'You signed out.'],
  admin_session: ['An administrator ended the session', 'An administrator signed you out.'],
  user_deactivated: ['The account was deactivated', 'Your account was deactivated.'],
  password_changed: ['The password was changed', 'Your password was changed: sign in again.'],
  global_revocation: [
    'A trusted party asked for global token revocation of the user',
    'You were signed out for your security.',
  ],
  expiry: ['The session reached the end of its lifetime', 'Your session expired.'],
  api: ['Ended through the admin API', 'You were signed out.'],
  user_activated: ['The account was activated again', 'Your account can be used again.'],
  ssf_verification: ['Stream verification', 'Stream verification.'],
};

/** reason_admin and reason_user for what a logout's trigger did (the CAEP interop profile asks for reason_admin). */
export function reasonsOf(trigger: LogoutTrigger): Reasons {
  const [admin, user] = REASONS[trigger];
  return { reason_admin: { en: admin }, reason_user: { en: user } };
}

/** The triggers after which the user's account is disabled (RISC account-disabled) or enabled again. */
export const DISABLES_ACCOUNT: readonly LogoutTrigger[] = ['user_deactivated'];
export const ENABLES_ACCOUNT: readonly LogoutTrigger[] = ['user_activated'];
/** The triggers that change the user's password (CAEP credential-change). */
export const CHANGES_PASSWORD: readonly LogoutTrigger[] = ['password_changed'];
