import type { FrontchannelStep, InitiatorAnswer } from './logout-protocol';
import type { LogoutStatus } from './logout-status';

/** One front-channel delivery run in an iframe of the logout page. */
export interface FrontchannelFrame {
  deliveryId: string;
  /** Proves a report about this delivery comes from the page we rendered (an HMAC of its id). */
  reportToken: string;
  /** An iframe's src, or an auto-posting form's action. */
  url: string;
  fields?: Record<string, string>;
}

/**
 * What the browser is shown at each step of a logout; the app renders it (HTML, redirects), the
 * journey never writes HTML or touches a response.
 * - `confirm` / `message`: the flow stopped to ask the user; the answer comes back with `flowHandle`.
 * - `frontchannel`: the logout page, one iframe per front-channel delivery, then `next`; it names
 *   every application of the logout (all channels) with its state (`logout`).
 * - `native-step`: the main tab goes to one application (`step`), which answers back, then `resume`.
 * - `native-waiting`: that application has not answered (yet): wait until `retry`, or `skip` it.
 * - `go`: send the browser on (303) to `url`: the next step, or the signed-out page.
 * - `answer`: the end: the application that started the logout gets its answer.
 * - `cancelled`: the user said no; nothing ended.
 * - `expired`: the handle names no logout (expired, used, or never issued).
 * - `foreign`: the chain belongs to another browser; nothing changed.
 */
export type LogoutView =
  | { view: 'confirm' | 'message'; text: string; flowHandle: string }
  | {
      view: 'frontchannel';
      frames: FrontchannelFrame[];
      next: string;
      timeoutMs: number;
      /** The logout's status handle and what is known now: the page names every application and follows them. */
      logout: { handle: string; status: LogoutStatus } | null;
    }
  | { view: 'native-step'; application: string; step: FrontchannelStep; resume: string; timeoutMs: number }
  | { view: 'native-waiting'; application: string; skip: string; retry: string; remainingMs: number }
  | { view: 'go'; url: string }
  | { view: 'answer'; answer: InitiatorAnswer }
  | { view: 'cancelled' }
  | { view: 'expired' }
  | { view: 'foreign' };
