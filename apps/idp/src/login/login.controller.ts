import { Body, Controller, Get, HttpStatus, Post, Query, Req, Res } from '@nestjs/common';
import { AuditService, UsersService, verifyPassword } from '@signoff/core';
import { IdpSessionsService } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { safeReturnTo } from '../http/return-to';
import { LoginThrottle } from './login-throttle.service';
import { loginPage } from './login.pages';

const INVALID = 'Invalid username or password.';
const THROTTLED = 'Too many failed attempts. Wait a few minutes and try again.';

@Controller('login')
export class LoginController {
  constructor(
    private readonly browser: BrowserService,
    private readonly sessions: IdpSessionsService,
    private readonly users: UsersService,
    private readonly throttle: LoginThrottle,
    private readonly audit: AuditService,
  ) {}

  @Get()
  async show(@Req() req: Request, @Res() res: Response, @Query('return_to') returnTo?: string, @Query('login_hint') loginHint?: string): Promise<void> {
    const browserId = this.browser.ensure(req, res);
    const current = await this.sessions.current(browserId);
    const username = typeof loginHint === 'string' ? loginHint.slice(0, 64) : undefined;
    res.type('html').send(loginPage({ csrf: this.browser.csrfToken(browserId), returnTo: safeReturnTo(returnTo), signedInAs: current?.user.username, username }));
  }

  @Post()
  async submit(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const username = typeof body.username === 'string' ? body.username.trim().slice(0, 64) : '';
    const password = typeof body.password === 'string' ? body.password.slice(0, 1024) : '';
    const returnTo = safeReturnTo(body.return_to);
    const fail = (status: number, error: string) => {
      res.status(status).type('html').send(loginPage({ csrf: this.browser.csrfToken(browserId!), returnTo, username, error }));
    };

    if (!(await this.throttle.allowed(username, req.ip))) {
      await this.audit.record({ action: 'login.throttled', actor: { type: 'anonymous' }, details: { username } });
      return fail(HttpStatus.TOO_MANY_REQUESTS, THROTTLED);
    }
    const user = username ? await this.users.findByUsername(username) : null;
    const valid = await verifyPassword(password, user?.passwordHash ?? null);
    if (!user || !valid || !user.isActive) {
      await this.throttle.failed(username, req.ip);
      await this.audit.record({ action: 'login.failed', actor: { type: 'anonymous' }, target: user ? { type: 'user', id: user.id } : undefined, details: { username } });
      return fail(HttpStatus.UNAUTHORIZED, INVALID);
    }
    await this.throttle.succeeded(username);
    const renewed = await this.sessions.login(user, browserId!, { ip: req.ip ?? null, userAgent: req.header('user-agent')?.slice(0, 512) ?? null });
    this.browser.setCookie(res, renewed.browserId);
    res.redirect(HttpStatus.SEE_OTHER, returnTo);
  }
}
