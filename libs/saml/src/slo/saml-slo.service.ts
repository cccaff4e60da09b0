import { Inject, Injectable } from '@nestjs/common';
import { Clock, CONFIG, type Config, KeysService, SamlSession } from '@signoff/core';
import type { BrowserLogout, FrontchannelReply, InitiatorAnswer, SeenOutcome } from '@signoff/logout';
import { DataSource, In, IsNull } from 'typeorm';
import { SamlIntake } from '../bindings/intake';
import type { IncomingMessage } from '../bindings/incoming';
import { redirectUrl } from '../bindings/redirect';
import { soapEnvelope } from '../bindings/soap';
import { certificateBody } from '../metadata/idp-metadata';
import { type RegisteredSp, SamlSpsService } from '../providers/saml-sps.service';
import { toXml } from '../xml/build';
import { signXml } from '../xml/signatures';
import { type SpLogoutRequest, validateLogoutRequest } from './logout-request';
import { type LogoutStatus, logoutResponseXml, STATUS, validateLogoutResponse } from './logout-response';

/** What the LogoutResponse to an SP's front-channel LogoutRequest needs, kept while the logout runs. */
export interface OwedLogoutResponse {
  inResponseTo: string;
  binding: 'redirect' | 'post';
  relayState: string | null;
}

/** The sessions an SP's LogoutRequest names, or the error Status it is answered with when nothing can end (core §3.7.3.2). */
export type NamedSessions = { kind: 'sessions'; sessions: SamlSession[] } | { kind: 'refused'; status: LogoutStatus };

/**
 * The Status a logout's outcome earns (core §3.7.3.2): Success once every other participant confirmed
 * (or when no logout ran); Success with PartialLogout when one failed, or had not confirmed in time
 * (back-channel deliveries still retrying); Responder when the operation vanished meanwhile.
 */
export function statusForOutcome(outcome: SeenOutcome): LogoutStatus {
  switch (outcome) {
    case null:
    case 'complete':
      return { code: STATUS.success };
    case 'gone':
      return { code: STATUS.responder, message: 'the logout operation is gone' };
    case 'open':
      return {
        code: STATUS.success,
        detail: STATUS.partialLogout,
        message: 'some applications have not confirmed the logout yet',
      };
    default:
      return {
        code: STATUS.success,
        detail: STATUS.partialLogout,
        message: 'some applications did not confirm the logout',
      };
  }
}

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
    private readonly intake: SamlIntake,
    private readonly sps: SamlSpsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** An SP's LogoutRequest, validated and seen for the first time, and the SP that sent it. */
  async acceptRequest(message: IncomingMessage): Promise<{ sp: RegisteredSp; request: SpLogoutRequest }> {
    const { sp, value } = await this.intake.accept('LogoutRequest', message, validateLogoutRequest);
    return { sp, request: value };
  }

  /**
   * The live sessions the request names, or the refusal it gets (core §3.7.3.2): an expired request,
   * or a NameID and SessionIndex that match no session here (UnknownPrincipal). Nothing ends then.
   */
  async sessionsFor(sp: RegisteredSp, request: SpLogoutRequest): Promise<NamedSessions> {
    if (request.notOnOrAfter && this.clock.now() >= request.notOnOrAfter)
      return {
        kind: 'refused',
        status: { code: STATUS.requester, message: 'the LogoutRequest has expired (NotOnOrAfter)' },
      };
    const sessions = (
      await this.db.getRepository(SamlSession).find({
        where: {
          providerId: sp.providerId,
          nameId: request.nameId,
          endedAt: IsNull(),
          ...(request.sessionIndexes.length ? { sessionIndex: In(request.sessionIndexes) } : {}),
        },
        order: { createdAt: 'ASC' },
      })
    ).filter(
      (session) =>
        (!request.nameIdFormat || request.nameIdFormat === session.nameIdFormat) &&
        (!request.spNameQualifier || request.spNameQualifier === session.spNameQualifier),
    );
    if (sessions.length) return { kind: 'sessions', sessions };
    return {
      kind: 'refused',
      status: {
        code: STATUS.requester,
        detail: STATUS.unknownPrincipal,
        message: 'no session at Signoff matches this NameID and SessionIndex',
      },
    };
  }

  /**
   * The logout an SP's LogoutRequest asks for: the IdP sessions of the SamlSessions it named, the SP's
   * provider (its invalidation flow) and the SP as the initiator; in the browser, the LogoutResponse
   * it is owed at the end.
   */
  logoutFor(sp: RegisteredSp, sessions: SamlSession[]): Omit<BrowserLogout, 'owed'> {
    return {
      trigger: 'sp_initiated',
      initiator: { type: 'provider', id: sp.providerId },
      idpSessionIds: [...new Set(sessions.map((session) => session.idpSessionId))],
      initiatingProviderSessionId: sessions[0].id,
      provider: sp.provider,
    };
  }

  /** The answer an SP is owed for a front-channel LogoutRequest: what its LogoutResponse will need. */
  owedTo(
    sp: RegisteredSp,
    request: SpLogoutRequest,
    message: IncomingMessage & { binding: 'redirect' | 'post' },
  ): BrowserLogout['owed'] {
    const owed: OwedLogoutResponse = {
      inResponseTo: request.id,
      binding: message.binding,
      relayState: message.relayState,
    };
    return { to: 'application', protocol: 'saml', providerId: sp.providerId, owed };
  }

  /** The signed LogoutResponse owed to the SP `providerId`, with `status`. */
  async answer(providerId: string, owed: OwedLogoutResponse, status: LogoutStatus): Promise<InitiatorAnswer> {
    const sp = await this.sps.byProviderId(providerId);
    return this.reply(sp, owed.inResponseTo, status, owed.binding, owed.relayState);
  }

  /**
   * The signed LogoutResponse to an SP's request, over the binding the request came on (to a
   * SingleLogoutService of that binding in its metadata, else its other front-channel one), with its
   * RelayState unchanged; `nowhere` when the SP has no front-channel SingleLogoutService to receive it.
   */
  async reply(
    sp: RegisteredSp,
    inResponseTo: string,
    status: LogoutStatus,
    binding: 'redirect' | 'post',
    relayState: string | null,
  ): Promise<InitiatorAnswer> {
    const key = await this.keys.active('saml', 'RS256');
    const base = { idpEntityId: this.config.saml.entityId, inResponseTo, status, now: this.clock.now() };
    const front = sp.slsEndpoints.filter((endpoint) => endpoint.binding !== 'soap');
    const endpoint = front.find((candidate) => candidate.binding === binding) ?? front[0];
    if (!endpoint) return { kind: 'nowhere' };
    const url = endpoint.responseUrl ?? endpoint.url;
    const { id, xml, message } = logoutResponseXml({ ...base, destination: url });
    if (endpoint.binding === 'redirect')
      return { kind: 'redirect', url: await redirectUrl(url, 'SAMLResponse', xml, key.privateKey, relayState) };
    const fields: Record<string, string> = {
      SAMLResponse: Buffer.from(
        toXml(await signXml(message, id, key.privateKey, certificateBody(key.certificatePem!))),
      ).toString('base64'),
    };
    if (relayState !== null) fields.RelayState = relayState;
    return { kind: 'post', url, fields };
  }

  /** The signed LogoutResponse to a LogoutRequest that came over SOAP, as the SOAP reply body. */
  async soapReply(inResponseTo: string, status: LogoutStatus): Promise<string> {
    const key = await this.keys.active('saml', 'RS256');
    const { id, message } = logoutResponseXml({
      idpEntityId: this.config.saml.entityId,
      destination: null,
      inResponseTo,
      status,
      now: this.clock.now(),
    });
    return soapEnvelope(toXml(await signXml(message, id, key.privateKey, certificateBody(key.certificatePem!))));
  }

  /**
   * An SP's LogoutResponse to one of our front-channel LogoutRequests, verified (signature, Issuer,
   * Destination, IssueInstant) and seen for the first time; the engine matches its InResponseTo to
   * the request we sent that SP.
   */
  async readLogoutResponse(message: IncomingMessage): Promise<FrontchannelReply> {
    const { sp, value: response } = await this.intake.accept('LogoutResponse', message, validateLogoutResponse);
    const confirmed = response.status === STATUS.success;
    const error = confirmed
      ? null
      : `the SP answered ${response.status}${response.detail ? ` / ${response.detail}` : ''}`;
    return { providerId: sp.providerId, inResponseTo: response.inResponseTo, confirmed, error };
  }
}
