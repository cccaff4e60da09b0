import { Controller, Get, Inject, NotFoundException, Param, Req, Res } from '@nestjs/common';
import { ACTOR_TYPES, CONFIG, type Config, DELIVERY_STATUSES, LOGOUT_TRIGGERS } from '@signoff/core';
import type { Request, Response } from 'express';
import { apiDocsPage } from './api-docs.pages';
import { schemas } from './schemas';
import { loadSwaggerUiFiles } from './swagger-ui-files';

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
/** A filter of a list endpoint (snake_case; an unknown value of an enum, or a malformed id or time, is a 400). */
const filter = (name: string, schema: object, description?: string) => ({
  name,
  in: 'query',
  schema,
  ...(description ? { description } : {}),
});
const idFilter = (name: string, description: string) => filter(name, { type: 'string', format: 'uuid' }, description);
const period = [
  filter('since', { type: 'string', format: 'date-time' }, 'ISO 8601, inclusive: 2025-01-31 or 2025-01-31T12:00:00Z'),
  filter('until', { type: 'string', format: 'date-time' }, 'ISO 8601, exclusive; after since'),
];
const notRetryable = {
  409: {
    description:
      "delivery_not_retryable: a front-channel delivery (only the user's browser can run it), or one that is not failed or dead; nothing changed",
    ...json(ref('Error')),
  },
};

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
          responses: { 200: json(ref('Me')), ...base },
        },
      },
      '/users': {
        get: {
          summary: 'List users by username',
          parameters: [
            ...paging,
            filter('q', { type: 'string', maxLength: 100 }, 'Username, email or name contains it (ignoring case)'),
          ],
          responses: { 200: list('User'), ...base, ...errors(400) },
        },
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
      '/users/deactivate': {
        post: {
          summary:
            'Deactivate many users at once (at most 1000) and end all their sessions in one logout operation; users already inactive are left as they are, an unknown id refuses the whole call (404, details.missing)',
          requestBody: { required: true, ...json(ref('UsersDeactivate')) },
          responses: {
            202: json({
              type: 'object',
              properties: {
                users: { type: 'array', items: ref('User') },
                deactivated: {
                  type: 'array',
                  items: { type: 'string' },
                  description: 'Ids of those active until now.',
                },
                endedSessions: { type: 'array', items: { type: 'string' } },
                operationId: { type: 'string' },
              },
            }),
            ...base,
            ...errors(400, 404, 409, 415),
          },
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
          summary: "A user's IdP sessions, newest first",
          parameters: [
            id,
            ...paging,
            filter(
              'include_ended',
              { enum: ['true', 'false'] },
              'true: the ended sessions too (default: live ones only)',
            ),
          ],
          responses: { 200: list('Session'), ...base, ...errors(400, 404) },
        },
        delete: {
          summary:
            'End every session of the user everywhere (trigger admin_session; applications told over their back channels, asynchronously); the user stays active',
          parameters: [id],
          responses: { 202: json(ref('EndedSessions')), ...base, ...errors(404) },
        },
      },
      '/users/{id}/activate': {
        post: {
          summary: 'Let a deactivated user sign in again (audited as user.activated); an active user is answered as is',
          parameters: [id],
          responses: { 200: json(ref('User')), ...base, ...errors(404) },
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
      '/sessions': {
        get: {
          summary: 'Live IdP sessions (neither ended nor expired), most recently seen first, with their applications',
          parameters: [
            ...paging,
            idFilter('user_id', "Only this user's sessions"),
            idFilter('provider_id', 'Only sessions signed in to this application'),
          ],
          responses: { 200: list('LiveSession'), ...base, ...errors(400) },
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
        get: { summary: 'List providers (applications)', responses: { 200: json(ref('Providers')), ...base } },
        post: {
          summary:
            'Register an OIDC client (client_id chosen or random) or a SAML SP; the response carries clientSecret once',
          requestBody: { required: true, ...json(ref('ProviderCreate')) },
          responses: {
            201: {
              description:
                "The provider. A SAML SP's view has saml.attributeProfile, attributeMappings, subjectIdentifier and logoutReturnUrls; saml.encryptAssertions, saml.encryptionCertificates (how many its metadata has) and saml.assertionEncryption (contentEncryption and keyTransport, or null when it has no certificate assertions can be encrypted to); and, in the answer to a request with metadata, saml.requestedAttributes: the metadata's RequestedAttributes, each with provided (whether the SP's attribute settings send it). saml.warnings also says, in this answer, when no logoutMethod was given and the SP got front-channel logout (its metadata offers no SOAP SingleLogoutService): logouts without a browser cannot reach it.",
              ...json(ref('ProviderCreated')),
            },
            ...base,
            ...errors(400, 409, 415),
          },
        },
      },
      '/providers/{id}': {
        get: {
          summary: 'Get a provider, with how many sessions users have at it (liveSessions)',
          parameters: [id],
          responses: { 200: json(ref('Provider')), ...base, ...errors(404) },
        },
        patch: {
          summary: 'Change name, enabled, invalidationFlowId, OIDC metadata or consentRequired, or SAML settings',
          parameters: [id],
          requestBody: { required: true, ...json(ref('ProviderUpdate')) },
          responses: {
            200: json(ref('Provider')),
            ...base,
            ...errors(400, 404, 415),
            409: {
              description:
                'flow_ends_no_session: invalidationFlowId names a flow with no user_logout or provider_logout stage, and confirmEndsNoSession is not true (details.flow names it); nothing changed',
              ...json(ref('Error')),
            },
          },
        },
        delete: {
          summary:
            'Delete an application; with live sessions only with end_sessions=true, which logs those sessions (and only those) out through the logout engine first',
          description:
            "The users' provider sessions at this application end as an administrator's logout (trigger admin_session): the application is told over its back channel, its tokens are revoked, and the users stay signed in at Signoff and in their other applications. The application disappears from the API at once (disabled: no sign-in, no token, no SAML message). Its row stays as a hidden tombstone, which its logout deliveries belong to, so every logout it took part in keeps showing them (provider.deletedAt in the operation's deliveries). Its slug, client_id or entityID are released at once (renamed <original>~deleted~<id>): the same application can be registered again right away.",
          parameters: [
            id,
            {
              name: 'end_sessions',
              in: 'query',
              schema: { enum: ['true', 'false'] },
              description: 'true: end the live sessions users have at the application, then delete it.',
            },
          ],
          responses: {
            202: { description: 'Deleted; its live sessions are being logged out', ...json(ref('ProviderRemoval')) },
            204: { description: 'Deleted (no session was live)' },
            ...base,
            ...errors(400, 404),
            409: {
              description:
                'provider_has_sessions: users are signed in to the application (details.liveSessions: how many) and end_sessions is not true; nothing changed',
              ...json(ref('Error')),
            },
          },
        },
      },
      '/providers/{id}/rotate-secret': {
        post: {
          summary:
            'Give a confidential OIDC client a new client secret, shown once in the answer; the old one stops working at once (audited as oidc_client.secret_rotated, without the secret)',
          parameters: [id],
          responses: {
            200: json(ref('RotatedSecret')),
            ...base,
            ...errors(404),
            409: {
              description: 'no_client_secret: a public client (token_endpoint_auth_method none) or a SAML SP',
              ...json(ref('Error')),
            },
          },
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
              ...json(ref('MetadataRefresh')),
            },
            ...base,
            ...errors(400, 404),
          },
        },
      },
      '/flows': {
        get: {
          summary: 'List invalidation flows with their stages and warnings',
          responses: {
            200: json({ type: 'object', properties: { items: { type: 'array', items: ref('Flow') } } }),
            ...base,
          },
        },
        post: {
          summary: 'Create a flow',
          requestBody: { required: true, ...json(ref('FlowCreate')) },
          responses: { 201: json(ref('Flow')), ...base, ...errors(400, 409, 415) },
        },
      },
      '/flows/{id}': {
        get: {
          summary: 'Get a flow',
          parameters: [id],
          responses: { 200: json(ref('Flow')), ...base, ...errors(404) },
        },
        patch: {
          summary: 'Rename a flow (name and/or slug; the default flows keep their slug)',
          parameters: [id],
          requestBody: { required: true, ...json(ref('FlowUpdate')) },
          responses: { 200: json(ref('Flow')), ...base, ...errors(400, 404, 409, 415) },
        },
        delete: {
          summary:
            'Delete a flow (not the default ones: 400); one applications run only with force=true, and they fall back to the default flow',
          parameters: [
            id,
            {
              name: 'force',
              in: 'query',
              schema: { enum: ['true', 'false'] },
              description:
                'true: delete it even though applications run it; they fall back to the default flow (invalidationFlowId null) in the same transaction.',
            },
          ],
          responses: {
            204: { description: 'Deleted' },
            ...base,
            ...errors(400, 404),
            409: {
              description:
                'flow_in_use: applications run this flow and force is not true; details.applications lists them ({id, slug, name}); nothing changed',
              ...json(ref('Error')),
            },
          },
        },
      },
      '/flows/{id}/bindings': {
        post: {
          summary: 'Bind a stage to a flow at an order',
          parameters: [id],
          requestBody: { required: true, ...json(ref('BindingCreate')) },
          responses: { 201: json(ref('Flow')), ...base, ...errors(400, 404, 409) },
        },
        put: {
          summary: "Reorder a flow's stages: every binding id of the flow, once, in the new order (one transaction)",
          parameters: [id],
          requestBody: { required: true, ...json(ref('BindingOrder')) },
          responses: { 200: json(ref('Flow')), ...base, ...errors(400, 404, 415) },
        },
      },
      '/flows/{id}/bindings/{bindingId}': {
        delete: {
          summary: 'Remove a stage from a flow',
          description:
            "Taking out a flow's logout stage leaves a flow that signs nobody out: refused for the default flows, and for a flow applications run unless confirm_ends_no_session=true (409 flow_ends_no_session).",
          parameters: [
            id,
            { ...id, name: 'bindingId' },
            { name: 'confirm_ends_no_session', in: 'query', schema: { type: 'string', enum: ['true', 'false'] } },
          ],
          responses: { 200: json(ref('Flow')), ...base, ...errors(404, 409) },
        },
      },
      '/stages': {
        get: {
          summary: 'List stages',
          responses: {
            200: json({ type: 'object', properties: { items: { type: 'array', items: ref('Stage') } } }),
            ...base,
          },
        },
        post: {
          summary: 'Create a stage: user_logout, provider_logout, confirm, redirect or message',
          requestBody: { required: true, ...json(ref('StageCreate')) },
          responses: { 201: json(ref('Stage')), ...base, ...errors(400, 409, 415) },
        },
      },
      '/stages/{id}': {
        get: {
          summary: 'Get a stage',
          parameters: [id],
          responses: { 200: json(ref('Stage')), ...base, ...errors(404) },
        },
        patch: {
          summary:
            "Change a stage's name and/or config (checked as at creation for its kind; the kind cannot change); every flow binding it runs the change",
          parameters: [id],
          requestBody: { required: true, ...json(ref('StageUpdate')) },
          responses: { 200: json(ref('Stage')), ...base, ...errors(400, 404, 409, 415) },
        },
        delete: {
          summary: 'Delete a stage no flow binds',
          parameters: [id],
          responses: {
            204: { description: 'Deleted' },
            ...base,
            ...errors(404),
            409: {
              description:
                'stage_in_use: flows bind the stage; details.flows lists them ({id, slug, name}); remove it from them first',
              ...json(ref('Error')),
            },
          },
        },
      },
      '/keys': {
        get: {
          summary: 'The signing keys of every set (OIDC ES256, OIDC RS256, SAML RS256): next, active, retired',
          responses: {
            200: json({ type: 'object', properties: { items: { type: 'array', items: ref('SigningKey') } } }),
            ...base,
          },
        },
      },
      '/keys/rotate': {
        post: {
          summary:
            'Rotate every key set: next becomes active, active retired (still published for KEY_RETIRED_PUBLISHED_FOR), and a new next key; audited as keys.rotated',
          responses: {
            200: json({
              type: 'object',
              properties: {
                rotated: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      use: { type: 'string' },
                      alg: { type: 'string' },
                      activeKid: { type: 'string' },
                      nextKid: { type: 'string' },
                    },
                  },
                },
                items: { type: 'array', items: ref('SigningKey') },
              },
            }),
            ...base,
          },
        },
      },
      '/endpoints': {
        get: {
          summary:
            'What relying parties and SPs configure Signoff with: the OIDC discovery and JWKS URLs, the SAML entityID and metadata URL',
          responses: { 200: json(ref('Endpoints')), ...base },
        },
      },
      '/logout-operations': {
        get: {
          summary: 'Logout operations, newest first, with their users and their deliveries counted by status',
          parameters: [
            ...paging,
            filter('trigger', { enum: LOGOUT_TRIGGERS }),
            filter('outcome', { enum: ['complete', 'partial', 'failed', 'open'] }, 'open: not complete yet'),
            filter('delivery_status', { enum: DELIVERY_STATUSES }, 'Only operations with a delivery in this status'),
            idFilter('user_id', 'Only operations about this user (its sessions, or its grants)'),
            idFilter('provider_id', 'Only operations with a delivery to this application, or started by it'),
            ...period,
          ],
          responses: { 200: list('LogoutOperationSummary'), ...base, ...errors(400) },
        },
      },
      '/logout-operations/{id}': {
        get: {
          summary:
            'One logout: each delivery with its channel, status, attempts and last error (every delivery: for a logout of thousands, page them with /deliveries)',
          parameters: [id],
          responses: { 200: json(ref('LogoutOperation')), ...base, ...errors(404) },
        },
      },
      '/logout-operations/{id}/deliveries': {
        get: {
          summary:
            "A logout's deliveries a page at a time: those not confirmed first (failed and dead, then those under way), then the confirmed",
          parameters: [id, ...paging],
          responses: { 200: list('LogoutDelivery'), ...base, ...errors(400, 404) },
        },
      },
      '/logout-operations/{id}/retry': {
        post: {
          summary: 'Send every failed or dead back-channel delivery of the operation again, now',
          parameters: [id],
          responses: { 200: json(ref('Retried')), ...base, ...errors(404) },
        },
      },
      '/logout-deliveries/{id}/retry': {
        post: {
          summary:
            'Send a failed or dead back-channel delivery again, now: pending with a fresh attempt count (its attempt log kept), its operation reopened; audited as logout.delivery_retried',
          parameters: [id],
          responses: { 200: json(ref('LogoutDelivery')), ...base, ...errors(404), ...notRetryable },
        },
      },
      '/dashboard': {
        get: {
          summary:
            'The admin dashboard: live sessions and logins, logouts of the last 24 hours by outcome, failing and dead deliveries, the outbox, whether the queue answers',
          responses: { 200: json(ref('Dashboard')), ...base },
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
      '/ssf/receivers': {
        get: {
          summary: 'List Shared Signals receivers, with their streams',
          responses: {
            200: json({ type: 'object', properties: { items: { type: 'array', items: ref('SsfReceiver') } } }),
            ...base,
          },
        },
        post: {
          summary:
            'Register a Shared Signals receiver (docs/shared-signals.md): the answer carries its bearer token once, with which it creates its stream at /ssf/streams',
          requestBody: { required: true, ...json(ref('SsfReceiverCreate')) },
          responses: { 201: json(ref('SsfReceiverCreated')), ...base, ...errors(400, 409, 415) },
        },
      },
      '/ssf/receivers/{id}': {
        get: {
          summary: 'A Shared Signals receiver and its stream',
          parameters: [id],
          responses: { 200: json(ref('SsfReceiver')), ...base, ...errors(404) },
        },
        delete: {
          summary:
            'Delete a receiver: its token stops working, events owed and not sent end skipped; audited as ssf_receiver.deleted',
          parameters: [id],
          responses: { 204: { description: 'Deleted' }, ...base, ...errors(404) },
        },
      },
      '/ssf/receivers/{id}/token': {
        post: {
          summary:
            'A new bearer token for the receiver (the old one stops working at once); the answer carries it once',
          parameters: [id],
          responses: { 200: json(ref('SsfReceiverToken')), ...base, ...errors(404) },
        },
      },
      '/audit-events': {
        get: {
          summary: 'Audit events, newest first',
          parameters: [
            ...paging,
            filter('action', { type: 'string', maxLength: 64 }, 'Exactly this action, such as user.created'),
            filter('target_id', { type: 'string', maxLength: 64 }, 'Events about this user, provider, operation, …'),
            idFilter('actor_id', 'Events done by this user, administrator or provider'),
            filter('actor_type', { enum: ACTOR_TYPES }, 'Events done by this kind of actor (system: Signoff itself)'),
            ...period,
          ],
          responses: { 200: list('AuditEvent'), ...base, ...errors(400) },
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

/** The group of each path in the browsable reference, by its first segment: the console page it serves. */
const TAGS: Readonly<Record<string, string>> = {
  me: 'Caller',
  dashboard: 'Dashboard',
  users: 'Users',
  groups: 'Groups',
  sessions: 'Sessions',
  providers: 'Applications',
  flows: 'Flows',
  stages: 'Flows',
  'logout-operations': 'Logout operations',
  'logout-deliveries': 'Logout operations',
  keys: 'Keys',
  endpoints: 'Keys',
  'api-tokens': 'API tokens',
  ssf: 'Shared Signals',
  'audit-events': 'Audit log',
};
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Tags every operation that has none with its path's group (TAGS; a path not listed there: its first segment). */
function tagged<T extends { paths: object }>(doc: T): T {
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { tags?: string[] }>>)) {
    const segment = path.split('/')[1];
    for (const method of METHODS) if (item[method]) item[method].tags ??= [TAGS[segment] ?? segment];
  }
  return doc;
}

/**
 * The OpenAPI 3.1 document of the admin API, at /api/docs/openapi.json, and a browsable reference
 * (Swagger UI) at /api/docs. Public: it describes, it grants nothing.
 */
@Controller('api/docs')
export class OpenApiController {
  private readonly doc: object;
  private readonly page = apiDocsPage();
  private readonly swaggerUi = loadSwaggerUiFiles();
  constructor(@Inject(CONFIG) config: Config) {
    this.doc = tagged(document(config.publicUrl));
  }

  @Get('openapi.json')
  json() {
    return this.doc;
  }

  /**
   * A browser (it asks for text/html before anything else) gets the Swagger UI page; any other client
   * (application/json, *\/*, or no Accept at all, as API clients and scripts written against the
   * former JSON-only /api/docs send) gets the document.
   */
  @Get()
  get(@Req() req: Request, @Res() res: Response): void {
    res.vary('Accept');
    if (req.accepts(['json', 'html']) === 'html') res.type('html').send(this.page);
    else res.json(this.doc);
  }

  /** The Swagger UI files the page loads (swagger-ui-files.ts): a name from that list, never a path. */
  @Get('swagger-ui/:file')
  swaggerUiFile(@Param('file') name: string, @Res() res: Response): void {
    const file = this.swaggerUi.get(name);
    if (!file) throw new NotFoundException('No such file.');
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.type(file.type).send(file.body);
  }
}
