import { BadRequestException, Body, Controller, ForbiddenException, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { DEFAULT_FLOWS } from '@signoff/core';
import { IdpSessionsService } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { form, h, page } from '../http/html';
import { LogoutRunner } from './logout-runner.service';
import { signedOutPage } from './logout-page';

/**
 * Logout at Signoff. GET asks first (a link or an image on another site must not sign people out);
 * POST, with the CSRF token, runs default-invalidation-flow for the current account: its IdP
 * session ends everywhere, back-channel through the worker, front-channel on the logout page.
 */
@Controller('logout')
export class LogoutController {
  constructor(private readonly browser: BrowserService, private readonly sessions: IdpSessionsService, private readonly runner: LogoutRunner) {}

  @Get()
  async confirm(@Req() req: Request, @Res() res: Response): Promise<void> {
    const browserId = this.browser.read(req);
    const current = browserId ? await this.sessions.current(browserId) : null;
    if (!current) return void res.type('html').send(signedOutPage([]));
    res.type('html').send(page('Sign out', `<p>Sign out <strong>${h(current.user.username)}</strong> from Signoff?</p>
${form('/logout', this.browser.csrfToken(browserId!), '<button type="submit">Sign out</button>')}`));
  }

  @Post()
  @HttpCode(200)
  async logout(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const current = await this.sessions.current(browserId!);
    if (!current) return this.done(req, res);
    await this.runner.run(res, DEFAULT_FLOWS.invalidation, {
      trigger: 'user_logout', initiator: { type: 'user', id: current.userId }, idpSessionIds: [current.id],
      initiatingProviderSessionId: null, interactive: true,
    }, '/logout/done', this.browser.csrfToken(browserId!));
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
    if (!(await this.runner.resume(res, body.flow, body.answer === 'yes', this.browser.csrfToken(browserId!)))) {
      throw new BadRequestException('This sign-out has expired. Start again.');
    }
  }

  /** The logout page reports each front-channel iframe: loaded, or timed out. The answer says whether the delivery is settled. */
  @Post('frontchannel/:id')
  @HttpCode(200)
  async frontchannel(@Param('id') id: string, @Body() body: Record<string, unknown>): Promise<{ settled: boolean }> {
    const result = await this.runner.frontchannelResult(id, body.token, body.outcome);
    if (!result) throw new ForbiddenException('Unknown delivery or token.');
    return result;
  }

  /**
   * The native chain: the main tab walks the applications that take their logout there, one after the
   * other. Only the browser that started it may go on (its cookie): an application's server holding the
   * handle (its RelayState) gets a 403 and changes nothing.
   */
  @Get('chain/:handle')
  async chain(@Req() req: Request, @Param('handle') handle: string, @Query('skip') skip: unknown, @Res() res: Response): Promise<void> {
    const browserId = this.browser.read(req);
    const result = await this.runner.chain(res, handle, skip === '1', browserId ? this.browser.csrfToken(browserId) : null);
    if (result === 'unknown') throw new BadRequestException('This sign-out has expired. You may still be signed in to some applications.');
    if (result === 'foreign') throw new ForbiddenException('This sign-out was started in another browser, or your browser did not send its Signoff cookie: it can only be continued there.');
  }
}
