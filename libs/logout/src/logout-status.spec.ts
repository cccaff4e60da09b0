import type { DeliveryChannel, DeliveryStatus } from '@signoff/core';
import { logoutStatusOf } from './logout-status';

let n = 0;
/** One delivery: to application `name` (its provider), for provider session `session`, over `channel`, now `status`. */
const delivery = (
  name: string,
  channel: DeliveryChannel,
  status: DeliveryStatus,
  extra: { session?: string; lastError?: string; lastHttpStatus?: number } = {},
) => ({
  id: `d${++n}`,
  providerId: `p-${name}`,
  providerSessionId: extra.session ?? `s-${name}`,
  channel,
  status,
  lastError: extra.lastError ?? null,
  lastHttpStatus: extra.lastHttpStatus ?? null,
  createdAt: new Date(n * 1000),
  provider: { name },
  attemptLog: [] as unknown[],
});
const open = { completedAt: null, outcome: null };
const done = { completedAt: new Date(), outcome: 'partial' as const };

describe('logoutStatusOf: what the user is told of each application', () => {
  it('names every application once, in the order they were told, over every channel', () => {
    const status = logoutStatusOf(open, [
      delivery('Wiki', 'backchannel_oidc', 'queued'),
      delivery('Chat', 'frontchannel_oidc', 'pending'),
      delivery('CRM', 'frontchannel_saml_iframe', 'pending'),
      delivery('HR', 'frontchannel_saml_native', 'pending'),
    ]);
    expect(status.applications.map((app) => [app.name, app.state])).toEqual([
      ['Wiki', 'waiting'],
      ['Chat', 'waiting'],
      ['CRM', 'waiting'],
      ['HR', 'waiting'],
    ]);
    expect(status.settled).toBe(false);
  });

  it.each([
    ['a back channel that succeeded', delivery('A', 'backchannel_saml', 'succeeded'), 'signed_out'],
    [
      'a SAML iframe settled by its LogoutResponse',
      delivery('A', 'frontchannel_saml_iframe', 'succeeded'),
      'signed_out',
    ],
    [
      'an OIDC iframe that loaded: told, no confirmation exists',
      delivery('A', 'frontchannel_oidc', 'succeeded'),
      'told',
    ],
    [
      'a back channel out of attempts',
      delivery('A', 'backchannel_oidc', 'dead', { lastError: 'HTTP 503', lastHttpStatus: 503 }),
      'no_answer',
    ],
    [
      'a back channel refused with a 4xx',
      delivery('A', 'backchannel_oidc', 'failed', { lastError: 'HTTP 400', lastHttpStatus: 400 }),
      'refused',
    ],
    [
      'an SP that answered a non-success status',
      delivery('A', 'frontchannel_saml_native', 'failed', {
        lastError: 'status urn:oasis:names:tc:SAML:2.0:status:Requester',
      }),
      'refused',
    ],
    [
      'a frame that timed out',
      delivery('A', 'frontchannel_saml_iframe', 'failed', { lastError: 'the application did not answer in time' }),
      'no_answer',
    ],
    [
      'a front channel skipped for want of its browser',
      delivery('A', 'frontchannel_oidc', 'skipped', { lastError: 'skipped: …' }),
      'unreachable',
    ],
  ])('%s', (_, row, state) => {
    expect(logoutStatusOf(done, [row]).applications[0].state).toBe(state);
  });

  it('a confirmation on one channel beats a mere page load on another, for the same session', () => {
    const status = logoutStatusOf(done, [
      delivery('Wiki', 'frontchannel_oidc', 'succeeded'),
      delivery('Wiki', 'backchannel_oidc', 'succeeded'),
    ]);
    expect(status.applications).toEqual([expect.objectContaining({ name: 'Wiki', state: 'signed_out', detail: null })]);
  });

  it('with two sessions of one application (two accounts), the one that did not confirm decides, and is what "try again" runs', () => {
    const failed = delivery('Wiki', 'backchannel_oidc', 'dead', {
      session: 'bob',
      lastError: 'HTTP 500',
      lastHttpStatus: 500,
    });
    const status = logoutStatusOf(done, [
      delivery('Wiki', 'backchannel_oidc', 'succeeded', { session: 'alice' }),
      failed,
    ]);
    expect(status.applications).toEqual([
      {
        providerId: 'p-Wiki',
        name: 'Wiki',
        state: 'no_answer',
        detail: 'it answered with HTTP status 500',
        retryDeliveryId: failed.id,
      },
    ]);
  });

  it('tells the user what the application answered, never the raw error (a socket error names internal hosts)', () => {
    const details = logoutStatusOf(done, [
      delivery('A', 'backchannel_oidc', 'dead', { lastError: 'ECONNREFUSED: connect ECONNREFUSED 10.1.2.3:8443' }),
      delivery('B', 'backchannel_saml', 'failed', {
        lastError: 'the SP answered urn:oasis:names:tc:SAML:2.0:status:Requester',
        lastHttpStatus: 200,
      }),
      delivery('C', 'backchannel_oidc', 'failed', { lastError: 'HTTP 403', lastHttpStatus: 403 }),
      delivery('D', 'frontchannel_saml_iframe', 'failed', { lastError: 'the application did not answer in time' }),
    ]).applications.map((app) => app.detail);
    expect(details).toEqual([
      'it gave no answer',
      'the SP answered urn:oasis:names:tc:SAML:2.0:status:Requester',
      'it answered with HTTP status 403',
      'it gave no answer',
    ]);
  });

  it('stops offering "try again" once the attempt log is full: each press sends the application more requests', () => {
    const full = { ...delivery('A', 'backchannel_oidc', 'dead'), attemptLog: Array.from({ length: 20 }, () => ({})) };
    expect(logoutStatusOf(done, [full]).applications[0]).toMatchObject({ state: 'no_answer', retryDeliveryId: null });
  });

  it('offers "try again" only for what did not answer or refused', () => {
    const status = logoutStatusOf(done, [
      delivery('A', 'backchannel_oidc', 'succeeded'),
      delivery('B', 'frontchannel_oidc', 'skipped'),
      delivery('C', 'frontchannel_oidc', 'succeeded'),
    ]);
    expect(status.applications.map((app) => app.retryDeliveryId)).toEqual([null, null, null]);
  });

  it('is not settled while deliveries are still being written, even when every one listed ended (an SSF event keeps the operation open)', () => {
    const listed = [
      delivery('A', 'backchannel_oidc', 'succeeded'),
      { ...delivery('stream', 'ssf_poll', 'pending'), providerSessionId: null },
    ];
    expect(logoutStatusOf(open, listed)).toMatchObject({ settled: true, outcome: 'complete' });
    expect(logoutStatusOf({ ...open, writing: true }, listed)).toMatchObject({ settled: false, outcome: null });
  });
});
