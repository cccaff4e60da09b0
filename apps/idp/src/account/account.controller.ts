import { Body, Controller, Get, HttpStatus, NotFoundException, Post, Req, Res } from '@nestjs/common';
import { ConsentsService } from '@signoff/oidc';
import { IdpSessionsService } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { accountsPage, applicationsPage, homePage } from './account.pages';

/** The signed-in home page and the account chooser of a browser with several accounts. */
@Controller()
export class AccountController {
  constructor(
    private readonly browser: BrowserService,
    private readonly sessions: IdpSessionsService,
    private readonly consents: ConsentsService,
  ) {}

  @Get()
  async home(@Req() req: Request, @Res() res: Response): Promise<void> {
    const browserId = this.browser.read(req);
    const live = browserId ? await this.sessions.forBrowser(browserId) : [];
    if (!live.length) return res.redirect(HttpStatus.SEE_OTHER, '/login');
    await this.sessions.touch(live[0]);
    res.type('html').send(homePage(live[0], live.length - 1, this.browser.csrfToken(browserId!)));
  }

  @Get('accounts')
  async accounts(@Req() req: Request, @Res() res: Response): Promise<void> {
    const browserId = this.browser.read(req);
    const live = browserId ? await this.sessions.forBrowser(browserId) : [];
    if (!live.length) return res.redirect(HttpStatus.SEE_OTHER, '/login?return_to=/accounts');
    res.type('html').send(accountsPage(live, this.browser.csrfToken(browserId!)));
  }

  @Post('accounts/switch')
  async switch(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const selected = typeof body.session === 'string' ? await this.sessions.select(browserId!, body.session) : null;
    if (!selected) throw new NotFoundException('That account is no longer signed in on this browser.');
    res.redirect(HttpStatus.SEE_OTHER, '/');
  }

  /** The applications the current account allowed (third-party clients that ask for consent). */
  @Get('account/applications')
  async applications(@Req() req: Request, @Res() res: Response): Promise<void> {
    const browserId = this.browser.read(req);
    const current = browserId ? await this.sessions.current(browserId) : null;
    if (!current) return res.redirect(HttpStatus.SEE_OTHER, '/login?return_to=/account/applications');
    const page = applicationsPage(
      current.user.username,
      await this.consents.of(current.userId),
      this.browser.csrfToken(browserId!),
    );
    res.type('html').send(page);
  }

  /** Withdraws the current account's consent to one application; its tokens for this account are revoked. */
  @Post('account/applications/revoke')
  async revoke(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const current = await this.sessions.current(browserId!);
    if (!current) return res.redirect(HttpStatus.SEE_OTHER, '/login?return_to=/account/applications');
    const withdrawn =
      typeof body.provider === 'string' &&
      (await this.consents.revoke(current.userId, body.provider, { type: 'user', id: current.userId }));
    if (!withdrawn) throw new NotFoundException('This application has no access to withdraw.');
    res.redirect(HttpStatus.SEE_OTHER, '/account/applications');
  }
}
