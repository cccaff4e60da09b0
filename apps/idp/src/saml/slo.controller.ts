import { BadRequestException, Body, Controller, Get, HttpCode, Inject, Post, Query, Req, Res } from '@nestjs/common';
import { AuditService, CONFIG, type Config, isPendingHandle, PendingStore, type SamlSession } from '@signoff/core';
import { type FlowContext, FlowExecutor } from '@signoff/flows';
import {
  type IncomingMessage, redirectMessage, type RegisteredSp, SamlMessageError, type SamlReply, SamlSloService, SamlSpsService, soapBodyMessage, soapFault,
  type SpLogoutRequest, UnsafeXmlError,
} from '@signoff/saml';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { formPostPage, h, page } from '../http/html';
import { allowFramingBy } from '../http/security-headers';
import { rawQuery } from '../http/raw-query';
import { singleField } from '../http/single-field';
import { LogoutRunner } from '../logout/logout-runner.service';

/** What the LogoutResponse to the initiating SP needs once the logout has run (kept 15 minutes in Redis). */
interface PendingReply {
  providerId: string;
  inResponseTo: string;
  binding: 'redirect' | 'post';
  relayState: string | null;
}

const PENDING_TTL_SECONDS = 15 * 60;

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
    private readonly sps: SamlSpsService,
    private readonly executor: FlowExecutor,
    private readonly runner: LogoutRunner,
    private readonly browser: BrowserService,
    private readonly store: PendingStore,
    private readonly audit: AuditService,
    @Inject(CONFIG) private readonly config: Config,
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

  /** Where the browser comes back after the flow, the iframes and the native chain: the initiating SP's answer. */
  @Get('reply')
  async reply(@Res() res: Response, @Query('request') handle: unknown, @Query('operation') operationId: unknown): Promise<void> {
    const pending = await this.store.take<PendingReply>('saml-slo-reply', handle);
    if (!pending) throw new BadRequestException('This sign-out has expired. Go back to the application and start again.');
    const started = typeof operationId === 'string' && operationId !== 'none' ? operationId : null;
    const status = await this.slo.outcome(started, this.config.delivery.frontchannelTimeoutMs, pending.providerId);
    const sp = await this.sps.byProviderId(pending.providerId);
    this.send(res, await this.slo.reply(sp, pending.inResponseTo, status, pending.binding, pending.relayState));
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
    let status = Array.isArray(sessions) ? null : sessions;
    if (Array.isArray(sessions)) {
      const step = await this.executor.run(this.executor.flowFor(sp.provider.invalidationFlowId, true), flowContext(sp, sessions, false));
      status = await this.slo.outcome(step.operation?.id ?? null, this.config.delivery.frontchannelTimeoutMs);
    }
    res.type('text/xml').send(await this.slo.soapReply(request.id, status!));
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
    if (!Array.isArray(sessions)) return this.send(res, await this.slo.reply(sp, request.id, sessions, message.binding, message.relayState));

    const browserId = this.browser.read(req) ?? this.browser.ensure(req, res);
    const pending: PendingReply = { providerId: sp.providerId, inResponseTo: request.id, binding: message.binding, relayState: message.relayState };
    const handle = await this.store.put('saml-slo-reply', pending, PENDING_TTL_SECONDS);
    await this.runner.run(res, this.executor.flowFor(sp.provider.invalidationFlowId, true), flowContext(sp, sessions, true), `/saml/slo/reply?request=${handle}&operation={operation}`, this.browser.csrfToken(browserId));
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
      const { sp, delivery } = await this.slo.recordResponse(message);
      if (chain) return res.redirect(303, chain);
      res.type('html').send(page('Signed out', `<p>${delivery.status === 'succeeded' ? 'Signed out of' : 'Could not sign out of'} ${h(sp.provider.name)}.</p>`));
    } catch (error) {
      await this.refused(error, message.binding);
      const refusal = `The logout response was refused: ${(error as Error).message}.`;
      if (!chain) throw new BadRequestException(refusal);
      // In the native chain the user must not be stranded: the application counts as not confirmed.
      res.status(400).type('html').send(page('Sign-out not confirmed', `<p class="error">${h(refusal)}</p><p><a href="${h(chain)}?skip=1">Continue signing out</a></p>`));
    }
  }

  private send(res: Response, reply: SamlReply | null): void {
    if (!reply) return void res.type('html').send(page('You are signed out', '<p>You have signed out. The application has no address to receive the confirmation; you can close this page.</p>'));
    if (reply.binding === 'redirect') return res.redirect(303, reply.url);
    res.type('html').send(formPostPage(reply.url, reply.fields));
  }

  /** A refused message is recorded; anything but a refusal is a fault of ours and goes on up. */
  private async refused(error: unknown, binding: string): Promise<void> {
    if (!(error instanceof SamlMessageError || error instanceof UnsafeXmlError)) throw error;
    await this.audit.record({ action: 'saml.logout_message_refused', actor: { type: 'anonymous' }, details: { binding, reason: error.message } });
  }
}

/** What an SP's logout runs on: the IdP sessions of the SamlSessions it named, with the SP as the initiator. */
function flowContext(sp: RegisteredSp, sessions: SamlSession[], interactive: boolean): FlowContext {
  return {
    trigger: 'sp_initiated', initiator: { type: 'provider', id: sp.providerId }, idpSessionIds: [...new Set(sessions.map((session) => session.idpSessionId))],
    initiatingProviderSessionId: sessions[0].id, interactive,
  };
}
