import {
  BACKCHANNELS,
  type DeliveryChannel,
  type DeliveryStatus,
  type LogoutDelivery,
  type ProviderSession,
} from '@signoff/core';

/** Why a front-channel delivery of a logout without a browser is failed at once. */
export const NO_BROWSER_ERROR = "front-channel logout needs the user's browser, and this logout had none";

/** One ending provider session and the channels its protocol chose for it ([] when it is not to be told). */
export interface SessionToTell {
  session: Pick<ProviderSession, 'id' | 'providerId'>;
  channels: readonly DeliveryChannel[];
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
 * is here to run them, start `pending`; a front-channel row without a browser is `failed` at once,
 * saying why, so the operation can complete instead of waiting for a page that will never load.
 *
 * Pure: who is told over which channel (including leaving out the application that asked) is the
 * protocols' decision, already made in `sessions[].channels`; this only turns it into rows.
 */
export function planDeliveries(input: DeliveryPlanInput): PlannedDelivery[] {
  const { operationId, withBrowser, now } = input;
  const rows: PlannedDelivery[] = [];
  for (const { session, channels } of input.sessions) {
    for (const channel of channels) {
      const back = BACKCHANNELS.includes(channel);
      // Without the user's browser a front-channel delivery cannot happen: say so rather than wait forever.
      const status: DeliveryStatus = back || withBrowser ? 'pending' : 'failed';
      const failed = status === 'failed';
      rows.push({
        id: input.newId(),
        operationId,
        providerSessionId: session.id,
        providerId: session.providerId,
        channel,
        status,
        attempts: 0,
        nextAttemptAt: null,
        leaseUntil: null,
        lastHttpStatus: null,
        messageId: null,
        attemptLog: [],
        lastError: failed ? NO_BROWSER_ERROR : null,
        // A row failed here is final already: it is complete the moment it is written.
        createdAt: now,
        updatedAt: now,
        completedAt: failed ? now : null,
      });
    }
  }
  return rows;
}
