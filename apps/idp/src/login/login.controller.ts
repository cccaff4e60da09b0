import { Body, Controller, Get, HttpStatus, Post, Query, Req, Res } from '@nestjs/common';
import { AuditService, Metrics, type User, UsersService, verifyPassword } from '@signoff/core';
import { IdpSessionsService } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { safeReturnTo } from '../http/return-to';
import { LoginThrottle } from './login-throttle.service';
import { loginPage } from './login.pages';

const INVALID = 'Invalid username or password.';
const THROTTLED = 'Too many failed attempts. Wait a few minutes and try again.';

/**
 * Who a failed or throttled login was for. A typed name that matches no user is not kept: people type
 * their password into the username field, and the audit log must not collect them.
 */
function attempted(user: User | null): { target?: { type: 'user'; id: string }; details: Record<string, unknown> } {
  return user
    ? { target: { type: 'user', id: user.id }, details: { username: user.username } }
    : { details: { unknownUsername: true } };
}

@Controller('login')
export class LoginController {
  constructor(
    private readonly browser: BrowserService,
    private readonly sessions: IdpSessionsService,
    private readonly users: UsersService,
    private readonly throttle: LoginThrottle,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {}

  @Get()
  async show(
    @Req() req: Request,
    @Res() res: Response,
    @Query('return_to') returnTo?: string,
    @Query('login_hint') loginHint?: string,
  ): Promise<void> {
    const browserId = this.browser.ensure(req, res);
    const current = await this.sessions.current(browserId);
    const username = typeof loginHint === 'string' ? loginHint.slice(0, 64) : undefined;
    res.type('html').send(
      loginPage({
        csrf: this.browser.csrfToken(browserId),
        returnTo: safeReturnTo(returnTo),
        signedInAs: current?.user.username,
        username,
      }),
    );
  }

  @Post()
  async submit(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const username = typeof body.username === 'string' ? body.username.trim().slice(0, 64) : '';
    const password = typeof body.password === 'string' ? body.password.slice(0, 1024) : '';
    const returnTo = safeReturnTo(body.return_to);
    const fail = (status: number, error: string) => {
      res
        .status(status)
        .type('html')
        .send(loginPage({ csrf: this.browser.csrfToken(browserId!), returnTo, username, error }));
    };

    const user = username ? await this.users.findByUsername(username) : null;
    if (!(await this.throttle.reserve(username, req.ip))) {
      await this.audit.record({ action: 'login.throttled', actor: { type: 'anonymous' }, ...attempted(user) });
      this.metrics.login('throttled');
      return fail(HttpStatus.TOO_MANY_REQUESTS, THROTTLED);
    }
    const valid = await verifyPassword(password, user?.passwordHash ?? null);
    if (!user || !valid || !user.isActive) {
      // The reserved attempt stays counted: it was a failure.
      await this.audit.record({ action: 'login.failed', actor: { type: 'anonymous' }, ...attempted(user) });
      this.metrics.login('failure');
      return fail(HttpStatus.UNAUTHORIZED, INVALID);
    }
    await this.throttle.succeeded(username, req.ip);
    const renewed = await this.sessions.login(user, browserId!, {
      ip: req.ip ?? null,
      userAgent: req.header('user-agent')?.slice(0, 512) ?? null,
    });
    this.browser.setCookie(res, renewed.browserId);
    this.metrics.login('success');
    res.redirect(HttpStatus.SEE_OTHER, returnTo);
  }
}
