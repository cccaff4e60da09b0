import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { isPendingHandle } from '@signoff/core';
import { LogoutJourney } from '@signoff/logout';
import {
  type IncomingMessage,
  redirectMessage,
  SamlIntake,
  SamlMessageError,
  SamlRefusal,
  SamlSloService,
  soapBodyMessage,
  soapFault,
  statusForOutcome,
} from '@signoff/saml';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { allowFramingBy } from '../http/security-headers';
import { rawQuery } from '../http/raw-query';
import { singleField } from '../http/single-field';
import { renderAnswer, renderLogoutView } from '../logout/render-logout-view';
import { chainRefusalPage, spAnsweredPage } from './slo.pages';

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
    private readonly intake: SamlIntake,
  ) {}

  @Get()
  async redirectBinding(@Req() req: Request, @Res() res: Response): Promise<void> {
    let read: ReturnType<typeof redirectMessage>;
    try {
      read = redirectMessage(rawQuery(req));
    } catch (error) {
      throw await this.intake.refuse('LogoutRequest', 'redirect', error);
    }
    await this.receive(req, res, read.kind === 'SAMLResponse', read.message);
  }

  @Post()
  @HttpCode(200)
  async postBinding(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    // An SP's LogoutRequest needs the browser's accounts; its LogoutResponse settles a delivery without them.
    if (
      body.SAMLRequest !== undefined &&
      this.browser.relayCrossSitePost(req, res, '/saml/slo', ['SAMLRequest', 'RelayState'])
    )
      return;
    const isResponse = body.SAMLResponse !== undefined;
    await this.receive(req, res, isResponse, {
      binding: 'post',
      message: singleField(
        body[isResponse ? 'SAMLResponse' : 'SAMLRequest'],
        isResponse ? 'SAMLResponse' : 'SAMLRequest',
        true,
      )!,
      relayState: singleField(body.RelayState, 'RelayState'),
    });
  }

  /** SOAP binding (bindings §3.2): the SP's server asks; every other participant is told over its back channel. */
  @Post('soap')
  @HttpCode(200)
  async soap(@Req() req: Request, @Res() res: Response): Promise<void> {
    let accepted: Awaited<ReturnType<SamlSloService['acceptRequest']>>;
    try {
      accepted = await this.slo.acceptRequest({
        binding: 'soap',
        message: soapBodyMessage(typeof req.body === 'string' ? req.body : ''),
        relayState: null,
      });
    } catch (error) {
      // SOAP refusals are faults (bindings §3.2.3.3), not error pages.
      const refusal = await this.intake.refuse('LogoutRequest', 'soap', error);
      if (!(refusal instanceof SamlRefusal)) throw refusal;
      return void res.status(500).type('text/xml').send(soapFault(refusal.message));
    }
    const { sp, request } = accepted;
    const named = await this.slo.sessionsFor(sp, request);
    const status =
      named.kind === 'sessions'
        ? statusForOutcome(await this.journey.runHeadless(this.slo.logoutFor(sp, named.sessions)))
        : named.status;
    res.type('text/xml').send(await this.slo.soapReply(request.id, status));
  }

  private async receive(
    req: Request,
    res: Response,
    isResponse: boolean,
    message: IncomingMessage & { binding: 'redirect' | 'post' },
  ): Promise<void> {
    if (isResponse) return this.logoutResponse(res, message);
    const { sp, request } = await this.slo.acceptRequest(message);
    const named = await this.slo.sessionsFor(sp, request);
    if (named.kind === 'refused')
      return renderAnswer(res, await this.slo.reply(sp, request.id, named.status, message.binding, message.relayState));

    const csrf = this.browser.csrfToken(this.browser.read(req) ?? this.browser.ensure(req, res));
    const view = await this.journey.start(
      { ...this.slo.logoutFor(sp, named.sessions), owed: this.slo.owedTo(sp, request, message) },
      csrf,
    );
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
      if ('refused' in answered) throw new SamlMessageError(answered.refused); // recorded below, like any refusal
      if (chain) return res.redirect(303, chain);
      res.type('html').send(spAnsweredPage(answered.application, answered.confirmed));
    } catch (error) {
      const refused = await this.intake.refuse('LogoutResponse', message.binding, error);
      if (!chain || !(refused instanceof SamlRefusal)) throw refused;
      const refusal = refused.message;
      // In the native chain the user must not be stranded: the application counts as not confirmed.
      res.status(400).type('html').send(chainRefusalPage(refusal, chain));
    }
  }
}
