import { Inject, Injectable } from '@nestjs/common';
import { Clock, CONFIG, type Config, KeysService, LogoutDelivery, ReplayCache, SamlSession } from '@signoff/core';
import { LogoutOperationsService } from '@signoff/logout';
import { DataSource, In, IsNull } from 'typeorm';
import { type IncomingMessage, peekIssuer, SamlMessageError } from '../bindings/incoming';
import { redirectUrl } from '../bindings/redirect';
import { soapEnvelope } from '../bindings/soap';
import { certificateBody } from '../metadata/idp-metadata';
import { type RegisteredSp, SamlSpsService } from '../providers/saml-sps.service';
import { signElement } from '../xml/signatures';
import { type SpLogoutRequest, validateLogoutRequest } from './logout-request';
import { type LogoutStatus, logoutResponseXml, STATUS, validateLogoutResponse } from './logout-response';

/** How a front-channel LogoutResponse leaves: a redirect, or an auto-posting form. */
export type SamlReply = { binding: 'redirect'; url: string } | { binding: 'post'; url: string; fields: Record<string, string> };

const REPLAY_TTL_SECONDS = 10 * 60;

/**
 * Single Logout started by an SP (profiles §4.4): accept its LogoutRequest, find the sessions it
 * names, and answer it with a signed LogoutResponse once the others have been told; and read the
 * LogoutResponses SPs send back to the LogoutRequests of our front channel.
 */
@Injectable()
export class SamlSloService {
  constructor(
    private readonly db: DataSource,
    private readonly keys: KeysService,
    private readonly clock: Clock,
    private readonly replays: ReplayCache,
    private readonly sps: SamlSpsService,
    private readonly operations: LogoutOperationsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Where SPs send front-channel (Redirect, POST) and SOAP logout messages, as our metadata says. */
  private endpoint(binding: IncomingMessage['binding']): string {
    return `${this.config.publicUrl}/saml/slo${binding === 'soap' ? '/soap' : ''}`;
  }

  /** An SP's LogoutRequest, validated and seen for the first time, and the SP that sent it. */
  async acceptRequest(message: IncomingMessage): Promise<{ sp: RegisteredSp; request: SpLogoutRequest }> {
    const sp = await this.sender(message);
    const request = validateLogoutRequest(message, sp, this.endpoint(message.binding), this.clock.now());
    await this.once('saml-logout-request', sp.entityId, request.id);
    return { sp, request };
  }

  /**
   * The live sessions the request names, or the refusal it gets (core §3.7.3.2): an expired request,
   * or a NameID and SessionIndex that match no session here (UnknownPrincipal). Nothing ends then.
   */
  async sessionsFor(sp: RegisteredSp, request: SpLogoutRequest): Promise<SamlSession[] | LogoutStatus> {
    if (request.notOnOrAfter && this.clock.now() >= request.notOnOrAfter) return { code: STATUS.requester, message: 'the LogoutRequest has expired (NotOnOrAfter)' };
    const sessions = (await this.db.getRepository(SamlSession).find({
      where: { providerId: sp.providerId, nameId: request.nameId, endedAt: IsNull(), ...(request.sessionIndexes.length ? { sessionIndex: In(request.sessionIndexes) } : {}) },
      order: { createdAt: 'ASC' },
    })).filter((session) => (!request.nameIdFormat || request.nameIdFormat === session.nameIdFormat)
      && (!request.spNameQualifier || request.spNameQualifier === session.spNameQualifier));
    return sessions.length ? sessions : { code: STATUS.requester, detail: STATUS.unknownPrincipal, message: 'no session at Signoff matches this NameID and SessionIndex' };
  }

  /**
   * What to tell the SP that started the logout: Success once every other participant confirmed;
   * Success with PartialLogout when one failed, or had not confirmed within `waitMs` (back-channel
   * deliveries still retrying). No operation (none was started, or not by this SP): Success.
   */
  async outcome(operationId: string | null, waitMs: number, initiatingProviderId?: string): Promise<LogoutStatus> {
    const outcome = operationId ? await this.operations.awaitOutcome(operationId, waitMs, initiatingProviderId) : null;
    switch (outcome) {
      case null: case 'complete': return { code: STATUS.success };
      case 'gone': return { code: STATUS.responder, message: 'the logout operation is gone' };
      case 'open': return { code: STATUS.success, detail: STATUS.partialLogout, message: 'some applications have not confirmed the logout yet' };
      default: return { code: STATUS.success, detail: STATUS.partialLogout, message: 'some applications did not confirm the logout' };
    }
  }

  /**
   * The signed LogoutResponse to an SP's request, over the binding the request came on (to a
   * SingleLogoutService of that binding in its metadata, else its other front-channel one), with its
   * RelayState unchanged; null when the SP has no front-channel SingleLogoutService to receive it.
   */
  async reply(sp: RegisteredSp, inResponseTo: string, status: LogoutStatus, binding: 'redirect' | 'post', relayState: string | null): Promise<SamlReply | null> {
    const key = await this.keys.active('saml', 'RS256');
    const base = { idpEntityId: this.config.saml.entityId, inResponseTo, status, now: this.clock.now() };
    const front = sp.slsEndpoints.filter((endpoint) => endpoint.binding !== 'soap');
    const endpoint = front.find((candidate) => candidate.binding === binding) ?? front[0];
    if (!endpoint) return null;
    const url = endpoint.responseUrl ?? endpoint.url;
    const { id, xml } = logoutResponseXml({ ...base, destination: url });
    if (endpoint.binding === 'redirect') return { binding: 'redirect', url: redirectUrl(url, 'SAMLResponse', xml, key.privateKey, relayState) };
    const fields: Record<string, string> = { SAMLResponse: Buffer.from(signElement(xml, id, key.privateKey, certificateBody(key.certificatePem!))).toString('base64') };
    if (relayState !== null) fields.RelayState = relayState;
    return { binding: 'post', url, fields };
  }

  /** The signed LogoutResponse to a LogoutRequest that came over SOAP, as the SOAP reply body. */
  async soapReply(inResponseTo: string, status: LogoutStatus): Promise<string> {
    const key = await this.keys.active('saml', 'RS256');
    const { id, xml } = logoutResponseXml({ idpEntityId: this.config.saml.entityId, destination: null, inResponseTo, status, now: this.clock.now() });
    return soapEnvelope(signElement(xml, id, key.privateKey, certificateBody(key.certificatePem!)));
  }

  /**
   * An SP's LogoutResponse to one of our front-channel LogoutRequests: verified (signature, Issuer,
   * Destination, IssueInstant, InResponseTo naming a request we sent that SP) and recorded on its
   * delivery. A late Success turns a timed-out delivery into a confirmed one.
   */
  async recordResponse(message: IncomingMessage): Promise<{ sp: RegisteredSp; delivery: LogoutDelivery }> {
    const sp = await this.sender(message);
    const response = validateLogoutResponse(message, sp, this.endpoint(message.binding), this.clock.now());
    const delivery = await this.db.getRepository(LogoutDelivery).findOneBy({
      messageId: response.inResponseTo, providerId: sp.providerId, channel: In(['frontchannel_saml_iframe', 'frontchannel_saml_native']),
    });
    if (!delivery) throw new SamlMessageError('the LogoutResponse answers no LogoutRequest Signoff sent this SP');
    await this.once('saml-logout-response', sp.entityId, response.id);
    const ok = response.status === STATUS.success;
    const error = ok ? null : `the SP answered ${response.status}${response.detail ? ` / ${response.detail}` : ''}`;
    await this.operations.recordFrontchannel(delivery, { ok, error, messageId: response.inResponseTo }, ['pending', 'failed']);
    return { sp, delivery: Object.assign(delivery, { status: ok ? 'succeeded' : 'failed', lastError: error }) };
  }

  /** The SP that sent this message (by its Issuer, before anything else is trusted). */
  private async sender(message: IncomingMessage): Promise<RegisteredSp> {
    const sp = await this.sps.byEntityId(peekIssuer(message));
    if (!sp) throw new SamlMessageError('the Issuer is not a registered service provider');
    return sp;
  }

  /** Replay cache: each (issuer, message ID) is accepted once. */
  private async once(kind: string, issuer: string, id: string): Promise<void> {
    const fresh = await this.replays.firstUse(kind, [issuer, id], REPLAY_TTL_SECONDS);
    if (!fresh) throw new SamlMessageError('this message was already used');
  }
}
