import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { browserState, checkSessionResult, type CheckSessionResult, OidcClientsService } from '@signoff/oidc';
import { IdpSessionsService } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { allowFramingBy } from '../http/security-headers';
import { checkSessionPage } from './check-session.pages';

/**
 * OIDC Session Management 1.0. The RP frames /oauth2/check_session and posts it
 * "client_id session_state"; the iframe asks /oauth2/check_session/state (same origin, with the
 * browser cookie) and answers "changed", "unchanged" or "error" to the posting window only; an
 * opaque origin ("null") always gets "error" (checkSessionResult). The
 * server recomputes the state from the browser's live sessions, so a logout elsewhere, an expiry
 * or an admin ending the session all read as "changed".
 */
@Controller('oauth2/check_session')
export class CheckSessionController {
  constructor(
    private readonly clients: OidcClientsService,
    private readonly sessions: IdpSessionsService,
    private readonly browser: BrowserService,
  ) {}

  @Get()
  iframe(@Res() res: Response): void {
    allowFramingBy(res, '*');
    res.type('html').send(checkSessionPage());
  }

  @Post('state')
  @HttpCode(200)
  async state(@Req() req: Request, @Body() body: Record<string, unknown>): Promise<{ result: CheckSessionResult }> {
    const { client_id: clientId, origin, session_state: value } = body;
    if (typeof clientId !== 'string' || typeof origin !== 'string' || typeof value !== 'string')
      return { result: 'error' };
    const client = await this.clients.find(clientId);
    const browserId = this.browser.read(req);
    const live = browserId ? await this.sessions.forBrowser(browserId) : [];
    return { result: checkSessionResult(client, origin, value, browserState(live.map((session) => session.id))) };
  }
}
