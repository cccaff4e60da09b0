import { Injectable } from '@nestjs/common';
import { SignoffError } from '@signoff/core';
import type { BrowserLogout, OwedAnswer } from '@signoff/logout';
import { OidcClientsService, type RegisteredClient } from '../clients/oidc-clients.service';
import { OidcSessionsService } from '../oidc-sessions.service';
import { IdTokenHintVerifier, type VerifiedHint } from './id-token-hint';
import type { OwedPostLogoutRedirect } from './oidc-logout.protocol';

/** The request parameters of RP-Initiated Logout 1.0 §2, relayed as they came when a cross-site POST needs relaying. */
export const END_SESSION_PARAMS = [
  'id_token_hint',
  'logout_hint',
  'client_id',
  'post_logout_redirect_uri',
  'state',
  'ui_locales',
];

/** A validated RP-initiated logout request. */
export interface RpLogoutRequest {
  client: RegisteredClient | null;
  hint: VerifiedHint | null;
  /** `logout_hint` (§2), as given: which of this browser's accounts to end when there is no id_token_hint. */
  logoutHint: string | null;
  /** What the RP is owed at the end: its post_logout_redirect_uri with state, or the signed-out page. */
  owed: OwedAnswer;
  /** Where the browser goes when there is nothing to end: the same place, "signed out". */
  signedOutUrl: string;
}

/**
 * What an RP-initiated logout asks of this browser:
 * - `now`: a valid hint names one of this browser's sessions: it ends at once;
 * - `ask`: an account of this browser may end if its user confirms (`idpSessionId` null: nobody is
 *   signed in here, nothing to end): the one a `logout_hint` names, else the current one.
 *   `elsewhere` is the hint's client session in an IdP session this browser does not hold: it ends at
 *   that client only, before anything else.
 */
export type RpLogoutPlan =
  | { kind: 'now'; idpSessionId: string }
  | { kind: 'ask'; idpSessionId: string | null; elsewhere: { providerId: string; providerSessionId: string } | null };

/**
 * RP-Initiated Logout 1.0. A bad, foreign or `alg: none` id_token_hint, a client_id that is not the
 * hint's audience, or an unregistered post_logout_redirect_uri are refused (an error page, never a
 * redirect). With a valid hint for one of this browser's sessions the logout runs at once; otherwise
 * the user confirms first. The browser is sent to the post_logout_redirect_uri "signed out" without a
 * logout only when there is nothing to end: no hint and nobody signed in, or a hint whose session has
 * already ended (§2: the OP must not claim a logout it did not do, and a cookie the browser withheld
 * is not the same as no session). A hint naming a live session this browser does not hold (another
 * device, a lost cookie) ends that session at the hint's client only — what the RP could end by
 * itself — never the IdP session: an ID token is no proof that whoever holds this browser is its user.
 */
@Injectable()
export class RpInitiatedLogout {
  constructor(
    private readonly hints: IdTokenHintVerifier,
    private readonly clients: OidcClientsService,
    private readonly sessions: OidcSessionsService,
  ) {}

  /** Validates the request's parameters (query or form body); throws SignoffError `invalid_request`. */
  async parse(params: Record<string, unknown>): Promise<RpLogoutRequest> {
    const text = (name: string) => {
      const value = params[name];
      if (value !== undefined && typeof value !== 'string') throw refused(`${name} must be given once.`);
      return value || null;
    };
    const hintRaw = text('id_token_hint');
    const logoutHint = text('logout_hint');
    if (logoutHint && logoutHint.length > MAX_LOGOUT_HINT) throw refused('logout_hint is too long.');
    const hint = hintRaw ? await this.hints.verify(hintRaw) : null;
    if (hintRaw && !hint) throw refused('The id_token_hint is not a valid ID token issued by Signoff.');
    const clientIdParam = text('client_id');
    if (hint && clientIdParam && clientIdParam !== hint.clientId)
      throw refused('client_id does not match the id_token_hint.');
    const clientId = hint?.clientId ?? clientIdParam;
    const client = clientId ? await this.clients.find(clientId) : null;
    if (clientId && !client) throw refused('The application is not registered at Signoff.');

    const redirectUri = text('post_logout_redirect_uri');
    if (redirectUri && !client) throw refused('A post_logout_redirect_uri needs an id_token_hint or a client_id.');
    // Exact match against the registered URIs (§3): no prefix, no normalisation.
    if (redirectUri && !client!.postLogoutRedirectUris.includes(redirectUri))
      throw refused('The post_logout_redirect_uri is not registered for this application.');
    if (!redirectUri)
      return { client, hint, logoutHint, owed: { to: 'signed-out-page' }, signedOutUrl: '/logout/done' };
    const owed: OwedPostLogoutRedirect = { postLogoutRedirectUri: redirectUri, state: text('state') };
    return {
      client,
      hint,
      logoutHint,
      owed: { to: 'application', protocol: 'oidc', providerId: client!.providerId, owed },
      signedOutUrl: postLogoutRedirect(owed),
    };
  }

  /**
   * What the request asks of a browser whose live IdP sessions are `live` (most recent first). Without
   * an id_token_hint, a `logout_hint` naming one of these accounts (accountForLogoutHint) picks the
   * session to confirm; one naming none of them is ignored, and the current account is asked about as
   * usual. A logout_hint is no proof of anything (§6: requests without a valid id_token_hint get the
   * user's confirmation), so it never ends a session at once, and never reaches beyond this browser.
   */
  async plan(request: RpLogoutRequest, live: LiveAccount[]): Promise<RpLogoutPlan> {
    const { hint, client } = request;
    if (!hint) {
      const named = request.logoutHint ? accountForLogoutHint(request.logoutHint, live) : null;
      return { kind: 'ask', idpSessionId: (named ?? live[0])?.id ?? null, elsewhere: null };
    }
    // The hint's sid names a live IdP session (its sub as that client was given it), or none.
    const hinted = hint && client ? await this.sessions.hintedIdpSession(hint, client.providerId) : null;
    if (hinted && live.some((session) => session.id === hinted.id)) return { kind: 'now', idpSessionId: hinted.id };
    const own = hinted ? await this.sessions.liveOf(hinted.id, client!.providerId) : null;
    return {
      kind: 'ask',
      idpSessionId: live[0]?.id ?? null,
      elsewhere: own ? { providerId: client!.providerId, providerSessionId: own.id } : null,
    };
  }

  /** The logout of `idpSessionId` that the RP (or, without a client, an anonymous request) asked for. */
  async logout(client: RegisteredClient | null, idpSessionId: string, owed: OwedAnswer): Promise<BrowserLogout> {
    const initiating = client ? await this.sessions.liveOf(idpSessionId, client.providerId) : null;
    return {
      trigger: 'rp_initiated',
      initiator: client ? { type: 'provider', id: client.providerId } : { type: 'anonymous' },
      idpSessionIds: [idpSessionId],
      initiatingProviderSessionId: initiating?.id ?? null,
      provider: client?.provider ?? null,
      owed,
    };
  }
}

/** One of this browser's live accounts, as the logout_hint is matched against it. */
export interface LiveAccount {
  id: string;
  user: { username: string; email: string | null };
}

/** The longest logout_hint looked at (an email address is at most 254 characters). */
const MAX_LOGOUT_HINT = 254;

/**
 * The account of this browser a `logout_hint` (RP-Initiated Logout 1.0 §2) names, or null: the one
 * whose username it is (usernames are stored lower-cased and compared so), else the only one whose
 * email address it is, compared without regard to case (emails are not unique here: a hint that
 * fits several accounts names none of them). Signoff's usernames and email addresses are what an RP
 * knows of its user (`preferred_username`, `email`); the hint never names a session, so an opaque
 * value from another OP simply matches nothing.
 */
export function accountForLogoutHint<T extends LiveAccount>(logoutHint: string, live: readonly T[]): T | null {
  const wanted = logoutHint.trim().toLowerCase();
  if (!wanted) return null;
  const byUsername = live.find((session) => session.user.username.toLowerCase() === wanted);
  if (byUsername) return byUsername;
  const byEmail = live.filter((session) => session.user.email?.toLowerCase() === wanted);
  return byEmail.length === 1 ? byEmail[0] : null;
}

/** The post_logout_redirect_uri exactly as registered (not re-serialised), plus `state` when given (§3). */
export function postLogoutRedirect({ postLogoutRedirectUri: uri, state }: OwedPostLogoutRedirect): string {
  return state === null ? uri : `${uri}${uri.includes('?') ? '&' : '?'}state=${encodeURIComponent(state)}`;
}

function refused(message: string): SignoffError {
  return new SignoffError('invalid_request', message);
}
