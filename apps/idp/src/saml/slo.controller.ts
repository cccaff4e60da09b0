import { BadRequestException, Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { AuditService, isPendingHandle } from '@signoff/core';
import { LogoutJourney } from '@signoff/logout';
import {
  type IncomingMessage, redirectMessage, type RegisteredSp, SamlMessageError, SamlSloService, soapBodyMessage, soapFault, type SpLogoutRequest, statusForOutcome,
  UnsafeXmlError,
} from '@signoff/saml';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { h, page } from '../http/html';
import { allowFramingBy } from '../http/security-headers';
import { rawQuery } from '../http/raw-query';
import { singleField } from '../http/single-field';
import { renderAnswer, renderLogoutView } from '../logout/render-logout-view';

/**
 * SAML Single Logout endpoints (profiles §4.4). At /saml/slo (Redirect and POST) an SP's LogoutRequest
 * runs its invalidation flow in the user's browser, the others are told (back channel, iframes, the
 * native chain), and the SP gets its signed LogoutResponse last; the LogoutResponses of SPs to our own
 * front-channel requests come back here too. /saml/slo/soap takes LogoutRequests over SOAP: no browser,
 * so back channels only. A message that cannot be trusted gets an error page (or a SOAP fault), never a
 * SAML reply; a trusted request that cannot be honoured gets a LogoutResponse with an error status.
 */
@Controller('saml/slo')
export class SamlSloController {
  constructor(
    private readonly slo: SamlSloService,
    private readonly journey: LogoutJourney,
    private readonly browser: BrowserService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  async redirectBinding(@Req() req: Request, @Res() res: Response): Promise<void> {
    let read: ReturnType<typeof redirectMessage>;
    try {
      read = redirectMessage(rawQuery(req));
    } catch (error) {
      await this.refused(error, 'redirect');
      throw new BadRequestException(`The logout request was refused: ${(error as Error).message}.`);
    }
    await this.receive(req, res, read.kind === 'SAMLResponse', read.message);
  }

  @Post()
  @HttpCode(200)
  async postBinding(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    // An SP's LogoutRequest needs the browser's accounts; its LogoutResponse settles a delivery without them.
    if (body.SAMLRequest !== undefined && this.browser.relayCrossSitePost(req, res, '/saml/slo', ['SAMLRequest', 'RelayState'])) return;
    const isResponse = body.SAMLResponse !== undefined;
    await this.receive(req, res, isResponse, {
      binding: 'post', message: singleField(body[isResponse ? 'SAMLResponse' : 'SAMLRequest'], isResponse ? 'SAMLResponse' : 'SAMLRequest', true)!,
      relayState: singleField(body.RelayState, 'RelayState'),
    });
  }

  /** SOAP binding (bindings §3.2): the SP's server asks; every other participant is told over its back channel. */
  @Post('soap')
  @HttpCode(200)
  async soap(@Req() req: Request, @Res() res: Response): Promise<void> {
    let sp: RegisteredSp;
    let request: SpLogoutRequest;
    try {
      ({ sp, request } = await this.slo.acceptRequest({ binding: 'soap', message: soapBodyMessage(typeof req.body === 'string' ? req.body : ''), relayState: null }));
    } catch (error) {
      await this.refused(error, 'soap');
      return void res.status(500).type('text/xml').send(soapFault(`The logout request was refused: ${(error as Error).message}.`));
    }
    const sessions = await this.slo.sessionsFor(sp, request);
    const status = Array.isArray(sessions) ? statusForOutcome(await this.journey.runHeadless(this.slo.logoutFor(sp, sessions))) : sessions;
    res.type('text/xml').send(await this.slo.soapReply(request.id, status));
  }

  private async receive(req: Request, res: Response, isResponse: boolean, message: IncomingMessage & { binding: 'redirect' | 'post' }): Promise<void> {
    if (isResponse) return this.logoutResponse(res, message);
    let sp: RegisteredSp;
    let request: SpLogoutRequest;
    try {
      ({ sp, request } = await this.slo.acceptRequest(message));
    } catch (error) {
      await this.refused(error, message.binding);
      throw new BadRequestException(`The logout request was refused: ${(error as Error).message}.`);
    }
    const sessions = await this.slo.sessionsFor(sp, request);
    if (!Array.isArray(sessions)) return renderAnswer(res, await this.slo.reply(sp, request.id, sessions, message.binding, message.relayState));

    const csrf = this.browser.csrfToken(this.browser.read(req) ?? this.browser.ensure(req, res));
    const view = await this.journey.start({ ...this.slo.logoutFor(sp, sessions), owed: this.slo.owedTo(sp, request, message) }, csrf);
    renderLogoutView(res, view, { csrf, expired: 'This sign-out has expired.' });
  }

  /**
   * An SP's LogoutResponse to our front-channel LogoutRequest: recorded on its delivery. In the native
   * chain (RelayState is the chain's handle) the browser goes on to the next application; in an iframe
   * this small page is all there is, and it may be framed by our own logout page only.
   */
  private async logoutResponse(res: Response, message: IncomingMessage): Promise<void> {
    allowFramingBy(res, "'self'");
    const chain = isPendingHandle(message.relayState) ? `/logout/chain/${message.relayState}` : null;
    try {
      const answered = await this.journey.applicationAnswered('saml', message);
      if ('refused' in answered) throw new SamlMessageError(answered.refused);
      if (chain) return res.redirect(303, chain);
      res.type('html').send(page('Signed out', `<p>${answered.confirmed ? 'Signed out of' : 'Could not sign out of'} ${h(answered.application)}.</p>`));
    } catch (error) {
      await this.refused(error, message.binding);
      const refusal = `The logout response was refused: ${(error as Error).message}.`;
      if (!chain) throw new BadRequestException(refusal);
      // In the native chain the user must not be stranded: the application counts as not confirmed.
      res.status(400).type('html').send(page('Sign-out not confirmed', `<p class="error">${h(refusal)}</p><p><a href="${h(chain)}?skip=1">Continue signing out</a></p>`));
    }
  }

  /** A refused message is recorded; anything but a refusal is a fault of ours and goes on up. */
  private async refused(error: unknown, binding: string): Promise<void> {
    if (!(error instanceof SamlMessageError || error instanceof UnsafeXmlError)) throw error;
    await this.audit.record({ action: 'saml.logout_message_refused', actor: { type: 'anonymous' }, details: { binding, reason: error.message } });
  }
}
