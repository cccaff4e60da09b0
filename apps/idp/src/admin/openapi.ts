import { Controller, Get, Inject } from '@nestjs/common';
import { CONFIG, type Config } from '@signoff/core';
import { schemas } from './schemas';

const ref = (name: keyof typeof schemas) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const list = (item: keyof typeof schemas) =>
  json({
    type: 'object',
    properties: {
      items: { type: 'array', items: ref(item) },
      total: { type: 'integer' },
      limit: { type: 'integer' },
      offset: { type: 'integer' },
    },
  });
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, { description: ERROR_TEXT[status], ...json(ref('Error')) }]));
const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid input',
  401: 'No or bad credentials',
  403: 'Not an administrator, or a missing CSRF token',
  404: 'Not found',
  409: 'Conflict',
  415: 'Body is not JSON',
};
const id = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const group = {
  name: 'group',
  in: 'path',
  required: true,
  description: "The group's id or its name",
  schema: { type: 'string', maxLength: 64 },
};
const paging = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
  { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
];
const base = errors(401, 403);

function document(publicUrl: string) {
  return {
    openapi: '3.1.0',
    info: { title: 'Signoff admin API', version: '1' },
    servers: [{ url: `${publicUrl}/api/v1` }],
    security: [{ bearer: [] }, { browserSession: [] }],
    paths: {
      '/me': {
        get: {
          summary: 'The calling administrator (and the CSRF token for browser sessions)',
          responses: { 200: json({ type: 'object' }), ...base },
        },
      },
      '/users': {
        get: { summary: 'List users', parameters: paging, responses: { 200: list('User'), ...base, ...errors(400) } },
        post: {
          summary: 'Create a user',
          requestBody: { required: true, ...json(ref('UserCreate')) },
          responses: { 201: json(ref('User')), ...base, ...errors(400, 409, 415) },
        },
      },
      '/users/{id}': {
        get: {
          summary: 'Get a user, with the groups they belong to',
          parameters: [id],
          responses: { 200: json(ref('User')), ...base, ...errors(404) },
        },
        patch: {
          summary: 'Change a user',
          parameters: [id],
          requestBody: { required: true, ...json(ref('UserUpdate')) },
          responses: { 200: json(ref('User')), ...base, ...errors(400, 404, 415) },
        },
      },
      '/users/{id}/deactivate': {
        post: {
          summary: 'Deactivate a user and end all their sessions (applications are told asynchronously)',
          parameters: [id],
          responses: {
            202: json({
              type: 'object',
              properties: {
                user: ref('User'),
                endedSessions: { type: 'array', items: { type: 'string' } },
                operationId: { type: 'string' },
              },
            }),
            ...base,
            ...errors(404),
          },
        },
      },
      '/users/{id}/sessions': {
        get: {
          summary: "A user's IdP sessions",
          parameters: [id, { name: 'include_ended', in: 'query', schema: { type: 'boolean' } }],
          responses: { 200: list('Session'), ...base, ...errors(404) },
        },
      },
      '/groups': {
        get: {
          summary: 'List groups (without members)',
          responses: {
            200: json({ type: 'object', properties: { items: { type: 'array', items: ref('Group') } } }),
            ...base,
          },
        },
        post: {
          summary: 'Create a group; its name is what applications see (OIDC groups claim, SAML isMemberOf)',
          requestBody: { required: true, ...json(ref('GroupCreate')) },
          responses: { 201: json(ref('Group')), ...base, ...errors(400, 409, 415) },
        },
      },
      '/groups/{group}': {
        get: {
          summary: 'Get a group with its members (id and username)',
          parameters: [group],
          responses: { 200: json(ref('Group')), ...base, ...errors(404) },
        },
        delete: {
          summary: 'Delete a group and its memberships',
          parameters: [group],
          responses: { 204: { description: 'Deleted' }, ...base, ...errors(404) },
        },
      },
      '/groups/{group}/members': {
        post: {
          summary: 'Add a user (userId or username) to a group; a member already: nothing changes',
          parameters: [group],
          requestBody: { required: true, ...json(ref('GroupMemberAdd')) },
          responses: { 200: json(ref('Group')), ...base, ...errors(400, 404, 415) },
        },
      },
      '/groups/{group}/members/{userId}': {
        delete: {
          summary: 'Remove a user from a group (404 when not a member)',
          parameters: [group, { ...id, name: 'userId' }],
          responses: { 200: json(ref('Group')), ...base, ...errors(404) },
        },
      },
      '/sessions/{id}': {
        get: {
          summary: 'Get an IdP session',
          parameters: [id],
          responses: { 200: json(ref('Session')), ...base, ...errors(404) },
        },
        delete: {
          summary: 'End an IdP session everywhere (back-channel, asynchronously)',
          parameters: [id],
          responses: {
            202: json({
              type: 'object',
              properties: {
                session: ref('Session'),
                ended: { type: 'boolean' },
                operationId: { type: ['string', 'null'] },
              },
            }),
            ...base,
            ...errors(404),
          },
        },
      },
      '/providers': {
        get: { summary: 'List providers (applications)', responses: { 200: json({ type: 'object' }), ...base } },
        post: {
          summary:
            'Register an OIDC client (client_id chosen or random) or a SAML SP; the response carries clientSecret once',
          requestBody: { required: true, ...json(ref('ProviderCreate')) },
          responses: {
            201: {
              description:
                "The provider. A SAML SP's view has saml.attributeProfile, attributeMappings, subjectIdentifier and logoutReturnUrls; saml.encryptAssertions, saml.encryptionCertificates (how many its metadata has) and saml.assertionEncryption (contentEncryption and keyTransport, or null when it has no certificate assertions can be encrypted to); and, in the answer to a request with metadata, saml.requestedAttributes: the metadata's RequestedAttributes, each with provided (whether the SP's attribute settings send it). saml.warnings also says, in this answer, when no logoutMethod was given and the SP got front-channel logout (its metadata offers no SOAP SingleLogoutService): logouts without a browser cannot reach it.",
              ...json({ type: 'object' }),
            },
            ...base,
            ...errors(400, 409, 415),
          },
        },
      },
      '/providers/{id}': {
        get: {
          summary: 'Get a provider',
          parameters: [id],
          responses: { 200: json({ type: 'object' }), ...base, ...errors(404) },
        },
        patch: {
          summary: 'Change name, enabled, invalidationFlowId, OIDC metadata or consentRequired, or SAML settings',
          parameters: [id],
          requestBody: { required: true, ...json(ref('ProviderUpdate')) },
          responses: { 200: json({ type: 'object' }), ...base, ...errors(400, 404, 415) },
        },
        delete: {
          summary: 'Delete a provider',
          parameters: [id],
          responses: { 204: { description: 'Deleted' }, ...base, ...errors(404) },
        },
      },
      '/providers/{id}/refresh-metadata': {
        post: {
          summary:
            "Fetch a SAML SP's metadata from its metadataUrl now (as the worker does every SAML_METADATA_REFRESH) and apply what changed",
          parameters: [id],
          responses: {
            200: {
              description:
                'changes: what the metadata changed (certificates added and removed by SHA-256 fingerprint, acsEndpoints, slsEndpoints, singleLogout before and after; {} when nothing), audited as saml_sp.metadata_refreshed; provider: the provider as it is now. A failed fetch or check (400) changes nothing and is audited as saml_sp.metadata_refresh_failed.',
              ...json({ type: 'object' }),
            },
            ...base,
            ...errors(400, 404),
          },
        },
      },
      '/flows': {
        get: {
          summary: 'List invalidation flows with their stages',
          responses: { 200: json({ type: 'object' }), ...base },
        },
        post: {
          summary: 'Create a flow',
          requestBody: { required: true, ...json(ref('FlowCreate')) },
          responses: { 201: json({ type: 'object' }), ...base, ...errors(400, 409, 415) },
        },
      },
      '/flows/{id}': {
        get: {
          summary: 'Get a flow',
          parameters: [id],
          responses: { 200: json({ type: 'object' }), ...base, ...errors(404) },
        },
        delete: {
          summary: 'Delete a flow (not the default ones)',
          parameters: [id],
          responses: { 204: { description: 'Deleted' }, ...base, ...errors(400, 404) },
        },
      },
      '/flows/{id}/bindings': {
        post: {
          summary: 'Bind a stage to a flow at an order',
          parameters: [id],
          requestBody: { required: true, ...json(ref('BindingCreate')) },
          responses: { 201: json({ type: 'object' }), ...base, ...errors(400, 404, 409) },
        },
      },
      '/flows/{id}/bindings/{bindingId}': {
        delete: {
          summary: 'Remove a stage from a flow',
          parameters: [id, { ...id, name: 'bindingId' }],
          responses: { 200: json({ type: 'object' }), ...base, ...errors(404) },
        },
      },
      '/stages': {
        get: { summary: 'List stages', responses: { 200: json({ type: 'object' }), ...base } },
        post: {
          summary: 'Create a stage: user_logout, provider_logout, confirm, redirect or message',
          requestBody: { required: true, ...json(ref('StageCreate')) },
          responses: { 201: json({ type: 'object' }), ...base, ...errors(400, 409, 415) },
        },
      },
      '/logout-operations/{id}': {
        get: {
          summary: 'One logout: each delivery with its channel, status, attempts and last error',
          parameters: [id],
          responses: { 200: json({ type: 'object' }), ...base, ...errors(404) },
        },
      },
      '/api-tokens': {
        get: {
          summary:
            "List API tokens (every administrator's; user_id narrows), with created, last used, expiry and revocation",
          parameters: [...paging, { name: 'user_id', in: 'query', schema: { type: 'string' } }],
          responses: { 200: list('ApiToken'), ...base, ...errors(400) },
        },
        post: {
          summary:
            'Create an API token for the caller, optionally expiring (expiresIn or expiresAt); the answer carries the token once',
          requestBody: { required: true, ...json(ref('ApiTokenCreate')) },
          responses: { 201: json(ref('ApiToken')), ...base, ...errors(400, 415) },
        },
      },
      '/api-tokens/{id}': {
        delete: {
          summary: 'Revoke an API token: its next request gets 401',
          parameters: [id],
          responses: { 200: json(ref('ApiToken')), ...base, ...errors(404) },
        },
      },
      '/audit-events': {
        get: {
          summary: 'Audit events, newest first',
          parameters: [
            ...paging,
            { name: 'action', in: 'query', schema: { type: 'string' } },
            { name: 'target_id', in: 'query', schema: { type: 'string' } },
          ],
          responses: { 200: list('AuditEvent'), ...base },
        },
      },
    },
    components: {
      schemas,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token from `npm run signoff -- create-api-token <admin>`.',
        },
        browserSession: {
          type: 'apiKey',
          in: 'cookie',
          name: 'signoff_browser',
          description: "An administrator's browser session; changes also need the X-CSRF-Token header from GET /me.",
        },
      },
    },
  };
}

/** The OpenAPI 3.1 document of the admin API. Public: it describes, it grants nothing. */
@Controller('api/docs')
export class OpenApiController {
  private readonly doc: object;
  constructor(@Inject(CONFIG) config: Config) {
    this.doc = document(config.publicUrl);
  }

  @Get()
  get() {
    return this.doc;
  }
}
