import { Body, Controller, ForbiddenException, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { LogoutJourney } from '@signoff/logout';
import { IdpSessionsService } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { logoutConfirmPage, signedOutPage } from './logout.pages';
import { renderLogoutView } from './render-logout-view';

/**
 * Logout at Signoff. GET asks first (a link or an image on another site must not sign people out);
 * POST, with the CSRF token, runs default-invalidation-flow for the current account: its IdP
 * session ends everywhere, back-channel through the worker, front-channel on the logout page.
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
    const browserId = this.browser.read(req);
    const current = browserId ? await this.sessions.current(browserId) : null;
    if (!current) return void res.type('html').send(signedOutPage([]));
    res.type('html').send(logoutConfirmPage(current.user.username, this.browser.csrfToken(browserId!)));
  }

  @Post()
  @HttpCode(200)
  async logout(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const current = await this.sessions.current(browserId!);
    if (!current) return this.done(req, res);
    const csrf = this.browser.csrfToken(browserId!);
    const view = await this.journey.start(
      {
        trigger: 'user_logout',
        initiator: { type: 'user', id: current.userId },
        idpSessionIds: [current.id],
        initiatingProviderSessionId: null,
        provider: null,
        owed: { to: 'signed-out-page' },
      },
      csrf,
    );
    renderLogoutView(res, view, { csrf, expired: EXPIRED });
  }

  /** Where a logout without a post-logout redirect URI ends. */
  @Get('done')
  async done(@Req() req: Request, @Res() res: Response): Promise<void> {
    const browserId = this.browser.read(req);
    const remaining = browserId ? await this.sessions.forBrowser(browserId) : [];
    res.type('html').send(signedOutPage(remaining.map((session) => session.user.username)));
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
