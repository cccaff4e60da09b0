import { helpOf, sampleOf } from '../../../../test/support/metrics-text';
import { ManualClock } from '../clock/clock';
import { ConfigError, loadConfig } from '../config/config';
import { SignoffError } from '../errors/signoff-error';
import { checkPublicMetricsAccess, Metrics, metricsTokenMatches, SCRAPE_READ_TIMEOUT_MS } from './metrics';

const TOKEN = 'a-metrics-token-of-at-least-32-characters';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
};

describe('metrics configuration', () => {
  it('is off by default: no token, no listener, 127.0.0.1', () => {
    expect(loadConfig({}).metrics).toEqual({ token: undefined, port: undefined, host: '127.0.0.1' });
    expect(loadConfig({ METRICS_TOKEN: TOKEN, METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' }).metrics).toEqual({
      token: TOKEN,
      port: 9464,
      host: '0.0.0.0',
    });
  });

  it('refuses a short token, a bad port and the idp port itself', () => {
    expect(problemsOf({ METRICS_TOKEN: 'short' })).toEqual([
      expect.stringMatching(/^METRICS_TOKEN: must be at least 32/),
    ]);
    expect(problemsOf({ METRICS_PORT: 'ninety' })).toEqual([
      expect.stringMatching(/^METRICS_PORT: must be a whole number from 0 to 65535/),
    ]);
    expect(problemsOf({ PORT: '8080', METRICS_PORT: '8080' })).toEqual([
      expect.stringMatching(/^METRICS_PORT: must differ from PORT/),
    ]);
  });
});

describe('metricsTokenMatches and the public port', () => {
  it('accepts exactly Bearer <token>', () => {
    expect(metricsTokenMatches(TOKEN, `Bearer ${TOKEN}`)).toBe(true);
    expect(metricsTokenMatches(TOKEN, `bearer ${TOKEN}`)).toBe(true);
    expect(metricsTokenMatches(TOKEN, `Bearer ${TOKEN}x`)).toBe(false);
    expect(metricsTokenMatches(TOKEN, `Bearer ${TOKEN.slice(1)}`)).toBe(false);
    expect(metricsTokenMatches(TOKEN, TOKEN)).toBe(false);
    expect(metricsTokenMatches(TOKEN, `Basic ${TOKEN}`)).toBe(false);
    expect(metricsTokenMatches(TOKEN, undefined)).toBe(false);
  });

  it('is not exposed without a token (not_found), and refuses a wrong one (unauthorized)', () => {
    const off = loadConfig({});
    const on = loadConfig({ METRICS_TOKEN: TOKEN });
    const code = (run: () => void) => {
      try {
        run();
        return 'allowed';
      } catch (error) {
        return (error as SignoffError).code;
      }
    };
    expect(code(() => checkPublicMetricsAccess(off, `Bearer ${TOKEN}`))).toBe('not_found');
    expect(code(() => checkPublicMetricsAccess(on, undefined))).toBe('unauthorized');
    expect(code(() => checkPublicMetricsAccess(on, 'Bearer wrong'))).toBe('unauthorized');
    expect(code(() => checkPublicMetricsAccess(on, `Bearer ${TOKEN}`))).toBe('allowed');
  });
});

describe('Metrics', () => {
  it('keeps a registry per instance: two apps in one process count apart', async () => {
    const one = new Metrics(new ManualClock());
    const two = new Metrics(new ManualClock());
    one.logoutStarted('user_logout');
    one.login('failure');
    const text = (await one.exposition()).body;
    expect(sampleOf(text, 'signoff_logout_operations_started_total', { trigger: 'user_logout' })).toBe(1);
    expect(sampleOf(text, 'signoff_logins_total', { result: 'failure' })).toBe(1);
    const other = (await two.exposition()).body;
    expect(sampleOf(other, 'signoff_logout_operations_started_total', { trigger: 'user_logout' })).toBe(0);
    expect(helpOf(text, 'signoff_logout_deliveries_ended_total')).toMatch(/by channel and status/);
    // prom-client's process metrics, on this registry.
    expect(sampleOf(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sampleOf(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('serves the process’s metrics from one set of collectors, however many apps the process builds', async () => {
    // prom-client's collectors cannot be stopped: one set per app would pile up. With one set, an app
    // built later reports the garbage collections of the process since the first, not since itself.
    const churn = async () => {
      for (let i = 0; i < 50; i++) Array.from({ length: 100_000 }, (_, j) => ({ j }));
      await new Promise((resolve) => setTimeout(resolve, 50)); // the GC entries are delivered asynchronously
    };
    const gcs = async (metrics: Metrics) => {
      const text = (await metrics.exposition()).body;
      return [...text.matchAll(/^nodejs_gc_duration_seconds_count\{[^}]*\} (\d+)$/gm)].reduce(
        (sum, match) => sum + Number(match[1]),
        0,
      );
    };
    const first = new Metrics(new ManualClock());
    await churn();
    expect(await gcs(first)).toBeGreaterThan(0); // collections seen before the later app exists
    const later = new Metrics(new ManualClock());
    await churn();
    const seenByFirst = await gcs(first);
    expect(await gcs(later)).toBeGreaterThanOrEqual(seenByFirst); // read after it: the same count, or more
  });

  it('counts an attempt: its latency, and a retry or the end of its delivery', async () => {
    const metrics = new Metrics(new ManualClock());
    metrics.attemptRecorded('backchannel_saml', 'retry', 0.2);
    metrics.attemptRecorded('backchannel_saml', 'dead', 0.03);
    metrics.redelivered('backchannel_saml');
    const text = (await metrics.exposition()).body;
    const histogram = 'signoff_logout_delivery_attempt_duration_seconds';
    expect(sampleOf(text, `${histogram}_count`, { channel: 'backchannel_saml', result: 'retry' })).toBe(1);
    expect(sampleOf(text, `${histogram}_sum`, { channel: 'backchannel_saml', result: 'retry' })).toBeCloseTo(0.2);
    expect(sampleOf(text, `${histogram}_bucket`, { channel: 'backchannel_saml', result: 'dead', le: '0.025' })).toBe(0);
    expect(sampleOf(text, `${histogram}_bucket`, { channel: 'backchannel_saml', result: 'dead', le: '0.05' })).toBe(1);
    expect(sampleOf(text, 'signoff_logout_delivery_retries_total', { channel: 'backchannel_saml' })).toBe(1);
    expect(sampleOf(text, 'signoff_logout_delivery_redeliveries_total', { channel: 'backchannel_saml' })).toBe(1);
    expect(
      sampleOf(text, 'signoff_logout_deliveries_ended_total', { channel: 'backchannel_saml', status: 'dead' }),
    ).toBe(1);
    expect(
      sampleOf(text, 'signoff_logout_deliveries_ended_total', { channel: 'backchannel_saml', status: 'succeeded' }),
    ).toBe(0);
  });

  it('reads the outbox and the queue once per scrape, at scrape time', async () => {
    const clock = new ManualClock();
    const metrics = new Metrics(clock);
    let reads = 0;
    metrics.readOutboxWith(async () => {
      reads++;
      return { byStatus: { pending: 3, sending: 1 }, oldestCreatedAt: clock.now().getTime() - 90_000 };
    });
    metrics.readQueueWith(async () => ({ waiting: 0, prioritized: 2, active: 1, delayed: 4, failed: 0 }));
    const text = (await metrics.exposition()).body;
    expect(reads).toBe(1);
    expect(sampleOf(text, 'signoff_logout_outbox_deliveries', { status: 'pending' })).toBe(3);
    expect(sampleOf(text, 'signoff_logout_outbox_deliveries', { status: 'queued' })).toBe(0);
    expect(sampleOf(text, 'signoff_logout_outbox_deliveries', { status: 'sending' })).toBe(1);
    expect(sampleOf(text, 'signoff_logout_outbox_oldest_age_seconds')).toBeCloseTo(90, 0);
    expect(sampleOf(text, 'signoff_delivery_queue_jobs', { state: 'delayed' })).toBe(4);
    expect(sampleOf(text, 'signoff_metrics_source_up', { source: 'database' })).toBe(1);
    expect(sampleOf(text, 'signoff_metrics_source_up', { source: 'queue' })).toBe(1);
    await metrics.exposition();
    expect(reads).toBe(2);
  });

  it('reports what it knows when a source does not answer in time, or fails', async () => {
    const metrics = new Metrics(new ManualClock());
    metrics.readOutboxWith(() => Promise.reject(new Error('database gone')));
    let queueReads = 0;
    metrics.readQueueWith(() => {
      queueReads++;
      return new Promise(() => undefined); // Redis down: never answers
    });
    metrics.logoutEnded('failed');
    const started = Date.now();
    const text = (await metrics.exposition()).body;
    expect(Date.now() - started).toBeLessThan(SCRAPE_READ_TIMEOUT_MS + 500);
    expect(sampleOf(text, 'signoff_metrics_source_up', { source: 'database' })).toBe(0);
    expect(sampleOf(text, 'signoff_metrics_source_up', { source: 'queue' })).toBe(0);
    expect(sampleOf(text, 'signoff_delivery_queue_jobs', { state: 'waiting' })).toBeUndefined();
    expect(sampleOf(text, 'signoff_logout_outbox_deliveries', { status: 'pending' })).toBeUndefined();
    expect(sampleOf(text, 'signoff_logout_operations_ended_total', { outcome: 'failed' })).toBe(1);
    // The next scrape waits on the read still under way rather than piling another on it.
    expect(sampleOf((await metrics.exposition()).body, 'signoff_metrics_source_up', { source: 'queue' })).toBe(0);
    expect(queueReads).toBe(1);
  });
});
