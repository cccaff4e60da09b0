import { All, BadRequestException, Body, Controller, NotFoundException, Post, Req, Res } from '@nestjs/common';
import { PendingStore } from '@signoff/core';
import { FlowExecutor } from '@signoff/flows';
import { LogoutOrchestrator } from '@signoff/logout';
import { IdTokenHintVerifier, OidcClientsService, OidcSessionsService, type RegisteredClient } from '@signoff/oidc';
import { IdpSessionsService } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { form, h, page } from '../http/html';
import { LogoutRunner } from '../logout/logout-runner.service';

/** A validated end_session request waiting for the user's confirmation. */
interface PendingLogout {
  clientId: string | null;
  idpSessionId: string | null;
  next: string;
}

const PENDING_TTL_SECONDS = 10 * 60;
/** The request parameters of RP-Initiated Logout 1.0 §2, relayed as they came. */
const END_SESSION_PARAMS = ['id_token_hint', 'logout_hint', 'client_id', 'post_logout_redirect_uri', 'state', 'ui_locales'];

/**
 * RP-Initiated Logout 1.0. A bad, foreign or `alg: none` id_token_hint, a client_id that is not the
 * hint's audience, or an unregistered post_logout_redirect_uri get an error page, never a redirect.
 * With a valid hint for one of this browser's sessions the logout runs at once; otherwise the user
 * confirms first. The provider's invalidation flow runs, front-channel deliveries finish on the
 * logout page, and only then does the browser go to the post_logout_redirect_uri with `state`.
 * The browser is sent there "signed out" without a logout only when there is nothing to end: no
 * hint and nobody signed in, or a hint whose session has already ended (§2: the OP must not claim
 * a logout it did not do, and a cookie the browser withheld is not the same as no session).
 * A hint naming a live session this browser does not hold (another device, a lost cookie) ends that
 * session at the hint's client only — what the RP could end by itself — never the IdP session: an
 * ID token is no proof that whoever holds this browser is its user, so nothing of that user is shown
 * and no flow runs in this browser for it; an account signed in on this browser is then offered the
 * usual confirmation.
 */
@Controller('oauth2/end_session')
export class EndSessionController {
  constructor(
    private readonly hints: IdTokenHintVerifier,
    private readonly clients: OidcClientsService,
    private readonly sessions: IdpSessionsService,
    private readonly browser: BrowserService,
    private readonly runner: LogoutRunner,
    private readonly executor: FlowExecutor,
    private readonly store: PendingStore,
    private readonly oidcSessions: OidcSessionsService,
    private readonly orchestrator: LogoutOrchestrator,
  ) {}

  @All()
  async endSession(@Req() req: Request, @Res() res: Response): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'POST') throw new NotFoundException();
    const params = (req.method === 'POST' ? req.body ?? {} : req.query) as Record<string, unknown>;
    if (this.browser.relayCrossSitePost(req, res, '/oauth2/end_session', END_SESSION_PARAMS)) return;
    const text = (name: string) => {
      const value = params[name];
      if (value !== undefined && typeof value !== 'string') throw new BadRequestException(`${name} must be given once.`);
      return value || null;
    };
    const hintRaw = text('id_token_hint');
    const hint = hintRaw ? await this.hints.verify(hintRaw) : null;
    if (hintRaw && !hint) throw new BadRequestException('The id_token_hint is not a valid ID token issued by Signoff.');
    const clientIdParam = text('client_id');
    if (hint && clientIdParam && clientIdParam !== hint.clientId) throw new BadRequestException('client_id does not match the id_token_hint.');
    const clientId = hint?.clientId ?? clientIdParam;
    const client = clientId ? await this.clients.find(clientId) : null;
    if (clientId && !client) throw new BadRequestException('The application is not registered at Signoff.');

    const redirectUri = text('post_logout_redirect_uri');
    if (redirectUri && !client) throw new BadRequestException('A post_logout_redirect_uri needs an id_token_hint or a client_id.');
    if (redirectUri && !client!.postLogoutRedirectUris.includes(redirectUri)) {
      throw new BadRequestException('The post_logout_redirect_uri is not registered for this application.');
    }
    const state = text('state');
    const next = redirectUri ? withState(redirectUri, state) : '/logout/done';

    const browserId = this.browser.read(req);
    const live = browserId ? await this.sessions.forBrowser(browserId) : [];
    // The hint's sid names a live IdP session (its sub as that client was given it), or none.
    const hinted = hint && client ? await this.oidcSessions.hintedIdpSession(hint, client.providerId) : null;
    if (hinted && live.some((session) => session.id === hinted.id)) return this.logout(res, client!, hinted.id, next, browserId!);
    // A hinted session elsewhere ends at this client at once; this browser's own account is then
    // only signed out if its user says so (the hint named someone else's session).
    if (hinted) await this.endClientSessionOnly(client!, hinted.id);
    const target = live[0];
    if (!target) return res.redirect(303, next); // nothing to end: idempotent

    const pending: PendingLogout = { clientId: client?.clientId ?? null, idpSessionId: target.id, next };
    const handle = await this.store.put('end-session', pending, PENDING_TTL_SECONDS);
    const who = client ? ` from <strong>${h(client.provider.name)}</strong>` : '';
    const csrf = this.browser.csrfToken(browserId!);
    res.type('html').send(page('Sign out?', `<p>A request${who} asks to sign <strong>${h(target.user.username)}</strong> out of Signoff and its applications.</p>
${form('/oauth2/end_session/confirm', csrf, `<input type="hidden" name="handle" value="${h(handle)}">
<button type="submit" name="answer" value="yes">Sign out</button> <button type="submit" name="answer" value="no" class="link">Stay signed in</button>`)}`));
  }

  @Post('confirm')
  async confirm(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const pending = await this.store.take<PendingLogout>('end-session', body.handle);
    if (!pending) throw new BadRequestException('This sign-out request has expired. Start again from the application.');
    if (body.answer !== 'yes') return res.redirect(303, '/');
    const target = (await this.sessions.forBrowser(browserId!)).find((session) => session.id === pending.idpSessionId);
    if (!target) return res.redirect(303, pending.next); // ended meanwhile
    const client = pending.clientId ? await this.clients.find(pending.clientId) : null;
    await this.logout(res, client, target.id, pending.next, browserId!);
  }

  /**
   * The hint's client's own provider session in that IdP session ends through the engine (its
   * back-channel logout, its tokens revoked); the IdP session and the other applications stay.
   */
  private async endClientSessionOnly(client: RegisteredClient, idpSessionId: string): Promise<void> {
    const own = await this.oidcSessions.liveOf(idpSessionId, client.providerId);
    if (!own) return;
    await this.orchestrator.endSessions({
      trigger: 'rp_initiated', initiator: { type: 'provider', id: client.providerId }, reason: 'logout',
      providerSessionIds: [own.id], initiatingProviderSessionId: own.id, withBrowser: false,
    });
  }

  private async logout(res: Response, client: RegisteredClient | null, idpSessionId: string, next: string, browserId: string): Promise<void> {
    const initiating = client ? await this.oidcSessions.liveOf(idpSessionId, client.providerId) : null;
    const flowId = this.executor.flowFor(client?.provider.invalidationFlowId ?? null, Boolean(client));
    await this.runner.run(res, flowId, {
      trigger: 'rp_initiated',
      initiator: client ? { type: 'provider', id: client.providerId } : { type: 'anonymous' },
      idpSessionIds: [idpSessionId],
      initiatingProviderSessionId: initiating?.id ?? null,
      interactive: true,
    }, next, this.browser.csrfToken(browserId));
  }
}

/** The post-logout redirect URI exactly as registered (not re-serialised), plus `state` when given. */
function withState(uri: string, state: string | null): string {
  return state === null ? uri : `${uri}${uri.includes('?') ? '&' : '?'}state=${encodeURIComponent(state)}`;
}
