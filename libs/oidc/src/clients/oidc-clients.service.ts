import { Inject, Injectable } from '@nestjs/common';
import {
  type Actor,
  AuditService,
  Clock,
  type Config,
  CONFIG,
  newId,
  OidcClient,
  OutboundPolicy,
  Provider,
  randomToken,
  safeEqual,
  sha256Hex,
  SignoffError,
} from '@signoff/core';
import { DataSource } from 'typeorm';
import { OAuthError } from '../oauth-error';
import { type ClientMetadata, ClientMetadataError, parseClientMetadata, sectorOf } from './client-metadata';

export type RegisteredClient = OidcClient & { provider: Provider };

export interface ClientCredentials {
  authorization?: string;
  body: Record<string, unknown>;
}

/** OIDC clients: registration from validated metadata, lookup, and client authentication. */
@Injectable()
export class OidcClientsService {
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

  /** Registers a client; the secret is returned once and stored only as SHA-256. */
  async register(
    metadata: ClientMetadata,
    options: { slug?: string; name?: string },
    actor: Actor,
  ): Promise<{ client: RegisteredClient; clientSecret: string | null }> {
    const clientId = randomToken(18);
    const clientSecret = metadata.token_endpoint_auth_method === 'none' ? null : randomToken(32);
    const slug =
      options.slug ??
      `oidc-${clientId
        .slice(0, 8)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, 'x')}`;
    const now = this.clock.now();
    const client = await this.db.transaction(async (tx) => {
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
      });
      await this.audit.record(
        {
          action: 'oidc_client.registered',
          actor,
          target: { type: 'provider', id: provider.id },
          details: { clientId, slug },
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
    await this.db.getRepository(OidcClient).save(row);
    await this.audit.record({ action: 'oidc_client.updated', actor, target: { type: 'provider', id: providerId } });
    return client;
  }

  async byProviderId(providerId: string): Promise<RegisteredClient> {
    const client = await this.db
      .getRepository(OidcClient)
      .findOne({ where: { providerId }, relations: { provider: true } });
    if (!client) throw new SignoffError('not_found', 'No such OIDC client.');
    return client as RegisteredClient;
  }

  /** An enabled client by client_id, or null. */
  async find(clientId: unknown): Promise<RegisteredClient | null> {
    if (typeof clientId !== 'string' || !clientId || clientId.length > 128) return null;
    const client = (await this.db
      .getRepository(OidcClient)
      .findOne({ where: { clientId }, relations: { provider: true } })) as RegisteredClient | null;
    return client?.provider.enabled ? client : null;
  }

  /**
   * Authenticates the calling client by its registered method (RFC 6749 §2.3): HTTP Basic with
   * form-urlencoded id and secret, the secret in the body, or none (public clients send client_id).
   */
  async authenticate(credentials: ClientCredentials): Promise<RegisteredClient> {
    const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(credentials.authorization ?? '');
    let clientId: unknown;
    let secret: unknown;
    let method: string;
    if (basic) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      try {
        [clientId, secret] =
          colon < 0
            ? [undefined, undefined]
            : [formDecode(decoded.slice(0, colon)), formDecode(decoded.slice(colon + 1))];
      } catch {
        clientId = undefined;
      }
      method = 'client_secret_basic';
      if (credentials.body.client_secret !== undefined)
        throw invalidClient('use one client authentication method, not two');
    } else if (credentials.body.client_secret !== undefined) {
      [clientId, secret, method] = [credentials.body.client_id, credentials.body.client_secret, 'client_secret_post'];
    } else {
      [clientId, method] = [credentials.body.client_id, 'none'];
    }
    if (basic && credentials.body.client_id !== undefined && credentials.body.client_id !== clientId)
      throw invalidClient('client_id does not match the credentials');
    const client = await this.find(clientId);
    if (!client) throw invalidClient('unknown client');
    if (client.tokenEndpointAuthMethod !== method)
      throw invalidClient(`this client authenticates with ${client.tokenEndpointAuthMethod}`);
    if (
      method !== 'none' &&
      !(typeof secret === 'string' && client.clientSecretHash && safeEqual(sha256Hex(secret), client.clientSecretHash))
    ) {
      throw invalidClient('wrong client secret');
    }
    return client;
  }

  /** The client's registered metadata, as RFC 7591 returns it. */
  metadataOf(client: RegisteredClient): Record<string, unknown> {
    return {
      client_id: client.clientId,
      client_name: client.provider.name,
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

function invalidClient(description: string): OAuthError {
  return new OAuthError('invalid_client', `client authentication failed: ${description}`, 401, {
    'WWW-Authenticate': 'Basic realm="signoff"',
  });
}
