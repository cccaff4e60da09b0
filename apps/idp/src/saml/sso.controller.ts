import { BadRequestException, Body, Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { Clock, PendingStore } from '@signoff/core';
import {
  type IncomingMessage,
  MAX_RELAY_STATE,
  redirectMessage,
  SamlIntake,
  SamlMessageError,
  SamlSpsService,
  SamlSsoService,
  validateAuthnRequest,
} from '@signoff/saml';
import { IdpSessionsService, type LiveSession } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { autoPostPage } from '../http/layout';
import { rawQuery } from '../http/raw-query';
import { singleField } from '../http/single-field';
import { chooserPage } from './sso.pages';

/** A validated SSO request waiting for the user to sign in (kept 15 minutes in Redis). */
interface PendingSso {
  providerId: string;
  /** id is null for IdP-initiated SSO (no InResponseTo). */
  request: { id: string | null; acsUrl: string; forceAuthn: boolean; isPassive?: boolean; relayState: string | null };
  createdAt: number;
  /** The account the user picked in the chooser. */
  selectedSessionId?: string;
}

const PENDING_TTL_SECONDS = 15 * 60;

/**
 * SAML Web Browser SSO (profiles §4.1): AuthnRequests over HTTP-Redirect and HTTP-POST, and
 * IdP-initiated SSO; the Response always goes back with HTTP-POST to an ACS from the SP's metadata.
 * A request that fails validation gets an error page (nothing in it can be trusted to send a reply
 * to) and is audited, like every refused SAML message (SamlIntake).
 */
@Controller('saml/sso')
export class SamlSsoController {
  constructor(
    private readonly sps: SamlSpsService,
    private readonly sso: SamlSsoService,
    private readonly sessions: IdpSessionsService,
    private readonly browser: BrowserService,
    private readonly store: PendingStore,
    private readonly intake: SamlIntake,
    private readonly clock: Clock,
  ) {}

  @Get()
  async redirectBinding(@Req() req: Request, @Res() res: Response): Promise<void> {
    let message: IncomingMessage;
    try {
      const read = redirectMessage(rawQuery(req));
      if (read.kind !== 'SAMLRequest') throw new SamlMessageError('the query carries no SAMLRequest');
      message = read.message;
    } catch (error) {
      throw await this.intake.refuse('AuthnRequest', 'redirect', error);
    }
    await this.start(req, res, message);
  }

  @Post()
  @HttpCode(200)
  async postBinding(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    await this.start(req, res, {
      binding: 'post',
      message: singleField(body.SAMLRequest, 'SAMLRequest', true)!,
      relayState: singleField(body.RelayState, 'RelayState'),
    });
  }

  /** IdP-initiated SSO: /saml/sso/init?sp=<entityID>[&RelayState=…] sends an unsolicited Response to the SP's default ACS. */
  @Get('init')
  async idpInitiated(
    @Req() req: Request,
    @Res() res: Response,
    @Query('sp') entityId: unknown,
    @Query('RelayState') relayState: unknown,
  ): Promise<void> {
    const sp = typeof entityId === 'string' ? await this.sps.byEntityId(entityId) : null;
    if (!sp) throw new BadRequestException('No such SAML service provider.');
    const relay = singleField(relayState, 'RelayState');
    if (relay !== null && Buffer.byteLength(relay) > MAX_RELAY_STATE)
      throw new BadRequestException(`RelayState is longer than ${MAX_RELAY_STATE} bytes.`);
    const acs = sp.acsEndpoints.filter((endpoint) => endpoint.binding === 'post');
    const acsUrl = (acs.find((endpoint) => endpoint.isDefault) ?? acs[0])?.url;
    if (!acsUrl) throw new BadRequestException('The SP has no HTTP-POST AssertionConsumerService.');
    await this.proceed(
      req,
      res,
      {
        providerId: sp.providerId,
        request: { id: null, acsUrl, forceAuthn: false, relayState: relay },
        createdAt: this.clock.now().getTime(),
      },
      null,
    );
  }

  /** Back from the login page. */
  @Get('resume')
  async resume(@Req() req: Request, @Res() res: Response, @Query('request') handle: unknown): Promise<void> {
    const pending = await this.store.peek<PendingSso>('saml-sso', handle);
    if (!pending)
      throw new BadRequestException('This sign-in request has expired. Go back to the application and start again.');
    await this.proceed(req, res, pending, handle as string);
  }

  private async start(req: Request, res: Response, message: IncomingMessage): Promise<void> {
    const { sp, value: request } = await this.intake.accept('AuthnRequest', message, validateAuthnRequest);
    await this.proceed(req, res, { providerId: sp.providerId, request, createdAt: this.clock.now().getTime() }, null);
  }

  /** An account picked in the chooser. */
  @Post('select')
  async select(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const pending = await this.store.peek<PendingSso>('saml-sso', body.request);
    if (!pending)
      throw new BadRequestException('This sign-in request has expired. Go back to the application and start again.');
    const chosen = typeof body.session === 'string' ? await this.sessions.select(browserId!, body.session) : null;
    if (!chosen) throw new BadRequestException('That account is no longer signed in on this browser.');
    await this.proceed(req, res, { ...pending, selectedSessionId: chosen.id }, body.request as string);
  }

  /**
   * Answers the request with the right account: the one picked in the chooser, the one that just
   * signed in (back from the login page), or the only one; with several accounts and none picked, the
   * user chooses (as OIDC does). ForceAuthn (core §3.4.1) needs a sign-in newer than the request;
   * IsPassive never shows a page: nobody signed in is NoPassive, several accounts take the current one.
   */
  private async proceed(req: Request, res: Response, pending: PendingSso, handle: string | null): Promise<void> {
    const browserId = this.browser.read(req);
    const live = browserId ? await this.sessions.forBrowser(browserId) : [];
    const fresh = (session: LiveSession) => session.authTime.getTime() >= pending.createdAt;
    const passive = Boolean(pending.request.isPassive && pending.request.id);
    const current =
      live.find((session) => session.id === pending.selectedSessionId) ??
      (handle && live[0] && fresh(live[0]) ? live[0] : undefined) ??
      (live.length === 1 || passive ? live[0] : undefined);
    // IsPassive: the IdP must not take over the page (core §3.4.1), so a needed sign-in is NoPassive too.
    if (passive && (!current || (pending.request.forceAuthn && !fresh(current)))) {
      // The SP asked not to be shown anything: say nobody is signed in rather than show the login page.
      return this.post(
        res,
        pending,
        await this.sso.noPassive({ id: pending.request.id!, acsUrl: pending.request.acsUrl }),
      );
    }
    if (!current && live.length > 1) {
      const id = await this.keep(pending, handle);
      const sp = await this.sps.byProviderId(pending.providerId);
      return void res.type('html').send(chooserPage(live, id, sp.provider.name, this.browser.csrfToken(browserId!)));
    }
    if (!current || (pending.request.forceAuthn && !fresh(current))) {
      // A request back from the login page keeps its handle (the login page's return_to names it).
      const id = await this.keep(pending, handle);
      return res.redirect(
        303,
        `/login?return_to=${encodeURIComponent(`/saml/sso/resume?request=${id}`)}${current ? `&login_hint=${encodeURIComponent(current.user.username)}` : ''}`,
      );
    }
    await this.sessions.select(browserId!, current.id);
    if (handle) await this.store.drop('saml-sso', handle);
    const sp = await this.sps.byProviderId(pending.providerId);
    await this.sessions.touch(current);
    const { xml } = await this.sso.respond(sp, current.user, current, {
      id: pending.request.id,
      acsUrl: pending.request.acsUrl,
    });
    this.post(res, pending, xml);
  }

  /** Keeps the pending request under the handle the browser already holds, or a new one. */
  private async keep(pending: PendingSso, handle: string | null): Promise<string> {
    if (!handle) return this.store.put('saml-sso', pending, PENDING_TTL_SECONDS);
    await this.store.save('saml-sso', handle, pending, PENDING_TTL_SECONDS);
    return handle;
  }

  /** The HTTP-POST binding: the Response and the request's RelayState, unchanged, to the ACS. */
  private post(res: Response, pending: PendingSso, xml: string): void {
    const fields: Record<string, string> = { SAMLResponse: Buffer.from(xml).toString('base64') };
    if (pending.request.relayState !== null) fields.RelayState = pending.request.relayState;
    res.type('html').send(autoPostPage(pending.request.acsUrl, fields));
  }
}
