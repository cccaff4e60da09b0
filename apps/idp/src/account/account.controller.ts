import { Body, Controller, Get, HttpStatus, NotFoundException, Post, Req, Res } from '@nestjs/common';
import { IdpSessionsService } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { accountsPage, homePage } from './account.pages';

/** The signed-in home page and the account chooser of a browser with several accounts. */
@Controller()
export class AccountController {
  constructor(
    private readonly browser: BrowserService,
    private readonly sessions: IdpSessionsService,
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
}
