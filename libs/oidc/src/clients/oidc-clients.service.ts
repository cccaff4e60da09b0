import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type Actor,
  AuditService,
  Clock,
  type Config,
  CONFIG,
  CLIENT_ID_LENGTH,
  isLiveProvider,
  newId,
  OidcClient,
  OidcConsent,
  OutboundPolicy,
  AccessToken,
  Provider,
  randomToken,
  RefreshToken,
  safeEqual,
  sha256Hex,
  SignoffError,
  tombstoneValue,
} from '@signoff/core';
import { DataSource, type EntityManager, IsNull } from 'typeorm';
import { OAuthError } from '../oauth-error';
import { type ClientMetadata, ClientMetadataError, parseClientMetadata, sectorOf } from './client-metadata';

export type RegisteredClient = OidcClient & { provider: Provider };

/** The endpoints where a client authenticates (OIDC Core §9, RFC 7009 §2.1, RFC 7662 §2.1). */
export type ClientAuthEndpoint = 'token' | 'revocation' | 'introspection';

export interface ClientCredentials {
  authorization?: string;
  body: Record<string, unknown>;
  /** Where the client authenticates: said in the log line of a refusal; introspection takes confidential clients only. */
  endpoint: ClientAuthEndpoint;
}

/** The client authentication methods of a confidential client; it may use either, whichever it registered. */
const SECRET_METHODS = ['client_secret_basic', 'client_secret_post'];

/**
 * An administrator-chosen client_id: RFC 3986 unreserved characters only, so it needs no escaping in
 * a URL, a form or HTTP Basic credentials (RFC 6749 §2.3.1 form-encodes them), and cannot be confused
 * with another after decoding.
 */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._~-]{1,128}$/;

/** The options of a registration. */
export interface RegistrationOptions {
  slug?: string;
  name?: string;
  /** The administrator's choice of client_id (CLIENT_ID_PATTERN, unique); random when not given. */
  clientId?: string;
  /** Ask users for consent before the first code (clients registered through /oauth2/register). */
  consentRequired?: boolean;
}

/** OIDC clients: registration from validated metadata, lookup, and client authentication. */
@Injectable()
export class OidcClientsService {
  private readonly logger = new Logger(OidcClientsService.name);

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    @Inject(CONFIG) private readonly config: Config,
    private readonly outbound: OutboundPolicy,
  ) {}

  /** Validates raw metadata (RFC 7591 rules); throws ClientMetadataError. */
  parse(input: unknown): ClientMetadata {
    return parseClientMetadata(input, {
      allowHttp: this.config.oidc.allowHttp,
      checkServerSideUri: (url) => this.outbound.checkUrl(url),
    });
  }

  /**
   * Registers a client; the secret is returned once and stored only as SHA-256. The client_id is the
   * administrator's choice when given (refused unless it matches CLIENT_ID_PATTERN; `conflict` when
   * taken), else random. The slug, when not given, follows from a chosen client_id.
   */
  async register(
    metadata: ClientMetadata,
    options: RegistrationOptions,
    actor: Actor,
  ): Promise<{ client: RegisteredClient; clientSecret: string | null }> {
    if (options.clientId !== undefined && !CLIENT_ID_PATTERN.test(options.clientId)) {
      throw new SignoffError(
        'invalid_request',
        'client_id: 1–128 letters, digits, ".", "_", "~" or "-" (RFC 3986 unreserved characters)',
      );
    }
    const clientId = options.clientId ?? randomToken(18);
    const clientSecret = metadata.token_endpoint_auth_method === 'none' ? null : randomToken(32);
    const slug =
      options.slug ??
      (options.clientId !== undefined
        ? `oidc-${clientId
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, '-')
            .slice(0, 59)}`.replace(/-+$/, '')
        : `oidc-${clientId
            .slice(0, 8)
            .toLowerCase()
            .replace(/[^a-z0-9]/g, 'x')}`);
    const now = this.clock.now();
    const client = await this.db.transaction(async (tx) => {
      if (await tx.existsBy(OidcClient, { clientId }))
        throw new SignoffError('conflict', `an OIDC client with client_id "${clientId}" already exists`);
      if (await tx.existsBy(Provider, { slug }))
        throw new SignoffError('conflict', `a provider "${slug}" already exists`);
      const provider = await tx.save(Provider, {
        id: newId(),
        slug,
        name: options.name ?? metadata.client_name ?? slug,
        protocol: 'oidc',
        enabled: true,
        invalidationFlowId: null,
        createdAt: now,
        updatedAt: now,
      });
      const row = await tx.save(OidcClient, {
        providerId: provider.id,
        clientId,
        clientSecretHash: clientSecret ? sha256Hex(clientSecret) : null,
        ...columnsOf(metadata),
        consentRequired: options.consentRequired ?? false,
      });
      await this.audit.record(
        {
          action: 'oidc_client.registered',
          actor,
          target: { type: 'provider', id: provider.id },
          details: { clientId, slug, consentRequired: options.consentRequired ?? false },
        },
        tx,
      );
      return Object.assign(row, { provider });
    });
    return { client, clientSecret };
  }

  /** Updates a client's metadata; its subject type and sector stay as registered (see keepsSubjects). */
  async update(providerId: string, metadata: ClientMetadata, actor: Actor): Promise<RegisteredClient> {
    const client = await this.byProviderId(providerId);
    keepsSubjects(client, metadata);
    Object.assign(client, columnsOf(metadata));
    const { provider: _provider, ...row } = client;
    await this.db.transaction(async (tx) => {
      await tx.save(OidcClient, row);
      await tx.update(Provider, { id: providerId }, { updatedAt: this.clock.now() });
      await this.audit.record(
        { action: 'oidc_client.updated', actor, target: { type: 'provider', id: providerId } },
        tx,
      );
    });
    return client;
  }

  /**
   * Gives a confidential client a new secret, returned this once and stored only as SHA-256, as at
   * registration. The old secret stops working at once: authenticate compares against the one stored
   * hash, and there is no overlap window (an RP being switched over gets invalid_client until it has
   * the new secret). Refuses `no_client_secret` for a public client (token_endpoint_auth_method none).
   * Audited as `oidc_client.secret_rotated`, without the secret.
   */
  async rotateSecret(providerId: string, actor: Actor): Promise<{ client: RegisteredClient; clientSecret: string }> {
    const client = await this.byProviderId(providerId);
    if (!SECRET_METHODS.includes(client.tokenEndpointAuthMethod))
      throw new SignoffError(
        'no_client_secret',
        'This client is public (token_endpoint_auth_method none): it has no secret to rotate.',
      );
    const clientSecret = randomToken(32);
    const clientSecretHash = sha256Hex(clientSecret);
    await this.db.transaction(async (tx) => {
      await tx.update(OidcClient, { providerId }, { clientSecretHash });
      await tx.update(Provider, { id: providerId }, { updatedAt: this.clock.now() });
      await this.audit.record(
        {
          action: 'oidc_client.secret_rotated',
          actor,
          target: { type: 'provider', id: providerId },
          details: { clientId: client.clientId },
        },
        tx,
      );
    });
    return { client: { ...client, clientSecretHash }, clientSecret };
  }

  /** Marks a client first-party (no consent asked) or third-party; audited as `oidc_client.updated` when it changes. */
  async setConsentRequired(providerId: string, consentRequired: boolean, actor: Actor): Promise<void> {
    const client = await this.byProviderId(providerId);
    if (client.consentRequired === consentRequired) return;
    await this.db.transaction(async (tx) => {
      await tx.update(OidcClient, { providerId }, { consentRequired });
      await tx.update(Provider, { id: providerId }, { updatedAt: this.clock.now() });
    });
    await this.audit.record({
      action: 'oidc_client.updated',
      actor,
      target: { type: 'provider', id: providerId },
      details: { consentRequired },
    });
  }

  async byProviderId(providerId: string): Promise<RegisteredClient> {
    const client = await this.db
      .getRepository(OidcClient)
      .findOne({ where: { providerId }, relations: { provider: true } });
    if (!client) throw new SignoffError('not_found', 'No such OIDC client.');
    return client as RegisteredClient;
  }

  /** An enabled client by client_id, or null; never a deleted client's tombstone (not even by its tombstone client_id). */
  async find(clientId: unknown): Promise<RegisteredClient | null> {
    if (typeof clientId !== 'string' || !clientId || clientId.length > CLIENT_ID_LENGTH) return null;
    const client = (await this.db
      .getRepository(OidcClient)
      .findOne({ where: { clientId }, relations: { provider: true } })) as RegisteredClient | null;
    return client && isLiveProvider(client.provider) ? client : null;
  }

  /**
   * A deleted client's part of its tombstone (ProvidersAdminService.remove), in the caller's
   * transaction: its client_id is renamed (tombstoneValue) so that it can be registered again at once,
   * and kept in originalClientId for the logout tokens still owed to its sessions; its secret hash,
   * its users' consents and every token it holds (offline_access ones too) go, since nothing may use
   * them any more. Its logout endpoints stay: the deliveries still going out need them. Answers the
   * client_id it had.
   */
  async tombstone(tx: EntityManager, providerId: string): Promise<{ clientId: string }> {
    const client = await tx.findOneByOrFail(OidcClient, { providerId });
    const clientId = client.originalClientId ?? client.clientId;
    await tx.update(
      OidcClient,
      { providerId },
      {
        clientId: tombstoneValue(clientId, providerId, CLIENT_ID_LENGTH),
        originalClientId: clientId,
        clientSecretHash: null,
      },
    );
    await tx.delete(OidcConsent, { providerId });
    const now = this.clock.now();
    for (const entity of [AccessToken, RefreshToken])
      await tx.update(entity, { providerId, revokedAt: IsNull() }, { revokedAt: now });
    return { clientId };
  }

  /**
   * Authenticates the calling client (RFC 6749 §2.3): HTTP Basic with form-urlencoded id and secret
   * (§2.3.1), the secret in the body, or none (a public client sends its client_id only). A
   * confidential client may use either secret method, whichever it registered: §2.3.1 makes Basic a
   * MUST for the server and the body an alternative, and Keycloak and most providers accept both, so
   * an RP library's default works. The registered token_endpoint_auth_method still tells which kind
   * of client it is: a public client never authenticates with a secret, a confidential one always
   * does. Two methods in one request are refused as invalid_request (§2.3: "MUST NOT use more than
   * one"). Every refusal is logged with its reason (a warning, not an audit event: anyone can send
   * these, unthrottled, and must not be able to grow the audit table); the response tells an unknown
   * client from a wrong secret no more than it must.
   */
  async authenticate(credentials: ClientCredentials): Promise<RegisteredClient> {
    const { endpoint, body } = credentials;
    const header = credentials.authorization ?? '';
    const isBasic = /^Basic /i.test(header);
    const presented: { clientId: unknown; secret?: unknown; method: string } = isBasic
      ? { ...readBasic(header), method: 'client_secret_basic' }
      : body.client_secret !== undefined
        ? { clientId: body.client_id, secret: body.client_secret, method: 'client_secret_post' }
        : { clientId: body.client_id, method: 'none' };
    const refuse = async (reason: string, shown: string = reason, client?: RegisteredClient): Promise<never> => {
      await this.refused(endpoint, presented, reason, client);
      throw invalidClient(shown);
    };

    if (isBasic && body.client_secret !== undefined) {
      await this.refused(endpoint, presented, 'two authentication methods (Basic and client_secret in the body)');
      throw new OAuthError('invalid_request', 'use one client authentication method, not two (RFC 6749 §2.3)');
    }
    if (isBasic && presented.clientId === undefined) return refuse('malformed HTTP Basic credentials');
    if (isBasic && body.client_id !== undefined && body.client_id !== presented.clientId)
      return refuse('client_id in the body differs from the one in the Basic credentials');
    if (presented.clientId === undefined) return refuse('no client credentials', 'no client credentials were sent');
    const client = await this.find(presented.clientId);
    if (!client) return refuse('unknown or disabled client_id', 'unknown client or wrong client secret');
    const confidential = SECRET_METHODS.includes(client.tokenEndpointAuthMethod);
    if (!confidential && presented.method !== 'none')
      return refuse('a public client presented a secret', 'this client is public and has no secret', client);
    if (confidential && presented.method === 'none')
      return refuse(
        'no client secret',
        'this client must authenticate with its secret (client_secret_basic or client_secret_post)',
        client,
      );
    if (
      confidential &&
      !(
        typeof presented.secret === 'string' &&
        client.clientSecretHash &&
        safeEqual(sha256Hex(presented.secret), client.clientSecretHash)
      )
    )
      return refuse('wrong client secret', 'unknown client or wrong client secret', client);
    // RFC 7662 §2.1: introspection needs a credential, which a public client does not have.
    if (endpoint === 'introspection' && !confidential)
      return refuse(
        'a public client may not introspect',
        'only confidential clients may use the introspection endpoint',
        client,
      );
    return client;
  }

  /** Logs a refused client authentication: the reason and the presented client_id and method, never a secret. */
  private async refused(
    endpoint: ClientAuthEndpoint,
    presented: { clientId: unknown; method: string },
    reason: string,
    client?: RegisteredClient,
  ): Promise<void> {
    const clientId =
      typeof presented.clientId === 'string'
        ? presented.clientId.slice(0, 128)
        : presented.clientId === undefined
          ? null
          : '(not a string)';
    const details = { endpoint, reason, clientId, method: presented.method };
    this.logger.warn({ msg: 'client authentication refused', ...details, provider: client?.providerId ?? null });
  }

  /** The client's registered metadata, as RFC 7591 returns it. */
  metadataOf(client: RegisteredClient): Record<string, unknown> {
    return {
      client_id: client.clientId,
      client_name: client.provider.name,
      client_uri: client.clientUri ?? undefined,
      redirect_uris: client.redirectUris,
      post_logout_redirect_uris: client.postLogoutRedirectUris,
      grant_types: client.grantTypes,
      response_types: ['code'],
      token_endpoint_auth_method: client.tokenEndpointAuthMethod,
      id_token_signed_response_alg: client.idTokenSignedResponseAlg,
      frontchannel_logout_uri: client.frontchannelLogoutUri ?? undefined,
      frontchannel_logout_session_required: client.frontchannelLogoutSessionRequired,
      backchannel_logout_uri: client.backchannelLogoutUri ?? undefined,
      backchannel_logout_session_required: client.backchannelLogoutSessionRequired,
      logout_token_typ: client.logoutTokenTyp,
      subject_type: client.subjectType,
    };
  }
}

function columnsOf(metadata: ClientMetadata) {
  return {
    clientUri: metadata.client_uri,
    tokenEndpointAuthMethod: metadata.token_endpoint_auth_method,
    grantTypes: metadata.grant_types,
    redirectUris: metadata.redirect_uris,
    postLogoutRedirectUris: metadata.post_logout_redirect_uris,
    frontchannelLogoutUri: metadata.frontchannel_logout_uri,
    frontchannelLogoutSessionRequired: metadata.frontchannel_logout_session_required,
    backchannelLogoutUri: metadata.backchannel_logout_uri,
    backchannelLogoutSessionRequired: metadata.backchannel_logout_session_required,
    logoutTokenTyp: metadata.logout_token_typ,
    idTokenSignedResponseAlg: metadata.id_token_signed_response_alg,
    subjectType: metadata.subject_type,
    sectorIdentifier: metadata.subject_type === 'pairwise' ? sectorOf(metadata.redirect_uris) : null,
  };
}

/**
 * A sub once issued to a client never changes (OIDC Core §8): an update may change neither the
 * subject type nor, for a pairwise client, the sector its redirect_uris belong to.
 */
function keepsSubjects(client: OidcClient, metadata: ClientMetadata): void {
  if (metadata.subject_type !== client.subjectType) {
    throw new ClientMetadataError(
      'invalid_client_metadata',
      `subject_type: stays ${client.subjectType}; changing it would change every sub this client has been given`,
    );
  }
  if (client.subjectType === 'pairwise' && sectorOf(metadata.redirect_uris) !== client.sectorIdentifier) {
    throw new ClientMetadataError(
      'invalid_redirect_uri',
      `redirect_uris: must stay on ${client.sectorIdentifier}, the sector of this pairwise client's subs`,
    );
  }
}

const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));

/** The client_id and secret of HTTP Basic credentials (RFC 6749 §2.3.1: each form-urlencoded); no client_id when malformed. */
function readBasic(header: string): { clientId: string | undefined; secret: string | undefined } {
  const encoded = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header)?.[1];
  const decoded = encoded === undefined ? '' : Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { clientId: undefined, secret: undefined };
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return { clientId: undefined, secret: undefined };
  }
}

function invalidClient(description: string): OAuthError {
  return new OAuthError('invalid_client', `client authentication failed: ${description}`, 401, {
    'WWW-Authenticate': 'Basic realm="signoff"',
  });
}
