import { Body, Controller, Get, HttpStatus, Inject, NotFoundException, Param, Post, Req, Res } from '@nestjs/common';
import { CONFIG, type Config } from '@signoff/core';
import { ConsentsService } from '@signoff/oidc';
import { ApplicationHomes } from '@signoff/providers';
import { IdpSessionsService, type LiveSession } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { UserAdminService } from '../admin/user-admin.service';
import { IdParam } from '../admin/validation';
import { BrowserService } from '../http/browser.service';
import {
  accountsPage,
  applicationsPage,
  homePage,
  passwordPage,
  SESSIONS_NOTICES,
  type SessionsNotice,
  sessionsPage,
} from './account.pages';
import { PasswordChange } from './password-change.service';

/** The most sessions "My sessions" lists (the most recently used); more is unusual, and the page says so. */
const SESSIONS_SHOWN = 100;

/**
 * The user's own pages: the signed-in home page, the account chooser of a browser with several
 * accounts, My sessions (end one elsewhere), Change password, and the applications the user allowed.
 * Every page is the current account's (the browser's most recently used); every POST carries the
 * CSRF token, checked first.
 */
@Controller()
export class AccountController {
  constructor(
    private readonly browser: BrowserService,
    private readonly sessions: IdpSessionsService,
    private readonly consents: ConsentsService,
    private readonly homes: ApplicationHomes,
    private readonly admin: UserAdminService,
    private readonly passwords: PasswordChange,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Who is signed in, the applications this session is signed in to (with links), the account's pages, and signing out. */
  @Get()
  async home(@Req() req: Request, @Res() res: Response): Promise<void> {
    const browserId = this.browser.read(req);
    const live = browserId ? await this.sessions.forBrowser(browserId) : [];
    if (!live.length) return res.redirect(HttpStatus.SEE_OTHER, '/login');
    const current = live[0];
    await this.sessions.touch(current);
    const [listed] = (await this.sessions.listLive({ id: current.id }, { limit: 1, offset: 0 })).items;
    const applications = listed?.applications ?? [];
    const homes = await this.homes.of(applications.map((app) => app.providerId));
    res.type('html').send(
      homePage({
        current,
        accountsOnBrowser: live.length,
        applications: applications.map((app) => ({
          providerId: app.providerId,
          name: app.name,
          url: homes.get(app.providerId) ?? null,
        })),
        csrf: this.browser.csrfToken(browserId!),
      }),
    );
  }

  /** Every live session of the current user: each browser or device, where from, when, and its applications. */
  @Get('account/sessions')
  async mySessions(@Req() req: Request, @Res() res: Response): Promise<void> {
    const signedIn = await this.signedIn(req);
    if (!signedIn) return res.redirect(HttpStatus.SEE_OTHER, '/login?return_to=/account/sessions');
    const { browserId, current } = signedIn;
    await this.sessions.touch(current);
    const { items, total } = await this.sessions.listLive(
      { userId: current.userId },
      { limit: SESSIONS_SHOWN, offset: 0 },
    );
    const done = req.query.done;
    res.type('html').send(
      sessionsPage({
        username: current.user.username,
        currentId: current.id,
        sessions: items,
        total,
        csrf: this.browser.csrfToken(browserId),
        notice:
          typeof done === 'string' && Object.hasOwn(SESSIONS_NOTICES, done) ? (done as SessionsNotice) : undefined,
      }),
    );
  }

  /**
   * Ends one of the user's other sessions, through the logout engine: that browser is signed out and
   * its applications are told over their back channels. Another user's session is 404 (as one that
   * does not exist). The current session is ended by signing out, which also runs its front channel.
   */
  @Post('account/sessions/:id/end')
  async endSession(
    @Req() req: Request,
    @Res() res: Response,
    @Param('id', IdParam) id: string,
    @Body() body: Record<string, unknown>,
  ): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const current = await this.sessions.current(browserId!);
    if (!current) return res.redirect(HttpStatus.SEE_OTHER, '/login?return_to=/account/sessions');
    if (id === current.id) return res.redirect(HttpStatus.SEE_OTHER, '/#sign-out');
    const operation = await this.admin.endOwnSession(current.userId, id);
    res.redirect(HttpStatus.SEE_OTHER, `/account/sessions?done=${operation ? 'ended' : 'already'}`);
  }

  @Get('account/password')
  async passwordForm(@Req() req: Request, @Res() res: Response): Promise<void> {
    const signedIn = await this.signedIn(req);
    if (!signedIn) return res.redirect(HttpStatus.SEE_OTHER, '/login?return_to=/account/password');
    res.type('html').send(
      passwordPage({
        username: signedIn.current.user.username,
        minLength: this.config.passwords.minLength,
        csrf: this.browser.csrfToken(signedIn.browserId),
      }),
    );
  }

  /**
   * Changes the current user's password (PasswordChange: the current password first, throttled as a
   * login; then the policy). Done: every other session of the user has ended, this one stays. Refused:
   * the form again, the problem beside its field.
   */
  @Post('account/password')
  async changePassword(
    @Req() req: Request,
    @Res() res: Response,
    @Body() body: Record<string, unknown>,
  ): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const current = await this.sessions.current(browserId!);
    if (!current) return res.redirect(HttpStatus.SEE_OTHER, '/login?return_to=/account/password');
    const field = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
    const result = await this.passwords.change(
      current,
      { current: field('current').slice(0, 1024), password: field('password'), confirm: field('confirm') },
      req.ip,
    );
    if (result.changed) return res.redirect(HttpStatus.SEE_OTHER, '/account/sessions?done=password');
    res
      .status(result.status)
      .type('html')
      .send(
        passwordPage({
          username: current.user.username,
          minLength: this.config.passwords.minLength,
          csrf: this.browser.csrfToken(browserId!),
          problem: { field: result.field, message: result.message },
        }),
      );
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

  /** The browser and its current account, or null when nobody is signed in on it. */
  private async signedIn(req: Request): Promise<{ browserId: string; current: LiveSession } | null> {
    const browserId = this.browser.read(req);
    const current = browserId ? await this.sessions.current(browserId) : null;
    return current ? { browserId: browserId!, current } : null;
  }
}
