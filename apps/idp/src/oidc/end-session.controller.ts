import { All, BadRequestException, Body, Controller, NotFoundException, Post, Req, Res } from '@nestjs/common';
import { PendingStore } from '@signoff/core';
import { LogoutJourney, type OwedAnswer } from '@signoff/logout';
import { END_SESSION_PARAMS, OidcClientsService, RpInitiatedLogout, type RegisteredClient } from '@signoff/oidc';
import { IdpSessionsService } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { renderLogoutView } from '../logout/render-logout-view';
import { endSessionConfirmPage } from './end-session.pages';

/** A validated end_session request waiting for the user's confirmation. */
interface PendingLogout {
  clientId: string | null;
  idpSessionId: string;
  owed: OwedAnswer;
  signedOutUrl: string;
}

const PENDING_TTL_SECONDS = 10 * 60;
const EXPIRED = 'This sign-out request has expired. Start again from the application.';

/**
 * RP-Initiated Logout 1.0 (the rules: libs/oidc RpInitiatedLogout). A valid hint for one of this
 * browser's sessions logs out at once; otherwise the user confirms first. The provider's invalidation
 * flow runs, front-channel deliveries finish on the logout page, and only then does the browser go to
 * the post_logout_redirect_uri with `state`.
 */
@Controller('oauth2/end_session')
export class EndSessionController {
  constructor(
    private readonly rpLogout: RpInitiatedLogout,
    private readonly clients: OidcClientsService,
    private readonly sessions: IdpSessionsService,
    private readonly browser: BrowserService,
    private readonly journey: LogoutJourney,
    private readonly store: PendingStore,
  ) {}

  @All()
  async endSession(@Req() req: Request, @Res() res: Response): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'POST') throw new NotFoundException();
    if (this.browser.relayCrossSitePost(req, res, '/oauth2/end_session', END_SESSION_PARAMS)) return;
    const request = await this.rpLogout.parse(
      (req.method === 'POST' ? (req.body ?? {}) : req.query) as Record<string, unknown>,
    );
    const browserId = this.browser.read(req);
    const live = browserId ? await this.sessions.forBrowser(browserId) : [];
    const plan = await this.rpLogout.plan(request, live);
    if (plan.kind === 'now') return this.logout(res, request.client, plan.idpSessionId, request.owed, browserId!);
    // A hinted session elsewhere ends at this client at once; this browser's own account is then
    // only signed out if its user says so (the hint named someone else's session).
    if (plan.elsewhere)
      await this.journey.endApplicationSession(plan.elsewhere.providerId, plan.elsewhere.providerSessionId);
    const target = live.find((session) => session.id === plan.idpSessionId);
    if (!target) return res.redirect(303, request.signedOutUrl); // nothing to end: idempotent

    const pending: PendingLogout = {
      clientId: request.client?.clientId ?? null,
      idpSessionId: target.id,
      owed: request.owed,
      signedOutUrl: request.signedOutUrl,
    };
    const handle = await this.store.put('end-session', pending, PENDING_TTL_SECONDS);
    res
      .type('html')
      .send(
        endSessionConfirmPage(
          request.client?.provider.name ?? null,
          target.user.username,
          handle,
          this.browser.csrfToken(browserId!),
        ),
      );
  }

  @Post('confirm')
  async confirm(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const pending = await this.store.take<PendingLogout>('end-session', body.handle);
    if (!pending) throw new BadRequestException(EXPIRED);
    if (body.answer !== 'yes') return res.redirect(303, '/');
    const target = (await this.sessions.forBrowser(browserId!)).find((session) => session.id === pending.idpSessionId);
    if (!target) return res.redirect(303, pending.signedOutUrl); // ended meanwhile
    const client = pending.clientId ? await this.clients.find(pending.clientId) : null;
    await this.logout(res, client, target.id, pending.owed, browserId!);
  }

  private async logout(
    res: Response,
    client: RegisteredClient | null,
    idpSessionId: string,
    owed: OwedAnswer,
    browserId: string,
  ): Promise<void> {
    const csrf = this.browser.csrfToken(browserId);
    const view = await this.journey.start(await this.rpLogout.logout(client, idpSessionId, owed), csrf);
    renderLogoutView(res, view, { csrf, expired: EXPIRED });
  }
}
