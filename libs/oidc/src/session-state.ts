import { webOrigin } from '@signoff/core';
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
  return createHash('sha256')
    .update(`${current}|${others.sort().join(',')}`)
    .digest('base64url');
}

export function sessionState(
  clientId: string,
  origin: string,
  state: string,
  salt = randomBytes(8).toString('hex'),
): string {
  return `${createHash('sha256').update(`${clientId} ${origin} ${state} ${salt}`).digest('hex')}.${salt}`;
}

/** Does `value` equal session_state for this client, origin and browser state (with the value's own salt)? */
export function sessionStateMatches(value: string, clientId: string, origin: string, state: string): boolean {
  const match = /^[0-9a-f]{64}\.([0-9a-f]{1,64})$/.exec(value);
  return Boolean(match) && sessionState(clientId, origin, state, match![1]) === value;
}

/** session_state for an authorization response to `redirectUri`; null when it has no web origin, so no check_session iframe could ever verify it. */
export function sessionStateFor(clientId: string, redirectUri: string, state: string): string | null {
  const origin = webOrigin(redirectUri);
  return origin ? sessionState(clientId, origin, state) : null;
}

export type CheckSessionResult = 'changed' | 'unchanged' | 'error';

/**
 * The check_session answer for a message "client_id session_state" posted from `origin`: `error`
 * unless `origin` is exactly the web origin of one of the client's redirect URIs (an opaque origin
 * "null" never is), else whether `value` still matches the browser's state.
 */
export function checkSessionResult(
  client: { clientId: string; redirectUris: string[] } | null,
  origin: string,
  value: string,
  state: string,
): CheckSessionResult {
  if (!client || webOrigin(origin) !== origin) return 'error';
  if (!client.redirectUris.some((uri) => webOrigin(uri) === origin)) return 'error';
  return sessionStateMatches(value, client.clientId, origin, state) ? 'unchanged' : 'changed';
}
