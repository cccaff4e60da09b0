import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { IdpSessionsService } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { form, h, page } from '../http/html';

/**
 * Logout at Signoff. GET asks first (a link or an image on another site must not sign people out);
 * POST, with the CSRF token, ends the current account's IdP session. Signing out when already
 * signed out is not an error.
 */
@Controller('logout')
export class LogoutController {
  constructor(private readonly browser: BrowserService, private readonly sessions: IdpSessionsService) {}

  @Get()
  async confirm(@Req() req: Request, @Res() res: Response): Promise<void> {
    const browserId = this.browser.read(req);
    const current = browserId ? await this.sessions.current(browserId) : null;
    if (!current) return this.signedOut(res, []);
    res.type('html').send(page('Sign out', `<p>Sign out <strong>${h(current.user.username)}</strong> from Signoff?</p>
${form('/logout', this.browser.csrfToken(browserId!), '<button type="submit">Sign out</button>')}`));
  }

  @Post()
  @HttpCode(200)
  async logout(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const current = await this.sessions.current(browserId!);
    if (current) await this.sessions.end([current.id], 'logout', { type: 'user', id: current.userId });
    this.signedOut(res, (await this.sessions.forBrowser(browserId!)).map((session) => session.user.username));
  }

  private signedOut(res: Response, remaining: string[]): void {
    const still = remaining.length
      ? `<p class="muted">Still signed in on this browser: ${remaining.map(h).join(', ')}. <a href="/accounts">Choose an account</a>.</p>`
      : '';
    res.type('html').send(page('You are signed out', `<p>You have signed out of Signoff.</p>${still}<p><a href="/login">Sign in again</a></p>`));
  }
}
