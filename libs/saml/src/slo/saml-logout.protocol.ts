import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Clock, CONFIG, type Config, type DeliveryChannel, KeysService, type LogoutDelivery, LogoutOperation, SamlServiceProvider, type SamlSession } from '@signoff/core';
import { verdictForStatus } from '@signoff/dispatch';
import {
  type BackchannelRequest, type BackchannelVerdict, type FrontchannelStep, type LogoutContext, type LogoutProtocol, LogoutProtocolRegistry, type SessionWithProvider,
} from '@signoff/logout';
import { DataSource } from 'typeorm';
import { certificateBody } from '../metadata/idp-metadata';
import { signElement } from '../xml/signatures';
import { redirectUrl } from '../bindings/redirect';
import { soapEnvelope } from '../bindings/soap';
import { logoutRequestXml } from './logout-request';
import { soapReplyStatus, STATUS } from './logout-response';

/**
 * SAML's part in the logout engine: IdP-initiated LogoutRequests to each SP over the way it was
 * registered for — back-channel SOAP (the SP's LogoutResponse Status decides) or server-side POST,
 * or front-channel Redirect/POST, inside an iframe on the logout page or in the main tab (the native
 * chain). The SP that started a logout is not sent a request: it gets the LogoutResponse instead.
 */
@Injectable()
export class SamlLogoutProtocol implements LogoutProtocol, OnModuleInit {
  readonly protocol = 'saml' as const;

  constructor(
    private readonly db: DataSource,
    private readonly keys: KeysService,
    private readonly clock: Clock,
    private readonly registry: LogoutProtocolRegistry,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  async channels(session: SessionWithProvider, context: LogoutContext): Promise<DeliveryChannel[]> {
    if (session.providerId === context.initiatingProviderId) return [];
    const sp = await this.sp(session.providerId);
    if (!sp.slsUrl || !sp.slsBinding) return [];
    if (sp.logoutMethod === 'backchannel') return ['backchannel_saml'];
    return [sp.logoutMethod === 'frontchannel_native' ? 'frontchannel_saml_native' : 'frontchannel_saml_iframe'];
  }

  async sessionsEnded(): Promise<void> {
    // SAML sessions hold no tokens at the IdP: ending the row is all there is.
  }

  async buildBackchannelRequest(delivery: LogoutDelivery, session: SessionWithProvider): Promise<BackchannelRequest> {
    const sp = await this.sp(session.providerId);
    const { id, xml } = await this.request(delivery, session as SessionWithProvider & SamlSession, sp);
    const signed = await this.envelopedIfConfigured(sp, id, xml);
    if (sp.slsBinding === 'soap') return { url: sp.slsUrl!, body: soapEnvelope(signed), contentType: 'text/xml; charset=utf-8', messageId: id };
    return { url: sp.slsUrl!, body: new URLSearchParams({ SAMLRequest: Buffer.from(signed).toString('base64') }).toString(), contentType: 'application/x-www-form-urlencoded', messageId: id };
  }

  /** SOAP: the SP's LogoutResponse must answer our request with Success. POST: any 2xx. */
  readBackchannelReply(reply: { status: number; body: string }, request: BackchannelRequest): BackchannelVerdict {
    const verdict = verdictForStatus(reply.status);
    if (verdict !== 'succeeded') return { ok: false, retryable: verdict === 'retry', error: `HTTP ${reply.status}` };
    if (!request.contentType.startsWith('text/xml')) return { ok: true, retryable: false };
    const response = soapReplyStatus(reply.body);
    if (!response) return { ok: false, retryable: false, error: 'the SOAP reply holds no LogoutResponse' };
    if (response.inResponseTo !== request.messageId) return { ok: false, retryable: false, error: 'the LogoutResponse answers another request' };
    return response.status === STATUS.success ? { ok: true, retryable: false } : { ok: false, retryable: false, error: `the SP answered ${response.status}` };
  }

  async buildFrontchannelStep(delivery: LogoutDelivery, session: SessionWithProvider, relayState?: string): Promise<FrontchannelStep> {
    const sp = await this.sp(session.providerId);
    const { id, xml } = await this.request(delivery, session as SessionWithProvider & SamlSession, sp);
    if (sp.slsBinding === 'post') {
      const fields: Record<string, string> = { SAMLRequest: Buffer.from(await this.envelopedIfConfigured(sp, id, xml)).toString('base64') };
      if (relayState) fields.RelayState = relayState;
      return { url: sp.slsUrl!, fields, messageId: id };
    }
    // Redirect signs the query, not the XML.
    const key = sp.signLogoutRequests ? (await this.keys.active('saml', 'RS256')).privateKey : null;
    return { url: redirectUrl(sp.slsUrl!, 'SAMLRequest', xml, key, relayState), messageId: id };
  }

  /**
   * The LogoutRequest for one delivery, with the Reason (core §3.7.3) its operation gives: expiry is a
   * global timeout; an administrator's act (a session deleted, a user deactivated, a password an admin
   * changed) is `admin`; the rest is the user's.
   */
  private async request(delivery: LogoutDelivery, session: SamlSession, sp: SamlServiceProvider) {
    const operation = await this.db.getRepository(LogoutOperation).findOneByOrFail({ id: delivery.operationId });
    const byAdmin = ['admin_session', 'user_deactivated', 'api'].includes(operation.trigger) || operation.initiatorType === 'admin';
    const reason = operation.trigger === 'expiry' ? 'global-timeout' : byAdmin ? 'admin' : 'user';
    return logoutRequestXml({
      idpEntityId: this.config.saml.entityId, destination: sp.slsUrl!, nameId: session.nameId, nameIdFormat: session.nameIdFormat,
      nameQualifier: session.nameQualifier, spNameQualifier: session.spNameQualifier, sessionIndexes: [session.sessionIndex], reason, now: this.clock.now(),
    });
  }

  /** POST and SOAP carry the XML itself: enveloped-signed when the SP is set to receive signed requests. */
  private async envelopedIfConfigured(sp: SamlServiceProvider, id: string, xml: string): Promise<string> {
    if (!sp.signLogoutRequests) return xml;
    const key = await this.keys.active('saml', 'RS256');
    return signElement(xml, id, key.privateKey, certificateBody(key.certificatePem!));
  }

  private sp(providerId: string): Promise<SamlServiceProvider> {
    return this.db.getRepository(SamlServiceProvider).findOneByOrFail({ providerId });
  }
}
