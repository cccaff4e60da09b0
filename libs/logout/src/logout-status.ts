import {
  ANSWERED_CHANNELS,
  BACKCHANNELS,
  type DeliveryChannel,
  type LogoutDelivery,
  type LogoutOutcome,
  SSF_CHANNELS,
} from '@signoff/core';
import { ATTEMPT_LOG_SIZE, participantsOutcome } from './logout-operations.service';

/**
 * What the user is told about one application of their logout. Only what Signoff knows:
 * - `waiting`: a delivery to it is still under way;
 * - `signed_out`: the application confirmed (a back-channel 2xx, a SAML LogoutResponse with Success);
 * - `told`: its OIDC front-channel logout page loaded in the browser, which is all that channel can
 *   say (Front-Channel Logout 1.0 §4 has no answer): told, not confirmed;
 * - `refused`: it answered, and not with success (its own status, in `detail`);
 * - `no_answer`: it never answered (down, timed out, out of attempts);
 * - `unreachable`: it can only be told in a browser, and its session's browser was not here.
 */
export type ApplicationLogoutState = 'waiting' | 'signed_out' | 'told' | 'refused' | 'no_answer' | 'unreachable';

export interface ApplicationLogoutStatus {
  providerId: string;
  name: string;
  state: ApplicationLogoutState;
  /**
   * In words for the user, when it did not confirm: the application's own answer (its SAML status,
   * its HTTP status) or that it gave none. Never the raw error an administrator sees in the console
   * (a socket error names internal hosts and ports).
   */
  detail: string | null;
  /** A delivery that "try again" runs again (the last one that did not confirm), when one can be. */
  retryDeliveryId: string | null;
}

export interface LogoutStatus {
  /** Every delivery reached a final state. */
  settled: boolean;
  outcome: LogoutOutcome | null;
  applications: ApplicationLogoutStatus[];
}

type Delivery = Pick<
  LogoutDelivery,
  'id' | 'providerId' | 'providerSessionId' | 'channel' | 'status' | 'lastError' | 'lastHttpStatus' | 'createdAt'
> & { provider: { name: string }; attemptLog: readonly unknown[] };

/**
 * Whether the user may run a delivery again from their summary page: each press sends the
 * application more requests, so not once its attempt log is full (ATTEMPT_LOG_SIZE attempts on
 * record); an administrator can still retry it from the console.
 */
export const canTryAgain = (delivery: Pick<Delivery, 'attemptLog'>): boolean =>
  delivery.attemptLog.length < ATTEMPT_LOG_SIZE;

/** Order of the states when one application has several sessions or channels: the least settled, least happy wins. */
const RANK: Record<ApplicationLogoutState, number> = {
  waiting: 0,
  no_answer: 1,
  refused: 2,
  unreachable: 3,
  told: 4,
  signed_out: 5,
};

const OPEN = ['pending', 'queued', 'sending'];

/** The state of one provider session: its best delivery (a back channel that confirmed beats a front channel that only loaded). */
function sessionState(deliveries: Delivery[]): { state: ApplicationLogoutState; last: Delivery } {
  const confirmed = deliveries.find((delivery) => delivery.status === 'succeeded' && confirms(delivery.channel));
  if (confirmed) return { state: 'signed_out', last: confirmed };
  const open = deliveries.find((delivery) => OPEN.includes(delivery.status));
  if (open) return { state: 'waiting', last: open };
  const told = deliveries.find((delivery) => delivery.status === 'succeeded');
  if (told) return { state: 'told', last: told };
  const last = deliveries[deliveries.length - 1];
  if (last.status === 'skipped') return { state: 'unreachable', last };
  // An application that answered no (an HTTP 4xx, a SAML status other than Success) refused; one that
  // never answered (5xx, a timeout, out of attempts, no LogoutResponse) did not answer.
  const refused =
    last.status === 'failed' && (last.lastHttpStatus !== null || /answered|status|refus/i.test(last.lastError ?? ''));
  return { state: refused ? 'refused' : 'no_answer', last };
}

/** What the user is told of a delivery that did not confirm: what the application itself answered, or that it did not. */
function userDetail(delivery: Delivery): string {
  if (delivery.status === 'skipped') return 'it is signed out only in the browser it was used in';
  // The SP's own status (saml-slo.service.ts: "the SP answered <Status> / <StatusMessage>").
  if (delivery.lastError?.startsWith('the SP answered ')) return delivery.lastError;
  if (delivery.lastHttpStatus !== null && (delivery.lastHttpStatus < 200 || delivery.lastHttpStatus > 299))
    return `it answered with HTTP status ${delivery.lastHttpStatus}`;
  return 'it gave no answer';
}

/** Whether a success on this channel is the application's confirmation (a reply to Signoff), not just a page load. */
const confirms = (channel: DeliveryChannel): boolean =>
  BACKCHANNELS.includes(channel) || ANSWERED_CHANNELS.includes(channel);

/**
 * The user's view of a logout: one entry per application (named, in the order they were told), its
 * state across all its sessions and channels (the least settled wins), and what "try again" would run.
 * Pure: the journey reads the operation, this decides what to say.
 */
export function logoutStatusOf(
  operation: { completedAt: Date | null; outcome: LogoutOutcome | null; writing?: boolean },
  deliveries: readonly Delivery[],
): LogoutStatus {
  // Security events to SSF receivers are no application the user signed in to: the user is told of
  // their applications, and an event a receiver has not polled yet keeps nobody's page waiting.
  const told = deliveries.filter((delivery) => !SSF_CHANNELS.includes(delivery.channel));
  const byProvider = new Map<string, Map<string | null, Delivery[]>>();
  for (const delivery of [...told].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())) {
    const sessions = byProvider.get(delivery.providerId) ?? new Map<string | null, Delivery[]>();
    sessions.set(delivery.providerSessionId, [...(sessions.get(delivery.providerSessionId) ?? []), delivery]);
    byProvider.set(delivery.providerId, sessions);
  }
  const applications = [...byProvider.entries()].map(([providerId, sessions]): ApplicationLogoutStatus => {
    const states = [...sessions.values()].map(sessionState);
    const worst = states.reduce((a, b) => (RANK[b.state] < RANK[a.state] ? b : a));
    const retryable = (worst.state === 'no_answer' || worst.state === 'refused') && canTryAgain(worst.last);
    return {
      providerId,
      name: worst.last.provider.name,
      state: worst.state,
      detail:
        worst.state === 'signed_out' || worst.state === 'waiting' || worst.state === 'told'
          ? null
          : userDetail(worst.last),
      retryDeliveryId: retryable ? worst.last.id : null,
    };
  });
  if (told.length === deliveries.length)
    return { settled: operation.completedAt !== null, outcome: operation.outcome, applications };
  // Deliveries still being written (a bulk logout's pieces): some applications are not listed yet.
  const outcome = operation.writing ? null : participantsOutcome(told.map((delivery) => delivery.status));
  return { settled: outcome !== null, outcome, applications };
}
