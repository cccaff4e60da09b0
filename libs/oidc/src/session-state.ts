import { createHash, randomBytes } from 'node:crypto';

/**
 * OIDC Session Management 1.0. The browser state is a digest of the browser's live IdP sessions (and
 * which one is current), so it changes on every login, logout, account switch, expiry or admin kill.
 * session_state = SHA-256(client_id " " origin " " browser_state " " salt) "." salt, as the spec's
 * example; the check_session iframe computes the same value in the browser.
 */
export function browserState(liveSessionIds: string[]): string {
  if (!liveSessionIds.length) return 'signed-out';
  const [current, ...others] = liveSessionIds;
  return createHash('sha256').update(`${current}|${others.sort().join(',')}`).digest('base64url');
}

export function sessionState(clientId: string, origin: string, state: string, salt = randomBytes(8).toString('hex')): string {
  return `${createHash('sha256').update(`${clientId} ${origin} ${state} ${salt}`).digest('hex')}.${salt}`;
}

/** Does `value` equal session_state for this client, origin and browser state (with the value's own salt)? */
export function sessionStateMatches(value: string, clientId: string, origin: string, state: string): boolean {
  const match = /^[0-9a-f]{64}\.([0-9a-f]{1,64})$/.exec(value);
  return Boolean(match) && sessionState(clientId, origin, state, match![1]) === value;
}
