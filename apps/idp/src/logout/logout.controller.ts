import { Body, Controller, ForbiddenException, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { LogoutJourney, type OwedAnswer } from '@signoff/logout';
import { IdpSessionsService, LOGOUT_SCOPES, type LogoutScope } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { logoutConfirmPage, signedOutPage, statusForScript, summaryPage } from './logout.pages';
import { renderLogoutView } from './render-logout-view';

/**
 * Logout at Signoff. GET asks first (a link or an image on another site must not sign people out);
 * POST, with the CSRF token, runs default-invalidation-flow for the current account: its IdP
 * session ends everywhere, back-channel through the worker, front-channel on the logout page.
 * `return_to` (with `client_id`, an OIDC client_id or SAML entityID) names where to end instead of
 * the signed-out page: only an allowed URL is ever redirected to (LogoutJourney.returnTo).
 */
const EXPIRED = 'This sign-out has expired. Start again.';

@Controller('logout')
export class LogoutController {
  constructor(
    private readonly browser: BrowserService,
    private readonly sessions: IdpSessionsService,
    private readonly journey: LogoutJourney,
  ) {}

  @Get()
  async confirm(@Req() req: Request, @Res() res: Response): Promise<void> {
    const owed = await this.journey.returnTo(req.query.return_to, req.query.client_id);
    const browserId = this.browser.read(req);
    const current = browserId ? await this.sessions.current(browserId) : null;
    if (!current) return this.end(res, owed); // signed out already: nothing to confirm
    const clientId = typeof req.query.client_id === 'string' ? req.query.client_id : null;
    const accounts = (await this.sessions.forBrowser(browserId!)).length;
    res
      .type('html')
      .send(
        logoutConfirmPage(
          current.user.username,
          this.browser.csrfToken(browserId!),
          owed.to === 'return-to' ? { url: owed.url, clientId } : null,
          accounts,
        ),
      );
  }

  @Post()
  @HttpCode(200)
  async logout(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    // Checked again: the form's fields are whatever the browser sent.
    const owed = await this.journey.returnTo(
      body.return_to ?? req.query.return_to,
      body.client_id ?? req.query.client_id,
    );
    const current = await this.sessions.current(browserId!);
    if (!current) return this.end(res, owed);
    const scope: LogoutScope = LOGOUT_SCOPES.find((known) => known === body.scope) ?? 'account';
    const ending = (await this.sessions.forLogout(browserId!, scope))!;
    const csrf = this.browser.csrfToken(browserId!);
    const view = await this.journey.start(
      {
        trigger: 'user_logout',
        initiator: { type: 'user', id: current.userId },
        idpSessionIds: ending.idpSessionIds,
        browserIdpSessionIds: ending.browserIdpSessionIds,
        initiatingProviderSessionId: null,
        provider: null,
        owed,
      },
      csrf,
    );
    renderLogoutView(res, view, { csrf, expired: EXPIRED });
  }

  /** Nothing to sign out: on to the allowed return_to, else the signed-out page. */
  private end(res: Response, owed: OwedAnswer): void {
    if (owed.to === 'return-to') return res.redirect(303, owed.url);
    res.type('html').send(signedOutPage([]));
  }

  /**
   * Where a logout without a post-logout redirect URI ends. With `logout` (the handle the journey
   * gave this browser) it sums up that logout: every application, what it confirmed, and "try
   * again" for those that did not; the page follows it until every delivery is final.
   */
  @Get('done')
  async done(@Req() req: Request, @Res() res: Response, @Query('logout') handle: unknown): Promise<void> {
    const browserId = this.browser.read(req);
    const remaining = browserId ? await this.sessions.forBrowser(browserId) : [];
    const usernames = remaining.map((session) => session.user.username);
    const csrf = browserId ? this.browser.csrfToken(browserId) : null;
    const status = handle === undefined ? null : await this.journey.status(handle, csrf);
    if (!status) return void res.type('html').send(signedOutPage(usernames));
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(summaryPage({ status, handle: handle as string, csrf: csrf!, remaining: usernames }));
  }

  /** What the logout page and the summary poll: each application's state (JSON), for the browser that signed out only. */
  @Get('status/:handle')
  async status(@Req() req: Request, @Param('handle') handle: string, @Res() res: Response): Promise<void> {
    const browserId = this.browser.read(req);
    const status = await this.journey.status(handle, browserId ? this.browser.csrfToken(browserId) : null);
    if (!status) throw new ForbiddenException("Unknown logout, or another browser's.");
    res.setHeader('Cache-Control', 'no-store');
    res.json(statusForScript(status));
  }

  /** "Try again" for an application that did not confirm: its delivery runs once more (see LogoutJourney.tryAgain). */
  @Post('retry')
  @HttpCode(200)
  async retry(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const csrf = this.browser.csrfToken(browserId!);
    renderLogoutView(res, await this.journey.tryAgain(body.logout, body.delivery, csrf), {
      csrf,
      expired: 'This sign-out has expired: it can no longer be tried again from here.',
    });
  }

  /** The answer to a confirm or message stage of a flow. */
  @Post('flow')
  async flow(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const csrf = this.browser.csrfToken(browserId!);
    renderLogoutView(res, await this.journey.resume(body.flow, body.answer === 'yes', csrf), {
      csrf,
      expired: EXPIRED,
    });
  }

  /** The logout page reports each front-channel iframe: loaded, or timed out. The answer says whether the delivery is settled. */
  @Post('frontchannel/:id')
  @HttpCode(200)
  async frontchannel(@Param('id') id: string, @Body() body: Record<string, unknown>): Promise<{ settled: boolean }> {
    const result = await this.journey.frontchannelReport(id, body.token, body.outcome);
    if (!result) throw new ForbiddenException('Unknown delivery or token.');
    return result;
  }

  /**
   * The native chain: the main tab walks the applications that take their logout there, one after the
   * other. Only the browser that started it may go on (its cookie): an application's server holding the
   * handle (its RelayState) gets a 403 and changes nothing.
   */
  @Get('chain/:handle')
  async chain(
    @Req() req: Request,
    @Param('handle') handle: string,
    @Query('skip') skip: unknown,
    @Res() res: Response,
  ): Promise<void> {
    const browserId = this.browser.read(req);
    const view = await this.journey.chain(handle, skip === '1', browserId ? this.browser.csrfToken(browserId) : null);
    renderLogoutView(res, view, {
      expired: 'This sign-out has expired. You may still be signed in to some applications.',
    });
  }

  /**
   * The browser is back from the front channel: the application that started the logout gets its
   * answer (a SAML LogoutResponse, Success or PartialLogout), once the others had their chance.
   */
  @Get('answer/:handle')
  async answer(@Param('handle') handle: string, @Res() res: Response): Promise<void> {
    renderLogoutView(res, await this.journey.answer(handle), {
      expired: 'This sign-out has expired. Go back to the application and start again.',
    });
  }
}
