import { Body, Controller, Get, Header, HttpCode, Post, Req } from '@nestjs/common';
import { browserState, OidcClientsService, sessionStateMatches } from '@signoff/oidc';
import { IdpSessionsService } from '@signoff/sessions';
import type { Request } from 'express';
import { BrowserService } from '../http/browser.service';

/**
 * OIDC Session Management 1.0. The RP frames /oauth2/check_session and posts it
 * "client_id session_state"; the iframe asks /oauth2/check_session/state (same origin, with the
 * browser cookie) and answers "changed", "unchanged" or "error" to the posting window only. The
 * server recomputes the state from the browser's live sessions, so a logout elsewhere, an expiry
 * or an admin ending the session all read as "changed".
 */
@Controller('oauth2/check_session')
export class CheckSessionController {
  constructor(private readonly clients: OidcClientsService, private readonly sessions: IdpSessionsService, private readonly browser: BrowserService) {}

  @Get()
  @Header('Content-Security-Policy', "default-src 'none'; script-src 'unsafe-inline'; connect-src 'self'; frame-ancestors *")
  @Header('Content-Type', 'text/html; charset=utf-8')
  iframe(): string {
    return CHECK_SESSION_PAGE;
  }

  @Post('state')
  @HttpCode(200)
  async state(@Req() req: Request, @Body() body: Record<string, unknown>): Promise<{ result: 'changed' | 'unchanged' | 'error' }> {
    const { client_id: clientId, origin, session_state: value } = body;
    if (typeof clientId !== 'string' || typeof origin !== 'string' || typeof value !== 'string') return { result: 'error' };
    const client = await this.clients.find(clientId);
    const origins = new Set((client?.redirectUris ?? []).map((uri) => { try { return new URL(uri).origin; } catch { return null; } }));
    if (!client || !origins.has(origin)) return { result: 'error' };
    const browserId = this.browser.read(req);
    const live = browserId ? await this.sessions.forBrowser(browserId) : [];
    return { result: sessionStateMatches(value, clientId, origin, browserState(live.map((session) => session.id))) ? 'unchanged' : 'changed' };
  }
}

const CHECK_SESSION_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>check_session</title></head><body>
<script>
window.addEventListener('message', function (event) {
  if (typeof event.data !== 'string') return;
  var parts = event.data.split(' ');
  var reply = function (result) { event.source.postMessage(result, event.origin); };
  if (parts.length !== 2) return reply('error');
  fetch('/oauth2/check_session/state', {
    method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_id: parts[0], session_state: parts[1], origin: event.origin })
  }).then(function (r) { return r.json(); }).then(function (b) { reply(b.result); }, function () { reply('error'); });
});
</script>
</body></html>
`;
