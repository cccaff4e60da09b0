import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config, SSF_POLL, type SsfReceiver } from '@signoff/core';
import { SecurityEventBooks, type SetError } from '@signoff/logout';
import { badRequest, noSuchStream } from './ssf-error';
import { SsfReceiversService } from './ssf-receivers.service';
import { SsfTransmitter } from './ssf-transmitter';

/** RFC 8936 §2.5's answer: SETs by jti, and whether more wait. */
export interface PollAnswer {
  sets: Record<string, string>;
  moreAvailable?: boolean;
}

/** At most this many SETs in one answer, whatever maxEvents says (moreAvailable says there are more). */
const MAX_PER_POLL = 250;
/** Long polls one receiver may have waiting at once; more answer at once (a poll costs a query every LOOK_EVERY_MS). */
const LONG_POLLS_EACH = 2;
const MAX_ACKS = 10_000;
/** How often a long poll looks for new events. */
const LOOK_EVERY_MS = 250;

/**
 * Poll-based delivery (RFC 8936): a receiver acknowledges what it got (`ack`, `setErrs`) and takes
 * what waits, oldest first; a long poll waits up to SSF_LONG_POLL_TIMEOUT for an event. A stream that
 * is not enabled hands out nothing (SSF 1.0 §8.1.2.1). Acknowledged events are final: they succeeded.
 */
@Injectable()
export class SsfPollService {
  constructor(
    private readonly books: SecurityEventBooks,
    private readonly transmitter: SsfTransmitter,
    private readonly receivers: SsfReceiversService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Long polls waiting now, by receiver: at most LONG_POLLS_EACH at once, the others answer at once. */
  private readonly waiting = new Map<string, number>();

  /** `gone`: whether the receiver hung up (a long poll stops waiting then). */
  async poll(receiver: SsfReceiver, streamId: string, body: unknown, gone: () => boolean): Promise<PollAnswer> {
    if (receiver.streamId !== streamId || receiver.deliveryMethod !== SSF_POLL) throw noSuchStream();
    const request = readRequest(body);
    await this.books.acknowledge(receiver.providerId, request.ack, request.setErrs);
    await this.books.expireKept(receiver.providerId);
    const max = Math.min(request.maxEvents ?? MAX_PER_POLL, MAX_PER_POLL);
    if (max === 0) return { sets: {} };
    const waiting = this.waiting.get(receiver.providerId) ?? 0;
    const long = !request.returnImmediately && waiting < LONG_POLLS_EACH;
    if (long) this.waiting.set(receiver.providerId, waiting + 1);
    try {
      const deadline = Date.now() + (long ? this.config.ssf.longPollMs : 0);
      for (let current: SsfReceiver | null = receiver; current; current = await this.receivers.current(receiver)) {
        // The stream as it is now: a pause, a switch to push or a deletion meanwhile ends the wait.
        if (current.streamId !== streamId || current.deliveryMethod !== SSF_POLL) break;
        if (current.streamStatus === 'enabled') {
          const { events, more } = await this.books.polled(receiver.providerId, max);
          if (events.length) {
            const sets: Record<string, string> = {};
            for (const event of events) sets[event.id] = await this.transmitter.signPolled(event, current);
            return { sets, moreAvailable: more };
          }
        }
        if (Date.now() >= deadline || gone()) break;
        await new Promise((resolve) => setTimeout(resolve, LOOK_EVERY_MS));
      }
      return { sets: {} };
    } finally {
      if (long) {
        const left = (this.waiting.get(receiver.providerId) ?? 1) - 1;
        if (left) this.waiting.set(receiver.providerId, left);
        else this.waiting.delete(receiver.providerId);
      }
    }
  }
}

/** RFC 8936 §2.2's request members, checked. */
function readRequest(body: unknown): {
  maxEvents: number | null;
  returnImmediately: boolean;
  ack: string[];
  setErrs: Record<string, SetError>;
} {
  // No body at all reads as {} (a plain poll); anything sent must be a JSON object (RFC 8936 §2.2).
  const fields = body === undefined || body === null ? {} : body;
  if (typeof fields !== 'object' || Array.isArray(fields))
    throw badRequest('the poll request is a JSON object (RFC 8936 §2.2)');
  const { maxEvents, returnImmediately, ack, setErrs } = fields as Record<string, unknown>;
  if (maxEvents !== undefined && (!Number.isInteger(maxEvents) || (maxEvents as number) < 0))
    throw badRequest('maxEvents: a non-negative integer');
  if (returnImmediately !== undefined && typeof returnImmediately !== 'boolean')
    throw badRequest('returnImmediately: a boolean');
  if (ack !== undefined && (!Array.isArray(ack) || ack.length > MAX_ACKS || ack.some((jti) => typeof jti !== 'string')))
    throw badRequest(`ack: an array of at most ${MAX_ACKS} jti strings`);
  // No prototype: a jti is any string, "__proto__" included.
  const errors: Record<string, SetError> = Object.create(null);
  if (setErrs !== undefined) {
    if (
      typeof setErrs !== 'object' ||
      setErrs === null ||
      Array.isArray(setErrs) ||
      Object.keys(setErrs).length > MAX_ACKS
    )
      throw badRequest('setErrs: an object of jti to {err, description}');
    for (const [jti, error] of Object.entries(setErrs)) {
      const { err, description } = (error ?? {}) as Record<string, unknown>;
      if (typeof err !== 'string' || (description !== undefined && typeof description !== 'string'))
        throw badRequest(`setErrs.${jti.slice(0, 64)}: {"err": "...", "description": "..."} (RFC 8936 §2.6)`);
      errors[jti] = { err, ...(description === undefined ? {} : { description: description as string }) };
    }
  }
  return {
    maxEvents: maxEvents === undefined ? null : (maxEvents as number),
    returnImmediately: returnImmediately === true,
    ack: (ack as string[] | undefined) ?? [],
    setErrs: errors,
  };
}
