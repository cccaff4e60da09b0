import { Column, Entity, JoinColumn, ManyToOne, OneToOne, PrimaryColumn, type Relation } from 'typeorm';
import { InstantColumn, JsonColumn } from '../database/columns';
import { Flow } from './flow.entity';

export type Protocol = 'oidc' | 'saml';

/** One application registered at the IdP: an OIDC client or a SAML service provider (exactly one of). */
@Entity('providers')
export class Provider {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 64, unique: true })
  slug: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 8 })
  protocol: Protocol;

  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  /** The flow run when this provider starts a logout; null: default-provider-invalidation-flow. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  invalidationFlowId: string | null;

  @ManyToOne(() => Flow, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'invalidation_flow_id' })
  invalidationFlow?: Relation<Flow> | null;

  @InstantColumn()
  createdAt: Date;

  @InstantColumn()
  updatedAt: Date;

  @OneToOne(() => OidcClient, (client) => client.provider)
  oidc?: Relation<OidcClient> | null;

  @OneToOne(() => SamlServiceProvider, (sp) => sp.provider)
  saml?: Relation<SamlServiceProvider> | null;
}

@Entity('oidc_clients')
export class OidcClient {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  providerId: string;

  @OneToOne(() => Provider, (provider) => provider.oidc, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id' })
  provider: Relation<Provider>;

  @Column({ type: 'varchar', length: 128, unique: true })
  clientId: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  clientSecretHash: string | null;

  @Column({ type: 'varchar', length: 32, default: 'client_secret_basic' })
  tokenEndpointAuthMethod: string;

  @JsonColumn()
  grantTypes: Array<'authorization_code' | 'refresh_token'>;

  @JsonColumn()
  redirectUris: string[];

  @JsonColumn()
  postLogoutRedirectUris: string[];

  @Column({ type: 'text', nullable: true })
  frontchannelLogoutUri: string | null;

  @Column({ type: 'boolean', default: false })
  frontchannelLogoutSessionRequired: boolean;

  @Column({ type: 'text', nullable: true })
  backchannelLogoutUri: string | null;

  @Column({ type: 'boolean', default: false })
  backchannelLogoutSessionRequired: boolean;

  /** `typ` header of logout tokens: `logout+jwt`, or `JWT` for receivers that refuse the newer value. */
  @Column({ type: 'varchar', length: 16, default: 'logout+jwt' })
  logoutTokenTyp: string;

  @Column({ type: 'varchar', length: 8, default: 'RS256' })
  idTokenSignedResponseAlg: string;

  /** `public`: sub is the user's id; `pairwise`: a keyed hash per sector (OIDC Core §8.1). */
  @Column({ type: 'varchar', length: 8, default: 'public' })
  subjectType: 'public' | 'pairwise';

  /** The sector a pairwise sub is derived for: the one host of the redirect_uris, fixed at registration. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  sectorIdentifier: string | null;
}

export interface AcsEndpoint {
  url: string;
  binding: 'post' | 'redirect';
  index: number;
  isDefault: boolean;
}

export interface SlsEndpoint {
  binding: 'redirect' | 'post' | 'soap';
  url: string;
  responseUrl: string | null;
}

@Entity('saml_service_providers')
export class SamlServiceProvider {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  providerId: string;

  @OneToOne(() => Provider, (provider) => provider.saml, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id' })
  provider: Relation<Provider>;

  @Column({ type: 'varchar', length: 1024, unique: true })
  entityId: string;

  @JsonColumn()
  acsEndpoints: AcsEndpoint[];

  @Column({ type: 'text', nullable: true })
  slsUrl: string | null;

  /**
   * Every SingleLogoutService in the SP's metadata: a logout the SP starts is answered over the
   * binding it came in on. (slsUrl and slsBinding are the one used to send it our LogoutRequests.)
   */
  @JsonColumn()
  slsEndpoints: SlsEndpoint[];

  /** Where the SP wants LogoutResponses, when not slsUrl (metadata ResponseLocation). */
  @Column({ type: 'text', nullable: true })
  slsResponseUrl: string | null;

  @Column({ type: 'varchar', length: 8, nullable: true })
  slsBinding: 'redirect' | 'post' | 'soap' | null;

  @Column({ type: 'varchar', length: 24, default: 'frontchannel_iframe' })
  logoutMethod: 'frontchannel_iframe' | 'frontchannel_native' | 'backchannel';

  @Column({ type: 'boolean', default: true })
  signLogoutRequests: boolean;

  @Column({ type: 'boolean', default: false })
  requireSignedRequests: boolean;

  /**
   * Lets an SP without a signing certificate start a logout with an unsigned LogoutRequest (which
   * anyone who knows a NameID could forge): an administrator's explicit exception to SAML profiles
   * §4.4.4.1. Without it such an SP cannot start a logout; with a certificate, signatures are always required.
   */
  @Column({ type: 'boolean', default: false })
  allowUnsignedLogoutRequests: boolean;

  /** PEM certificates the SP signs with; several during a rollover. */
  @JsonColumn()
  certificates: string[];

  @Column({ type: 'varchar', length: 128, default: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' })
  nameIdFormat: string;

  @Column({ type: 'varchar', length: 16, default: 'persistent' })
  nameIdSource: 'persistent' | 'email' | 'username' | 'transient';

  @Column({ type: 'varchar', length: 128, default: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256' })
  signatureAlgorithm: string;

  @Column({ type: 'varchar', length: 128, default: 'http://www.w3.org/2001/04/xmlenc#sha256' })
  digestAlgorithm: string;
}
