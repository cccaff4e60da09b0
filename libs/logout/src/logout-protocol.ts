import type { DeliveryChannel, LogoutOperation, Protocol, Provider, ProviderSession } from '@signoff/core';
import type { EntityManager } from 'typeorm';

/** A back-channel message, built fresh for each attempt (tokens expire, IDs must not repeat). */
export interface BackchannelRequest {
  url: string;
  body: string;
  contentType: string;
  /** logout token jti / SAML LogoutRequest ID / SET jti, recorded on the delivery. */
  messageId: string;
  /** More request headers (a SET push: Accept, and the Authorization its receiver asked for). */
  headers?: Record<string, string>;
}

/**
 * What an application's server answered a back-channel message: the HTTP status, the body (at most
 * 64 KiB) and, for a redirect, its Location as sent (redirects are never followed).
 */
export interface BackchannelReply {
  status: number;
  body: string;
  location?: string | null;
}

/** The application's answer to a back-channel message, as the protocol reads it. */
export interface BackchannelVerdict {
  ok: boolean;
  /** With ok false: would the same message succeed later (the application is down or busy)? */
  retryable: boolean;
  error?: string;
}

/**
 * How the user's browser tells a provider session: GET `url`, or POST `fields` to it when given. The
 * channel decides where: an iframe on the logout page, or the main tab (a native chain).
 */
export interface FrontchannelStep {
  url: string;
  fields?: Record<string, string>;
  /** The SAML LogoutRequest's ID, recorded on the delivery to match the SP's LogoutResponse. */
  messageId?: string;
}

/**
 * An application's answer to a front-channel step (a SAML LogoutResponse), read and verified by its
 * protocol: which request it answers (`inResponseTo`, a FrontchannelStep's messageId) and whether the
 * application confirmed.
 */
export interface FrontchannelReply {
  providerId: string;
  inResponseTo: string;
  confirmed: boolean;
  error: string | null;
}

/** Who asked for the logout: the application's provider session and its provider, when one did. */
export interface LogoutContext {
  initiatingProviderSessionId: string | null;
  initiatingProviderId: string | null;
  /** How the protocol reads the applications' settings: once per logout, however many sessions it ends. */
  once?: ReadOnce;
}

export type SessionWithProvider = ProviderSession & { provider: Provider };

/**
 * Why a session ends, as a message may say it (SAML core §3.7.3 Reason): an administrator's act (a
 * session deleted, a user deactivated, a password an admin changed), the end of the session's life
 * (global timeout), or the user's own logout.
 */
export type LogoutReason = 'user' | 'admin' | 'global-timeout';

/**
 * Reads an application's settings once for a whole batch of deliveries: `load` runs for the first
 * `key` asked for, and later asks in the same batch share its answer. The worker's batches share one
 * that forgets after a second (readForAWhile), so a setting changed by an administrator applies to
 * the batches that start a second later.
 */
export type ReadOnce = <T>(key: string, load: () => Promise<T>) => Promise<T>;

/**
 * A ReadOnce for one batch: each key read once, and kept for the batch. `through`: where a key the
 * batch has not read yet is read (the worker's shared ReadOnce): a value read when the batch started
 * stays its value to its end, however long its messages take.
 */
export function readOnce(through: ReadOnce = readEachTime): ReadOnce {
  const answers = new Map<string, Promise<unknown>>();
  return <T>(key: string, load: () => Promise<T>) => {
    let answer = answers.get(key) as Promise<T> | undefined;
    if (!answer) answers.set(key, (answer = through(key, load)));
    return answer;
  };
}

/**
 * A ReadOnce shared by every batch that starts within `ttlMs` of a read: a fan-out's batches (a
 * hundred deliveries each, to a handful of applications) read each application once a second
 * instead of once a batch. A failed read is forgotten at once, so the next batch asks again.
 */
export function readForAWhile(ttlMs: number, now: () => number = Date.now): ReadOnce {
  const answers = new Map<string, { answer: Promise<unknown>; until: number }>();
  return <T>(key: string, load: () => Promise<T>) => {
    const at = now();
    const kept = answers.get(key);
    if (kept && kept.until > at) return kept.answer as Promise<T>;
    // Expired entries go when a read finds them, or all at once when the map grows (applications come and go).
    if (answers.size >= 10_000) for (const [old, entry] of answers) if (entry.until <= at) answers.delete(old);
    const answer = load();
    answers.set(key, { answer, until: at + ttlMs });
    answer.catch(() => {
      if (answers.get(key)?.answer === answer) answers.delete(key);
    });
    return answer;
  };
}

/** No batch: every read goes to the database. */
export const readEachTime: ReadOnce = (_key, load) => load();

/**
 * Reads the rows of several ids through `once` (keys `${prefix}${id}`) with ONE load for those it does
 * not hold yet: `loadRows` gets the missing ids, `idOf` names each row it found. An id it found no row
 * for fails, as a missing row does when read alone, and `once` forgets it (the next read asks again).
 * Resolves, by id, with the rows read; a failed id is left out, for its own reader to meet.
 */
export async function readEachOnce<T>(
  once: ReadOnce,
  prefix: string,
  ids: string[],
  loadRows: (ids: string[]) => Promise<T[]>,
  idOf: (row: T) => string,
): Promise<Map<string, T>> {
  const missing: string[] = [];
  let loaded!: (rows: Map<string, T>) => void;
  let failed!: (error: unknown) => void;
  const found = new Promise<Map<string, T>>((resolve, reject) => ((loaded = resolve), (failed = reject)));
  const answers = [...new Set(ids)].map(async (id) => {
    const row = await once(`${prefix}${id}`, () => {
      missing.push(id);
      return found.then((rows) => {
        if (!rows.has(id)) throw new Error(`${prefix}${id}: not found`);
        return rows.get(id)!;
      });
    });
    return [id, row] as const;
  });
  if (missing.length) loadRows(missing).then((rows) => loaded(new Map(rows.map((row) => [idOf(row), row]))), failed);
  const read = new Map<string, T>();
  for (const answer of await Promise.allSettled(answers))
    if (answer.status === 'fulfilled') read.set(answer.value[0], answer.value[1]);
  return read;
}

/** One provider session to tell, and why it ends. */
export interface DeliveryTarget {
  session: SessionWithProvider;
  reason: LogoutReason;
  /** How the protocol reads the application's settings (the worker's batch shares them); default readEachTime. */
  once?: ReadOnce;
}

/** The reason a logout operation gives its messages. */
export function logoutReasonOf(operation: Pick<LogoutOperation, 'trigger' | 'initiatorType'>): LogoutReason {
  if (operation.trigger === 'expiry') return 'global-timeout';
  const byAdmin =
    ['admin_session', 'user_deactivated', 'global_revocation', 'api'].includes(operation.trigger) ||
    operation.initiatorType === 'admin';
  return byAdmin ? 'admin' : 'user';
}

/**
 * What came of a logout by the time its initiator is answered: its outcome, `open` when not complete
 * within the wait, `gone` when the operation vanished meanwhile, null when no logout ran (nothing to end).
 */
export type SeenOutcome = 'complete' | 'partial' | 'failed' | 'open' | 'gone' | null;

/**
 * The answer the application that started a logout gets, as a view: go to `url` (OIDC's
 * post_logout_redirect_uri with `state`; a SAML LogoutResponse over Redirect), post `fields` to it
 * (a LogoutResponse over POST), or `nowhere` when the application has no address to receive one.
 */
export type InitiatorAnswer =
  | { kind: 'redirect'; url: string }
  | { kind: 'post'; url: string; fields: Record<string, string> }
  | { kind: 'nowhere' };

/**
 * What a protocol library (libs/oidc, libs/saml) gives the logout engine. The engine decides who must
 * be told and keeps the books; the protocol builds and reads the messages. No protocol reads
 * operations or deliveries: what it needs arrives in its arguments.
 */
export interface LogoutProtocol {
  readonly protocol: Protocol;
  /**
   * The channels over which this ending provider session must be told ([] for none). Asked once per
   * application in a logout, for its first session: the answer may depend on the application and the
   * context (who initiated it), not on the session itself.
   */
  channels(session: SessionWithProvider, context: LogoutContext): Promise<DeliveryChannel[]>;
  /**
   * Optional: reads the settings of these applications into `once` together (one query), before a
   * batch builds its messages one by one through the same `once`.
   */
  readSettings?(providerIds: string[], once: ReadOnce): Promise<void>;
  /**
   * Inside the transaction that ends the sessions: the protocol's own bookkeeping (e.g. revoking
   * tokens). Every session of the operation at once, thousands in a bulk logout: bound the statements.
   */
  sessionsEnded(tx: EntityManager, sessions: SessionWithProvider[]): Promise<void>;
  /**
   * Inside the same transaction, when the logout also ends these users' grants (their account was
   * deactivated, their password changed): revoke what outlives sessions too (offline_access tokens).
   */
  grantsEnded?(tx: EntityManager, userIds: string[]): Promise<void>;
  /** The back-channel message for `target`; the application's settings are read through `target.once`. */
  buildBackchannelRequest(target: DeliveryTarget): Promise<BackchannelRequest>;
  /**
   * Reads the application's answer to `request`, sent for `target`; a protocol that must verify what
   * the answer carries (a SAML LogoutResponse, signed) may take its time.
   */
  readBackchannelReply(
    reply: BackchannelReply,
    request: BackchannelRequest,
    target: DeliveryTarget,
  ): BackchannelVerdict | Promise<BackchannelVerdict>;
  /** `relayState`: the native chain's handle, for the application to send back with its answer. */
  buildFrontchannelStep(target: DeliveryTarget, relayState?: string): Promise<FrontchannelStep>;
  /**
   * Reads an application's answer to a front-channel step, in the protocol's own message type;
   * throws when the message cannot be trusted. Protocols whose front channel has no answer (OIDC)
   * leave it out.
   */
  readFrontchannelReply?(message: unknown): Promise<FrontchannelReply>;
  /**
   * Does the initiator's answer depend on the outcome (SAML: Success or PartialLogout)? Then it is
   * built after the other applications had their chance; otherwise as soon as the flow is done.
   */
  readonly answerAwaitsOutcome: boolean;
  /**
   * The answer owed to the application that started the logout. `owed` is what the protocol asked
   * the engine to keep when the logout started (e.g. the request ID and RelayState to answer).
   */
  answerInitiator(providerId: string, owed: unknown, outcome: SeenOutcome): Promise<InitiatorAnswer>;
  /**
   * Where the application `applicationId` (its OIDC client_id, its SAML entityID) lets
   * `/logout?return_to=` send the browser after a logout Signoff started, or null when this protocol
   * has no such enabled application.
   */
  logoutReturnUrls?(applicationId: string): Promise<LogoutReturnUrls | null>;
}

/**
 * An application's allowed logout return URLs: `exact` ones compared as strings (OIDC's registered
 * post_logout_redirect_uris, RP-Initiated Logout 1.0 §3), and `patterns`, exact or with one wildcard
 * label (a SAML SP's logoutReturnUrls; core http/return-urls.ts).
 */
export interface LogoutReturnUrls {
  exact: readonly string[];
  patterns: readonly string[];
}
