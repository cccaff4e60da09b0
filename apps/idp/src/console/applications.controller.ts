import { Body, Controller, Get, HttpStatus, Param, Post, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import { FlowsService } from '@signoff/flows';
import { SignoffError } from '@signoff/core';
import { type ProviderChange, type ProviderCreate, ProvidersAdminService } from '@signoff/providers';
import type { Response } from 'express';
import { schemas } from '../admin/schemas';
import { IdParam, JsonBody } from '../admin/validation';
import {
  applicationPage,
  applicationsPage,
  deleteApplicationPage,
  newOidcPage,
  newSamlPage,
  type OidcFields,
  type SamlFields,
  secretPage,
} from './applications.pages';
import { Admin, type ConsoleAdmin, ConsoleGuard, SignInFirst } from './console.guard';
import { checked, defined, type FormBody, formProblem, problemStatus, text } from './forms';

const NOTICES: Record<string, string> = {
  saved: 'The settings were saved.',
  imported: 'The application was imported.',
  deleted: 'The application was deleted.',
  'deleted-ended': "The application was deleted; its users' sessions in it are being signed out (see Logouts).",
};

// The console's forms are checked by the admin API's own schemas: the same rules, the same messages.
const providerCreate = new JsonBody(schemas.ProviderCreate);
const providerUpdate = new JsonBody(schemas.ProviderUpdate);

const lines = (value: string | undefined): string[] =>
  (value ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);

/** The OIDC form as typed. */
const oidcFieldsFrom = (body: FormBody): OidcFields => ({
  name: text(body, 'name'),
  client_id: text(body, 'client_id'),
  redirect_uris: typeof body.redirect_uris === 'string' ? body.redirect_uris : '',
  post_logout_redirect_uris: typeof body.post_logout_redirect_uris === 'string' ? body.post_logout_redirect_uris : '',
  backchannel_logout_uri: text(body, 'backchannel_logout_uri'),
  frontchannel_logout_uri: text(body, 'frontchannel_logout_uri'),
  token_endpoint_auth_method: text(body, 'token_endpoint_auth_method'),
  id_token_signed_response_alg: text(body, 'id_token_signed_response_alg'),
  subject_type: text(body, 'subject_type'),
  logout_token_typ: text(body, 'logout_token_typ'),
  refresh_tokens: checked(body, 'refresh_tokens'),
  backchannel_logout_session_required: checked(body, 'backchannel_logout_session_required'),
  frontchannel_logout_session_required: checked(body, 'frontchannel_logout_session_required'),
  consentRequired: checked(body, 'consentRequired'),
  invalidationFlowId: text(body, 'invalidationFlowId'),
});

/** The SAML settings form as typed. */
const samlFieldsFrom = (body: FormBody): SamlFields => ({
  name: text(body, 'name'),
  logoutMethod: text(body, 'logoutMethod'),
  slsBinding: text(body, 'slsBinding'),
  signLogoutRequests: checked(body, 'signLogoutRequests'),
  requireSignedRequests: checked(body, 'requireSignedRequests'),
  encryptAssertions: checked(body, 'encryptAssertions'),
  nameIdSource: text(body, 'nameIdSource'),
  attributeProfile: text(body, 'attributeProfile'),
  attributeMappings: typeof body.attributeMappings === 'string' ? body.attributeMappings : undefined,
  logoutReturnUrls: typeof body.logoutReturnUrls === 'string' ? body.logoutReturnUrls : undefined,
  metadata: text(body, 'metadata'),
  invalidationFlowId: text(body, 'invalidationFlowId'),
});

/** The SAML change the admin API takes, from the form; attribute mappings are JSON, refused field by field when they are not. */
function samlChangeOf(fields: SamlFields): Record<string, unknown> {
  let attributeMappings: unknown;
  if (fields.attributeMappings?.trim()) {
    try {
      attributeMappings = JSON.parse(fields.attributeMappings);
    } catch {
      throw new SignoffError('invalid_request', 'The attribute mappings are not JSON.', [
        'saml.attributeMappings: must be a JSON list of mappings',
      ]);
    }
  }
  return defined({
    logoutMethod: fields.logoutMethod,
    slsBinding: fields.slsBinding,
    signLogoutRequests: fields.signLogoutRequests,
    requireSignedRequests: fields.requireSignedRequests,
    encryptAssertions: fields.encryptAssertions,
    nameIdSource: fields.nameIdSource,
    attributeProfile: fields.attributeProfile,
    attributeMappings: attributeMappings ?? (fields.attributeMappings === undefined ? undefined : []),
    logoutReturnUrls: fields.logoutReturnUrls === undefined ? undefined : lines(fields.logoutReturnUrls),
    metadata: fields.metadata,
  });
}

/**
 * RFC 7591 client metadata from the form, over `base` (the client's current metadata, when editing:
 * fields the form does not show are kept). A field left blank is left out: the client has none.
 */
function oidcMetadataOf(fields: OidcFields, base: Record<string, unknown> = {}): Record<string, unknown> {
  const metadata: Record<string, unknown> = { ...base, client_name: fields.name };
  for (const key of ['backchannel_logout_uri', 'frontchannel_logout_uri'] as const) {
    if (fields[key]) metadata[key] = fields[key];
    else delete metadata[key];
  }
  // Session-bound logout: Back-Channel Logout 1.0 §2.2 and Front-Channel Logout 1.0 §2: the sid tells the RP which session.
  if (fields.backchannel_logout_uri)
    metadata.backchannel_logout_session_required = fields.backchannel_logout_session_required ?? true;
  else delete metadata.backchannel_logout_session_required;
  if (fields.frontchannel_logout_uri)
    metadata.frontchannel_logout_session_required = fields.frontchannel_logout_session_required ?? true;
  else delete metadata.frontchannel_logout_session_required;
  metadata.grant_types = fields.refresh_tokens ? ['authorization_code', 'refresh_token'] : ['authorization_code'];
  for (const key of ['id_token_signed_response_alg', 'subject_type', 'logout_token_typ'] as const)
    if (fields[key]) metadata[key] = fields[key];
  metadata.redirect_uris = lines(fields.redirect_uris);
  metadata.post_logout_redirect_uris = lines(fields.post_logout_redirect_uris);
  if (fields.token_endpoint_auth_method) metadata.token_endpoint_auth_method = fields.token_endpoint_auth_method;
  if (fields.client_id) metadata.client_id = fields.client_id;
  // Read-only facts of a registration are not metadata one sends back.
  for (const key of [
    'client_secret',
    'client_id_issued_at',
    'client_secret_expires_at',
    'registration_access_token',
    'registration_client_uri',
  ])
    delete metadata[key];
  return metadata;
}

/** Applications: OIDC clients and SAML SPs — register, import, edit, rotate a secret, delete through the engine. */
@Controller('admin/applications')
@UseGuards(ConsoleGuard)
@UseFilters(SignInFirst)
export class ConsoleApplicationsController {
  constructor(
    private readonly providers: ProvidersAdminService,
    private readonly flows: FlowsService,
  ) {}

  @Get()
  async list(@Admin() admin: ConsoleAdmin, @Query('done') done: unknown, @Res() res: Response): Promise<void> {
    const notice = typeof done === 'string' ? NOTICES[done] : undefined;
    res.type('html').send(applicationsPage(admin, await this.providers.list(), notice));
  }

  @Get('new/oidc')
  async newOidc(@Admin() admin: ConsoleAdmin, @Res() res: Response): Promise<void> {
    res
      .type('html')
      .send(newOidcPage(admin, { token_endpoint_auth_method: 'client_secret_basic' }, await this.flows.listFlows()));
  }

  /** Registers the client; the secret of a confidential one is shown on the answer, once, never in a URL. */
  @Post('new/oidc')
  async createOidc(@Admin() admin: ConsoleAdmin, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const fields = oidcFieldsFrom(body);
    const input = defined({
      protocol: 'oidc' as const,
      name: fields.name,
      oidc: oidcMetadataOf(fields),
      consentRequired: fields.consentRequired,
      invalidationFlowId: fields.invalidationFlowId,
      confirmEndsNoSession: checked(body, 'confirmEndsNoSession') || undefined,
    });
    try {
      const created = await this.providers.create(providerCreate.transform(input) as ProviderCreate, admin.actor);
      const secret = created.view.clientSecret;
      if (!secret) return res.redirect(HttpStatus.SEE_OTHER, `/admin/applications/${created.view.id}?done=saved`);
      res.setHeader('Cache-Control', 'no-store');
      res.type('html').send(secretPage(admin, created.view, secret, 'Application registered'));
    } catch (error) {
      const problem = formProblem(error);
      if (!problem) throw error;
      res
        .status(problemStatus(error))
        .type('html')
        .send(newOidcPage(admin, fields, await this.flows.listFlows(), problem));
    }
  }

  @Get('new/saml')
  async newSaml(@Admin() admin: ConsoleAdmin, @Res() res: Response): Promise<void> {
    res.type('html').send(newSamlPage(admin, {}, await this.flows.listFlows()));
  }

  @Post('new/saml')
  async createSaml(@Admin() admin: ConsoleAdmin, @Body() body: FormBody, @Res() res: Response): Promise<void> {
    const fields: SamlFields = {
      name: text(body, 'name'),
      metadata: text(body, 'metadata'),
      metadataUrl: text(body, 'metadataUrl'),
      logoutMethod: text(body, 'logoutMethod'),
      invalidationFlowId: text(body, 'invalidationFlowId'),
    };
    const input = defined({
      protocol: 'saml' as const,
      name: fields.name,
      saml: defined({ metadata: fields.metadata, metadataUrl: fields.metadataUrl, logoutMethod: fields.logoutMethod }),
      invalidationFlowId: fields.invalidationFlowId,
      confirmEndsNoSession: checked(body, 'confirmEndsNoSession') || undefined,
    });
    try {
      if (!fields.metadata && !fields.metadataUrl)
        throw new SignoffError('invalid_request', 'Give the SP metadata: choose its file, paste it, or give its URL.', [
          'saml.metadata: choose the metadata file, paste the XML, or give the metadata URL',
        ]);
      const created = await this.providers.create(providerCreate.transform(input) as ProviderCreate, admin.actor);
      res.redirect(HttpStatus.SEE_OTHER, `/admin/applications/${created.view.id}?done=imported`);
    } catch (error) {
      const problem = formProblem(error);
      if (!problem) throw error;
      res
        .status(problemStatus(error))
        .type('html')
        .send(newSamlPage(admin, fields, await this.flows.listFlows(), problem));
    }
  }

  @Get(':id')
  async detail(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Query('done') done: unknown,
    @Res() res: Response,
  ): Promise<void> {
    const notice = typeof done === 'string' ? NOTICES[done] : undefined;
    const [app, flows] = await Promise.all([this.providers.get(id), this.flows.listFlows()]);
    res.type('html').send(applicationPage(admin, { app, flows, notice }));
  }

  @Post(':id')
  async update(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    const app = await this.providers.get(id);
    const settings = {
      name: text(body, 'name'),
      invalidationFlowId: text(body, 'invalidationFlowId') ?? null,
      confirmEndsNoSession: checked(body, 'confirmEndsNoSession') || undefined,
    };
    const fields: OidcFields & SamlFields = app.protocol === 'oidc' ? oidcFieldsFrom(body) : samlFieldsFrom(body);
    try {
      const change: ProviderChange =
        app.protocol === 'oidc'
          ? defined({
              ...settings,
              oidc: oidcMetadataOf(fields, (app.oidc ?? {}) as Record<string, unknown>),
              consentRequired: fields.consentRequired,
            })
          : (defined({ ...settings, saml: samlChangeOf(fields) }) as ProviderChange);
      await this.providers.update(id, providerUpdate.transform(change) as ProviderChange, admin.actor);
      res.redirect(HttpStatus.SEE_OTHER, `/admin/applications/${id}?done=saved`);
    } catch (error) {
      const problem = formProblem(error);
      if (!problem || problemStatus(error) === HttpStatus.NOT_FOUND) throw error;
      const flows = await this.flows.listFlows();
      res.status(problemStatus(error)).type('html').send(applicationPage(admin, { app, flows, fields, problem }));
    }
  }

  @Post(':id/rotate-secret')
  async rotateSecret(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Res() res: Response,
  ): Promise<void> {
    const { clientSecret, provider } = await this.providers.rotateSecret(id, admin.actor);
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(secretPage(admin, provider, clientSecret, 'New client secret'));
  }

  /** Asks first: how many users are signed in to it, and what deleting does to them. */
  @Get(':id/delete')
  async confirmDelete(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Res() res: Response,
  ): Promise<void> {
    res.type('html').send(deleteApplicationPage(admin, await this.providers.get(id)));
  }

  /** Deletes it; its live sessions are signed out of it through the logout engine first (the admin was told on the page before). */
  @Post(':id/delete')
  async remove(
    @Admin() admin: ConsoleAdmin,
    @Param('id', IdParam) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ): Promise<void> {
    // The page that asked said how many sessions would be signed out; more since then: ask again.
    const app = await this.providers.get(id);
    const told =
      typeof body.liveSessions === 'string' && /^\d{1,9}$/.test(body.liveSessions) ? Number(body.liveSessions) : 0;
    if (app.liveSessions > told)
      return void res
        .status(HttpStatus.CONFLICT)
        .type('html')
        .send(deleteApplicationPage(admin, app, true));
    const removal = await this.providers.remove(id, admin.actor, { endSessions: true });
    if (removal.operationId) return res.redirect(HttpStatus.SEE_OTHER, `/admin/logouts/${removal.operationId}`);
    res.redirect(HttpStatus.SEE_OTHER, '/admin/applications?done=deleted');
  }
}
