import {
  All,
  BadRequestException,
  Body,
  Controller,
  Get,
  Inject,
  NotFoundException,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { Clock, CONFIG, type Config, normalizeUsername } from '@signoff/core';
import {
  type AuthorizationRequest,
  authorizationResponse,
  browserState,
  ConsentsService,
  type Interaction,
  InteractionsService,
  OidcClientsService,
  parseAuthorizationRequest,
  RedirectableError,
  sessionStateFor,
  TokensService,
  UnredirectableError,
} from '@signoff/oidc';
import { IdpSessionsService, type LiveSession } from '@signoff/sessions';
import type { Request, Response } from 'express';
import { BrowserService } from '../http/browser.service';
import { autoPostPage } from '../http/layout';
import { chooserPage, consentPage } from './authorize.pages';

/**
 * The authorization endpoint (OIDC Core 3.1.2): the authorization code flow with PKCE, on the
 * browser's IdP sessions. A request that needs the user (login, re-authentication, choosing among
 * several accounts) waits in an interaction while the login page or the account chooser runs.
 */
@Controller('oauth2/authorize')
export class AuthorizeController {
  constructor(
    private readonly clients: OidcClientsService,
    private readonly tokens: TokensService,
    private readonly sessions: IdpSessionsService,
    private readonly interactions: InteractionsService,
    private readonly consents: ConsentsService,
    private readonly browser: BrowserService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  @All()
  async authorize(@Req() req: Request, @Res() res: Response): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'POST') throw new NotFoundException();
    const params = req.method === 'POST' ? (req.body ?? {}) : req.query;
    let request: AuthorizationRequest;
    try {
      request = parseAuthorizationRequest(params, await this.clients.find(params.client_id));
    } catch (error) {
      if (error instanceof UnredirectableError) throw new BadRequestException(error.message);
      if (error instanceof RedirectableError)
        return this.respond(res, error.target, { error: error.error, error_description: error.description });
      throw error;
    }
    await this.proceed(req, res, { request, createdAt: this.clock.now().getTime() }, null);
  }

  /** Back from the login page. */
  @Get('resume')
  async resume(@Req() req: Request, @Res() res: Response, @Query('interaction') id: string): Promise<void> {
    const interaction = await this.interactions.load(id);
    if (!interaction)
      throw new BadRequestException('This sign-in request has expired. Go back to the application and start again.');
    await this.proceed(req, res, interaction, id);
  }

  /** An account picked in the chooser. */
  @Post('select')
  async select(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const interaction = await this.interactions.load(body.interaction);
    if (!interaction)
      throw new BadRequestException('This sign-in request has expired. Go back to the application and start again.');
    const chosen = typeof body.session === 'string' ? await this.sessions.select(browserId!, body.session) : null;
    if (!chosen) throw new BadRequestException('That account is no longer signed in on this browser.');
    await this.proceed(req, res, { ...interaction, selectedSessionId: chosen.id }, body.interaction as string);
  }

  /** The user's answer on the consent page: allowed (remembered, then the code) or denied (access_denied to the client). */
  @Post('consent')
  async consent(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const browserId = this.browser.read(req);
    this.browser.checkCsrf(browserId, body.csrf);
    const interaction = await this.interactions.load(body.interaction);
    if (!interaction?.selectedSessionId)
      throw new BadRequestException('This sign-in request has expired. Go back to the application and start again.');
    const session = (await this.sessions.forBrowser(browserId!)).find(
      (live) => live.id === interaction.selectedSessionId,
    );
    if (!session) throw new BadRequestException('That account is no longer signed in on this browser.');
    const client = await this.clients.find(interaction.request.clientId);
    if (!client) throw new BadRequestException('The application is no longer registered at Signoff.');
    if (body.answer !== 'allow') {
      await this.interactions.remove(body.interaction as string);
      // OIDC Core §3.1.2.6: the end-user denied the request.
      return this.respond(res, interaction.request, {
        error: 'access_denied',
        error_description: 'the user did not allow access',
      });
    }
    const user = { type: 'user' as const, id: session.userId };
    await this.consents.grant(session.userId, client.providerId, interaction.request.scope.split(' '), user);
    await this.proceed(req, res, { ...interaction, consentGivenBy: session.id }, body.interaction as string);
  }

  private async proceed(
    req: Request,
    res: Response,
    interaction: Interaction,
    interactionId: string | null,
  ): Promise<void> {
    const { request } = interaction;
    const browserId = this.browser.read(req);
    const live = browserId ? await this.sessions.forBrowser(browserId) : [];
    const now = this.clock.now().getTime();
    const fresh = (session: LiveSession) => session.authTime.getTime() >= interaction.createdAt;
    const hint = request.loginHint;
    const matchesHint = (session: LiveSession) =>
      hint !== null && (session.user.username === normalizeUsername(hint) || session.user.email === hint);

    let session =
      live.find((candidate) => candidate.id === interaction.selectedSessionId) ??
      (interactionId && live[0] && fresh(live[0]) ? live[0] : undefined) ??
      live.find(matchesHint) ??
      (live.length === 1 && hint === null && !request.prompt.includes('select_account') ? live[0] : undefined);
    const tooOld = session && request.maxAge !== null && now - session.authTime.getTime() > request.maxAge * 1000;
    const needsLogin = !session
      ? live.length === 0 || hint !== null
      : !fresh(session) && (request.prompt.includes('login') || Boolean(tooOld));
    const needsChoice = !session && !needsLogin;

    if (request.prompt.includes('none') && (needsLogin || needsChoice)) {
      const error = needsLogin ? 'login_required' : 'account_selection_required';
      return this.respond(res, request, {
        error,
        error_description: needsLogin ? 'the user must sign in' : 'the user must choose an account',
      });
    }
    if (needsLogin || needsChoice) {
      const id = await this.interactions.save(interaction, interactionId ?? undefined);
      if (needsChoice) {
        const client = await this.clients.find(request.clientId);
        res
          .type('html')
          .send(chooserPage(live, id, client?.provider.name ?? request.clientId, this.browser.csrfToken(browserId!)));
        return;
      }
      const username = session?.user.username ?? hint ?? '';
      return res.redirect(
        303,
        `/login?return_to=${encodeURIComponent(`/oauth2/authorize/resume?interaction=${id}`)}${username ? `&login_hint=${encodeURIComponent(username)}` : ''}`,
      );
    }

    session = session!;
    const client = await this.clients.find(request.clientId);
    if (!client) throw new BadRequestException('The application is no longer registered at Signoff.');
    if (await this.consents.mustAsk(client, session.userId, request, interaction.consentGivenBy === session.id)) {
      if (request.prompt.includes('none')) {
        return this.respond(res, request, {
          error: 'consent_required',
          error_description: 'the user must allow this application',
        });
      }
      const id = await this.interactions.save(
        { ...interaction, selectedSessionId: session.id },
        interactionId ?? undefined,
      );
      const page = consentPage({
        clientName: client.provider.name,
        redirectHost: new URL(request.redirectUri).host,
        scopes: request.scope.split(' '),
        username: session.user.username,
        interaction: id,
        csrf: this.browser.csrfToken(browserId!),
      });
      return void res.type('html').send(page);
    }
    await this.sessions.select(browserId!, session.id);
    if (interactionId) await this.interactions.remove(interactionId);
    const code = await this.tokens.issueCode({
      client,
      user: session.user,
      idpSession: session,
      redirectUri: request.redirectUri,
      scope: request.scope,
      nonce: request.nonce,
      codeChallenge: request.codeChallenge,
    });
    const order = [session.id, ...live.filter((other) => other.id !== session!.id).map((other) => other.id)];
    const state = sessionStateFor(client.clientId, request.redirectUri, browserState(order));
    this.respond(res, request, state ? { code, session_state: state } : { code });
  }

  private respond(
    res: Response,
    target: Pick<AuthorizationRequest, 'redirectUri' | 'responseMode' | 'state'>,
    params: Record<string, string>,
  ): void {
    const response = authorizationResponse(target, this.config.publicUrl, params);
    if (response.kind === 'redirect') return res.redirect(303, response.url);
    res.type('html').send(autoPostPage(response.url, response.fields));
  }
}
