import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import {
  Clock,
  CONFIG,
  type Config,
  type DeliveryChannel,
  KeysService,
  SamlServiceProvider,
  type SamlSession,
} from '@signoff/core';
import { verdictForStatus } from '@signoff/dispatch';
import {
  type BackchannelReply,
  type BackchannelRequest,
  type BackchannelVerdict,
  type DeliveryTarget,
  entitiesWhereOneOf,
  type FrontchannelReply,
  type FrontchannelStep,
  type InitiatorAnswer,
  type LogoutContext,
  type LogoutProtocol,
  LogoutProtocolRegistry,
  type LogoutReturnUrls,
  type SeenOutcome,
  type SessionWithProvider,
  readEachOnce,
  readEachTime,
  type ReadOnce,
} from '@signoff/logout';
import { DataSource } from 'typeorm';
import { certificateBody } from '../metadata/idp-metadata';
import { toXml } from '../xml/build';
import { signXml } from '../xml/signatures';
import { redirectUrl } from '../bindings/redirect';
import { soapEnvelope } from '../bindings/soap';
import type { IncomingMessage } from '../bindings/incoming';
import { SamlRefusal } from '../bindings/intake';
import { logoutResponseInReply } from '../bindings/server-side-post';
import { SamlSpsService } from '../providers/saml-sps.service';
import { logoutRequestXml } from './logout-request';
import { soapReplyStatus, STATUS } from './logout-response';
import { type OwedLogoutResponse, SamlSloService, statusForOutcome } from './saml-slo.service';

/**
 * SAML's part in the logout engine: IdP-initiated LogoutRequests to each SP over the way it was
 * registered for — back-channel SOAP (the SP's LogoutResponse Status decides) or server-side POST,
 * or front-channel Redirect/POST, inside an iframe on the logout page or in the main tab (the native
 * chain). The SP that started a logout is not sent a request: it gets the LogoutResponse instead,
 * once the others had their chance (answerInitiator); the LogoutResponses SPs send to our front-channel
 * requests are read here too (readFrontchannelReply).
 */
@Injectable()
export class SamlLogoutProtocol implements LogoutProtocol, OnModuleInit {
  readonly protocol = 'saml' as const;
  /** The LogoutResponse says Success or PartialLogout: it waits for the outcome. */
  readonly answerAwaitsOutcome = true;

  constructor(
    private readonly db: DataSource,
    private readonly keys: KeysService,
    private readonly clock: Clock,
    private readonly registry: LogoutProtocolRegistry,
    private readonly slo: SamlSloService,
    private readonly sps: SamlSpsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  async channels(session: SessionWithProvider, context: LogoutContext): Promise<DeliveryChannel[]> {
    if (session.providerId === context.initiatingProviderId) return [];
    const sp = await this.sp(session.providerId, context.once);
    if (!sp.slsUrl || !sp.slsBinding) return [];
    if (sp.logoutMethod === 'backchannel') return ['backchannel_saml'];
    return [sp.logoutMethod === 'frontchannel_native' ? 'frontchannel_saml_native' : 'frontchannel_saml_iframe'];
  }

  async sessionsEnded(): Promise<void> {
    // SAML sessions hold no tokens at the IdP: ending the row is all there is.
  }

  async buildBackchannelRequest(target: DeliveryTarget): Promise<BackchannelRequest> {
    const sp = await this.sp(target.session.providerId, target.once);
    const request = this.request(target, sp);
    const { id } = request;
    const signed = await this.envelopedIfConfigured(sp, request);
    if (sp.slsBinding === 'soap')
      return { url: sp.slsUrl!, body: soapEnvelope(signed), contentType: 'text/xml; charset=utf-8', messageId: id };
    return {
      url: sp.slsUrl!,
      body: new URLSearchParams({ SAMLRequest: Buffer.from(signed).toString('base64') }).toString(),
      contentType: 'application/x-www-form-urlencoded',
      messageId: id,
    };
  }

  /**
   * SOAP: the SP's LogoutResponse must answer our request with Success. Server-side POST: the SP
   * answers as it would answer a browser, so a 2xx or a 3xx means it took the request (a 302 from an
   * SP that did log the user out is no failure), and a LogoutResponse it put in a redirect's Location
   * or in an auto-posting form decides: verified like any (signature with the SP's pinned
   * certificates, Issuer, Destination, IssueInstant, replay), it must be the SP's, answer our request
   * (InResponseTo), and say Success; any other Status is recorded as the failure.
   */
  async readBackchannelReply(
    reply: BackchannelReply,
    request: BackchannelRequest,
    target: DeliveryTarget,
  ): Promise<BackchannelVerdict> {
    if (!request.contentType.startsWith('text/xml')) return this.readPostReply(reply, request, target);
    const verdict = verdictForStatus(reply.status);
    if (verdict !== 'succeeded') return { ok: false, retryable: verdict === 'retry', error: `HTTP ${reply.status}` };
    const response = soapReplyStatus(reply.body);
    if (!response) return { ok: false, retryable: false, error: 'the SOAP reply holds no LogoutResponse' };
    if (response.inResponseTo !== request.messageId)
      return { ok: false, retryable: false, error: 'the LogoutResponse answers another request' };
    return response.status === STATUS.success
      ? { ok: true, retryable: false }
      : { ok: false, retryable: false, error: `the SP answered ${response.status}` };
  }

  private async readPostReply(
    reply: BackchannelReply,
    request: BackchannelRequest,
    target: DeliveryTarget,
  ): Promise<BackchannelVerdict> {
    if (reply.status < 200 || reply.status >= 400) {
      const verdict = verdictForStatus(reply.status);
      return { ok: false, retryable: verdict === 'retry', error: `HTTP ${reply.status}` };
    }
    const found = logoutResponseInReply(reply);
    if (found.kind === 'none') return { ok: true, retryable: false };
    if (found.kind === 'unreadable')
      return { ok: false, retryable: false, error: `the SP's answer cannot be read: ${found.problem}` };
    let answer: FrontchannelReply;
    try {
      answer = await this.slo.readLogoutResponse(found.message);
    } catch (error) {
      // Refused (and audited): an answer that cannot be trusted confirms nothing. Anything else is ours: retry.
      if (error instanceof SamlRefusal)
        return { ok: false, retryable: false, error: `the SP's LogoutResponse was refused: ${error.reason}` };
      throw error;
    }
    if (answer.providerId !== target.session.providerId)
      return { ok: false, retryable: false, error: 'the LogoutResponse comes from another SP' };
    if (answer.inResponseTo !== request.messageId)
      return { ok: false, retryable: false, error: 'the LogoutResponse answers another request' };
    return answer.confirmed ? { ok: true, retryable: false } : { ok: false, retryable: false, error: answer.error! };
  }

  async buildFrontchannelStep(target: DeliveryTarget, relayState?: string): Promise<FrontchannelStep> {
    const sp = await this.sp(target.session.providerId);
    const request = this.request(target, sp);
    const { id, xml } = request;
    if (sp.slsBinding === 'post') {
      const fields: Record<string, string> = {
        SAMLRequest: Buffer.from(await this.envelopedIfConfigured(sp, request)).toString('base64'),
      };
      if (relayState) fields.RelayState = relayState;
      return { url: sp.slsUrl!, fields, messageId: id };
    }
    // Redirect signs the query, not the XML.
    const key = sp.signLogoutRequests ? (await this.keys.active('saml', 'RS256')).privateKey : null;
    return { url: await redirectUrl(sp.slsUrl!, 'SAMLRequest', xml, key, relayState), messageId: id };
  }

  /** An SP's LogoutResponse to one of our front-channel LogoutRequests, verified. */
  readFrontchannelReply(message: IncomingMessage): Promise<FrontchannelReply> {
    return this.slo.readLogoutResponse(message);
  }

  /** The signed LogoutResponse to the SP's LogoutRequest: Success, or Success + PartialLogout (core §3.7.3.2). */
  async answerInitiator(providerId: string, owed: unknown, outcome: SeenOutcome): Promise<InitiatorAnswer> {
    return this.slo.answer(providerId, owed as OwedLogoutResponse, statusForOutcome(outcome));
  }

  /** An enabled SP's logoutReturnUrls, by entityID (the `client_id` of `/logout?return_to=`). */
  async logoutReturnUrls(entityId: string): Promise<LogoutReturnUrls | null> {
    const sp = await this.sps.byEntityId(entityId);
    return sp ? { exact: [], patterns: sp.logoutReturnUrls } : null;
  }

  /**
   * The LogoutRequest for one delivery, with the Reason (core §3.7.3) the engine gives: `user`,
   * `admin`, or `global-timeout` (the session's life ended).
   */
  private request({ session: base, reason }: DeliveryTarget, sp: SamlServiceProvider) {
    const session = base as SessionWithProvider & SamlSession;
    return logoutRequestXml({
      idpEntityId: this.config.saml.entityId,
      destination: sp.slsUrl!,
      nameId: session.nameId,
      nameIdFormat: session.nameIdFormat,
      nameQualifier: session.nameQualifier,
      spNameQualifier: session.spNameQualifier,
      sessionIndexes: [session.sessionIndex],
      reason,
      now: this.clock.now(),
    });
  }

  /**
   * POST and SOAP carry the XML itself: enveloped-signed when the SP is set to receive signed requests.
   * The RSA signature is made off the event loop: a bulk logout signs thousands of them in the worker.
   */
  private async envelopedIfConfigured(
    sp: SamlServiceProvider,
    { id, xml, message }: ReturnType<typeof logoutRequestXml>,
  ): Promise<string> {
    if (!sp.signLogoutRequests) return xml;
    const key = await this.keys.active('saml', 'RS256');
    return toXml(await signXml(message, id, key.privateKey, certificateBody(key.certificatePem!)));
  }

  private sp(providerId: string, once: ReadOnce = readEachTime): Promise<SamlServiceProvider> {
    return once(`saml-sp:${providerId}`, () =>
      this.db.getRepository(SamlServiceProvider).findOneByOrFail({ providerId }),
    );
  }

  /** A batch's SPs in one query: its rows mix many applications (a user's, or a bulk logout's). */
  async readSettings(providerIds: string[], once: ReadOnce): Promise<void> {
    await readEachOnce(
      once,
      'saml-sp:',
      providerIds,
      (ids) => entitiesWhereOneOf(this.db, SamlServiceProvider, 'provider_id', ids),
      (sp) => sp.providerId,
    );
  }
}
