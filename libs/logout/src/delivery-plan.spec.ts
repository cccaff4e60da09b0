import type { DeliveryChannel } from '@signoff/core';
import {
  NO_BROWSER_REASON,
  OTHER_DEVICE_REASON,
  planDeliveries,
  type PlannedDelivery,
  planSignals,
  type SessionToTell,
} from './delivery-plan';

const NOW = new Date('2030-01-02T03:04:05.000Z');

/** Ids d1, d2, … in the order the plan asks for them. */
function counter(): () => string {
  let n = 0;
  return () => `d${++n}`;
}

function session(id: string, channels: DeliveryChannel[]): SessionToTell {
  return { session: { id, providerId: `provider-of-${id}` }, channels };
}

function plan(sessions: SessionToTell[], withBrowser: boolean): PlannedDelivery[] {
  return planDeliveries({ operationId: 'op1', sessions, withBrowser, now: NOW, newId: counter() });
}

/** What tells one row from another: who, over which channel, and where it stands. */
const brief = (row: PlannedDelivery) => [row.providerSessionId, row.channel, row.status];

describe('planDeliveries', () => {
  const pending = { status: 'pending', lastError: null, completedAt: null };
  const skipped = { status: 'skipped', lastError: NO_BROWSER_REASON, completedAt: NOW };

  it.each<[string, DeliveryChannel, boolean, object]>([
    ['an OIDC back channel, with a browser', 'backchannel_oidc', true, pending],
    ['an OIDC back channel, without a browser', 'backchannel_oidc', false, pending],
    ['a SAML back channel, without a browser', 'backchannel_saml', false, pending],
    ['an OIDC front channel, with a browser', 'frontchannel_oidc', true, pending],
    ['a SAML iframe, with a browser', 'frontchannel_saml_iframe', true, pending],
    ['a SAML native step, with a browser', 'frontchannel_saml_native', true, pending],
    ['an OIDC front channel, without a browser', 'frontchannel_oidc', false, skipped],
    ['a SAML iframe, without a browser', 'frontchannel_saml_iframe', false, skipped],
    ['a SAML native step, without a browser', 'frontchannel_saml_native', false, skipped],
  ])('%s', (_name, channel, withBrowser, expected) => {
    const [row] = plan([session('s1', [channel])], withBrowser);
    expect(row).toEqual({
      id: 'd1',
      operationId: 'op1',
      providerSessionId: 's1',
      providerId: 'provider-of-s1',
      channel,
      attempts: 0,
      nextAttemptAt: null,
      leaseUntil: null,
      lastHttpStatus: null,
      messageId: null,
      attemptLog: [],
      event: null,
      createdAt: NOW,
      updatedAt: NOW,
      ...expected,
    });
  });

  it("writes one row per (session, channel), sessions in the given order and each session's channels in its order", () => {
    const rows = plan(
      [
        session('s1', ['backchannel_oidc', 'frontchannel_oidc']),
        session('s2', ['frontchannel_saml_native']),
        session('s3', ['frontchannel_oidc', 'backchannel_oidc']),
      ],
      true,
    );
    expect(rows.map(brief)).toEqual([
      ['s1', 'backchannel_oidc', 'pending'],
      ['s1', 'frontchannel_oidc', 'pending'],
      ['s2', 'frontchannel_saml_native', 'pending'],
      ['s3', 'frontchannel_oidc', 'pending'],
      ['s3', 'backchannel_oidc', 'pending'],
    ]);
    expect(rows.map((row) => row.id)).toEqual(['d1', 'd2', 'd3', 'd4', 'd5']);
  });

  it('without a browser, skips only the front-channel rows of a session told over both channels', () => {
    const rows = plan([session('s1', ['frontchannel_oidc', 'backchannel_oidc'])], false);
    expect(rows.map(brief)).toEqual([
      ['s1', 'frontchannel_oidc', 'skipped'],
      ['s1', 'backchannel_oidc', 'pending'],
    ]);
  });

  it('with a browser, skips the front channel of a session that is elsewhere (another device), saying so', () => {
    const here = session('here', ['frontchannel_oidc']);
    const there = { ...session('there', ['frontchannel_oidc', 'backchannel_oidc']), elsewhere: true };
    const rows = plan([here, there], true);
    expect(rows.map((row) => [row.providerSessionId, row.channel, row.status, row.lastError])).toEqual([
      ['here', 'frontchannel_oidc', 'pending', null],
      ['there', 'frontchannel_oidc', 'skipped', OTHER_DEVICE_REASON],
      ['there', 'backchannel_oidc', 'pending', null],
    ]);
  });

  it('writes nothing for a session with no channels (the protocol chose not to tell it), and goes on with the next', () => {
    const rows = plan([session('s1', []), session('s2', ['backchannel_saml']), session('s3', [])], true);
    expect(rows.map(brief)).toEqual([['s2', 'backchannel_saml', 'pending']]);
  });

  it('writes nothing when no session is ending', () => {
    expect(plan([], true)).toEqual([]);
    expect(plan([], false)).toEqual([]);
  });

  it("does not decide who is left out: the initiating application's session gets rows if its protocol gave it channels", () => {
    // Leaving out the application that asked is each protocol's decision (LogoutProtocol.channels);
    // the plan has no notion of an initiator, so it cannot second-guess it.
    const rows = plan([session('initiator', ['frontchannel_oidc']), session('other', ['frontchannel_oidc'])], true);
    expect(rows.map((row) => row.providerSessionId)).toEqual(['initiator', 'other']);
  });

  it('gives every row a fresh id from the id maker and its own attempt log', () => {
    const rows = plan(
      [session('s1', ['backchannel_oidc', 'frontchannel_oidc']), session('s2', ['backchannel_oidc'])],
      true,
    );
    expect(new Set(rows.map((row) => row.id)).size).toBe(3);
    rows[0].attemptLog.push({
      at: NOW.toISOString(),
      ms: 1,
      httpStatus: 200,
      result: 'succeeded',
      error: null,
      messageId: null,
    });
    expect(rows[1].attemptLog).toEqual([]);
  });
});

describe('planSignals', () => {
  const event = (txn: string) => ({
    iat: 1,
    txn,
    sub_id: { format: 'opaque', id: 'x' },
    events: { 'https://example.com/event': {} },
  });

  it('writes one row per event and stream, with no provider session, pending or held for a paused stream', () => {
    let next = 0;
    const rows = planSignals({ operationId: 'op1', now: NOW, newId: () => `e${++next}` }, [
      { receiverId: 'r1', channel: 'ssf_push', held: false, event: event('op1') },
      { receiverId: 'r2', channel: 'ssf_poll', held: true, event: event('op1') },
    ]);
    expect(rows.map((row) => [row.id, row.providerId, row.providerSessionId, row.channel, row.status])).toEqual([
      ['e1', 'r1', null, 'ssf_push', 'pending'],
      ['e2', 'r2', null, 'ssf_poll', 'held'],
    ]);
    expect(rows[0]).toMatchObject({ operationId: 'op1', attempts: 0, event: event('op1'), completedAt: null });
  });
});
