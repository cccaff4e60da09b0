import { Inject, Injectable } from '@nestjs/common';
import { AuditService, Clock, CONFIG, type Config, ReplayCache, SignoffError } from '@signoff/core';
import { type RegisteredSp, SamlSpsService } from '../providers/saml-sps.service';
import { type IncomingMessage, isSamlRefusal, peekIssuer, SamlMessageError } from './incoming';

/** The SAML messages an SP sends us. */
export type SamlMessageKind = 'AuthnRequest' | 'LogoutRequest' | 'LogoutResponse';

const SHOWN_AS: Record<SamlMessageKind, string> = {
  AuthnRequest: 'SAML request',
  LogoutRequest: 'logout request',
  LogoutResponse: 'logout response',
};
const REPLAY_CACHE: Record<SamlMessageKind, string> = {
  AuthnRequest: 'saml-authn-id',
  LogoutRequest: 'saml-logout-request',
  LogoutResponse: 'saml-logout-response',
};
/** Longer than any IssueInstant we accept (MAX_SKEW_MS either side), so a replay cannot outlive its marker. */
const REPLAY_TTL_SECONDS = 10 * 60;

/**
 * A SAML message refused, and already audited: "The logout request was refused: <reason>." Its code
 * is its cause's (`saml_message_refused` or `unsafe_xml`); `reason` is the cause's message.
 */
export class SamlRefusal extends SignoffError {
  constructor(
    readonly kind: SamlMessageKind | null,
    readonly reason: string,
    cause: SignoffError,
  ) {
    super(cause.code, `The ${kind ? SHOWN_AS[kind] : 'SAML message'} was refused: ${reason}.`);
    this.name = 'SamlRefusal';
  }
}

/**
 * The one way in for a message from an SP, for SSO and SLO alike: its Issuer names a registered SP
 * (read before anything else is trusted), `validate` checks it against that SP (signature over the
 * exact bytes with its pinned certificates, Destination, IssueInstant, the message's own rules), and
 * its ID is seen for the first time (the replay cache). Every refusal is audited the same way
 * (`saml.message_refused`) and thrown as a SamlRefusal; anything else is a fault of ours and goes on up.
 */
@Injectable()
export class SamlIntake {
  constructor(
    private readonly sps: SamlSpsService,
    private readonly replays: ReplayCache,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** The message, validated, and the SP that sent it. `validate` gets the endpoint the message must be addressed to (Destination). */
  async accept<T extends { id: string }>(
    kind: SamlMessageKind,
    message: IncomingMessage,
    validate: (message: IncomingMessage, sp: RegisteredSp, endpoint: string, now: Date) => T,
  ): Promise<{ sp: RegisteredSp; value: T }> {
    try {
      const sp = await this.sps.byEntityId(peekIssuer(message));
      if (!sp) throw new SamlMessageError('the Issuer is not a registered service provider');
      const value = validate(message, sp, this.endpoint(kind, message.binding), this.clock.now());
      if (!(await this.replays.firstUse(REPLAY_CACHE[kind], [sp.entityId, value.id], REPLAY_TTL_SECONDS)))
        throw new SamlMessageError('this message was already used');
      return { sp, value };
    } catch (error) {
      throw await this.refuse(kind, message.binding, error);
    }
  }

  /**
   * For a message refused before it could be read at all (a query with no message, or two): records
   * it like any other refusal and returns the SamlRefusal to throw. Anything but a refusal is
   * returned unchanged (a fault of ours); a SamlRefusal is returned as it is (already recorded).
   */
  async refuse(kind: SamlMessageKind | null, binding: string, error: unknown): Promise<unknown> {
    if (error instanceof SamlRefusal || !isSamlRefusal(error)) return error;
    await this.audit.record({
      action: 'saml.message_refused',
      actor: { type: 'anonymous' },
      details: { message: kind, binding, reason: error.message },
    });
    return new SamlRefusal(kind, error.message, error);
  }

  /** Where the message must be addressed, as our metadata publishes it. */
  private endpoint(kind: SamlMessageKind, binding: IncomingMessage['binding']): string {
    if (kind === 'AuthnRequest') return `${this.config.publicUrl}/saml/sso`;
    return `${this.config.publicUrl}/saml/slo${binding === 'soap' ? '/soap' : ''}`;
  }
}
