import type { PlannedSignal } from './security-events';
import {
  BACKCHANNELS,
  type DeliveryChannel,
  type DeliveryStatus,
  type LogoutDelivery,
  type ProviderSession,
} from '@signoff/core';

/**
 * Why a front-channel delivery of a logout without a browser (an administrator's, a deactivation,
 * expiry, a SOAP request) is skipped: the application is registered to be told in the browser only.
 */
export const NO_BROWSER_REASON =
  "skipped: this application is logged out in the user's browser only (front channel), and this logout had no browser";

/** Why a front-channel delivery is skipped when the user signed out "everywhere" from another device. */
export const OTHER_DEVICE_REASON =
  "skipped: this application is logged out in the user's browser only (front channel), and that session was on another device";

/** One ending provider session and the channels its protocol chose for it ([] when it is not to be told). */
export interface SessionToTell {
  session: Pick<ProviderSession, 'id' | 'providerId'>;
  channels: readonly DeliveryChannel[];
  /**
   * This session's browser is not the one here (a logout "everywhere" reaches other devices' sessions):
   * its front channel cannot run, whatever `withBrowser` says.
   */
  elsewhere?: boolean;
}

/** What a delivery plan is made from: everything the orchestrator has decided or read, nothing it still has to ask. */
export interface DeliveryPlanInput {
  operationId: string;
  /** In the order the rows are to be written (the orchestrator reads the sessions oldest first). */
  sessions: readonly SessionToTell[];
  /** Is the user's browser here to run front-channel deliveries? */
  withBrowser: boolean;
  now: Date;
  /** Makes each row's id (newId in production; tests pass a predictable one). */
  newId: () => string;
}

/** A delivery row as the outbox receives it: every column, no relations. */
export type PlannedDelivery = Omit<LogoutDelivery, 'operation' | 'providerSession' | 'provider'>;

/**
 * The outbox rows of one logout: one per (provider session, channel), in the order of `sessions`
 * and, within a session, of its channels. Back-channel rows, and front-channel rows when a browser
 * is here to run them, start `pending`; a front-channel row without a browser is `skipped` at once,
 * saying why, so the operation can complete instead of waiting for a page that will never load. It
 * is not `failed`: nothing went wrong that trying again could fix, the application's registration
 * puts it out of reach (the SP's registration warned of it). It is no success either: the operation
 * settles as `partial` (see LogoutOperationsService.settle), and a SAML initiator hears PartialLogout.
 *
 * Pure: who is told over which channel (including leaving out the application that asked) is the
 * protocols' decision, already made in `sessions[].channels`; this only turns it into rows.
 */
export function planDeliveries(input: DeliveryPlanInput): PlannedDelivery[] {
  const { withBrowser, now } = input;
  const rows: PlannedDelivery[] = [];
  for (const { session, channels, elsewhere } of input.sessions) {
    for (const channel of channels) {
      const back = BACKCHANNELS.includes(channel);
      // Without the user's browser a front-channel delivery cannot happen: say so rather than wait forever.
      const status: DeliveryStatus = back || (withBrowser && !elsewhere) ? 'pending' : 'skipped';
      const skipped = status === 'skipped';
      rows.push(
        newRow(input, {
          providerSessionId: session.id,
          providerId: session.providerId,
          channel,
          status,
          lastError: skipped ? (withBrowser ? OTHER_DEVICE_REASON : NO_BROWSER_REASON) : null,
          event: null,
          // A row skipped here is final already: it is complete the moment it is written.
          completedAt: skipped ? now : null,
        }),
      );
    }
  }
  return rows;
}

/**
 * The outbox rows of a logout's security events: one per (event, stream), written `pending` (pushed
 * by the worker, or kept for the receiver's poll) or `held` for a paused stream. No provider session:
 * the row tells a stream, and carries its event.
 */
export function planSignals(
  input: Pick<DeliveryPlanInput, 'operationId' | 'now' | 'newId'>,
  signals: readonly PlannedSignal[],
): PlannedDelivery[] {
  return signals.map((signal) =>
    newRow(input, {
      providerSessionId: null,
      providerId: signal.receiverId,
      channel: signal.channel,
      status: signal.held ? 'held' : 'pending',
      lastError: null,
      event: signal.event,
      completedAt: null,
    }),
  );
}

/** A row as it is written: no attempt yet, created now, with what sets it apart. */
function newRow(
  input: Pick<DeliveryPlanInput, 'operationId' | 'now' | 'newId'>,
  fields: Pick<
    PlannedDelivery,
    'providerSessionId' | 'providerId' | 'channel' | 'status' | 'lastError' | 'event' | 'completedAt'
  >,
): PlannedDelivery {
  return {
    id: input.newId(),
    operationId: input.operationId,
    attempts: 0,
    nextAttemptAt: null,
    leaseUntil: null,
    lastHttpStatus: null,
    messageId: null,
    attemptLog: [],
    createdAt: input.now,
    updatedAt: input.now,
    ...fields,
  };
}
