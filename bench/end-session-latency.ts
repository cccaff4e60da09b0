// Benchmark 1 of the OIDC issue: RP-initiated logout latency for a user signed in to 20 RPs whose
// back-channel endpoints each take 2 s to answer, Signoff beside panva's oidc-provider (npm) with
// backchannelLogout, measured in the same run. The figure is the time from the browser's request to
// the end_session endpoint until it gets the redirect to the post_logout_redirect_uri.
//   npm run bench:end-session        (ROUNDS=15 CLIENTS=20 DELAY_MS=2000 to change the set-up)
import { FINAL_STATUSES, LogoutDelivery, SYSTEM, UsersService } from '@signoff/core';
import { DataSource, In, Not } from 'typeorm';
import { Browser } from '../test/support/browser';
import { login, registerClient, type TestClient } from '../test/support/relying-party';
import { freePort, startApp } from '../test/support/test-app';
import { ensureRedis, ms, percentile, runBench, startReceiver } from './support';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const CLIENTS = Number(process.env.CLIENTS ?? 20);
const DELAY_MS = Number(process.env.DELAY_MS ?? 2000);

async function signoff(receiverUrl: string): Promise<number[]> {
  const t = await startApp({ LOG_LEVEL: 'silent' }, { withWorker: true });
  await t.app.get(UsersService).create({ username: 'alice', password: 'alice password' }, SYSTEM);
  const clients: TestClient[] = [];
  for (let i = 0; i < CLIENTS; i++)
    clients.push(await registerClient(t, { backchannel_logout_uri: `${receiverUrl}/bcl/${i}` }));
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const browser = new Browser(t.url);
    await browser.login('alice', 'alice password');
    const hints: string[] = [];
    for (const rp of clients) hints.push((await login(rp, browser)).tokens.id_token!);
    const hint = hints[0];
    const started = performance.now();
    const response = await browser.get(
      `/oauth2/end_session?${new URLSearchParams({ id_token_hint: hint, post_logout_redirect_uri: `${clients[0].rp.url}/logged-out` })}`,
    );
    samples.push(performance.now() - started);
    if (response.status !== 303) throw new Error(`end_session answered ${response.status}`);
  }
  const deliveries = t.app.get(DataSource).getRepository(LogoutDelivery);
  for (
    let waited = 0;
    waited < 60_000 && (await deliveries.count({ where: { status: Not(In(FINAL_STATUSES)) } }));
    waited += 200
  ) {
    await new Promise((resolve) => setTimeout(resolve, 200)); // the applications are still being told
  }
  const states = await t.app
    .get(DataSource)
    .getRepository(LogoutDelivery)
    .createQueryBuilder('d')
    .select('d.status', 'status')
    .addSelect('COUNT(*)', 'n')
    .addSelect('MAX(d.last_error)', 'error')
    .groupBy('d.status')
    .getRawMany();
  console.log(
    `signoff deliveries: ${states.map((row) => `${row.n} ${row.status}${row.error ? ` (${row.error})` : ''}`).join(', ')}`,
  );
  for (const rp of clients) await rp.rp.stop();
  await t.close();
  return samples;
}

async function oidcProvider(receiverUrl: string): Promise<number[]> {
  const { default: Provider } = await import('oidc-provider');
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const redirect = 'http://127.0.0.1:9/cb';
  const clients = Array.from({ length: CLIENTS }, (_, i) => ({
    client_id: `c${i}`,
    client_secret: `secret-${i}`.padEnd(40, 'x'),
    redirect_uris: [redirect],
    post_logout_redirect_uris: ['http://127.0.0.1:9/bye'],
    backchannel_logout_uri: `${receiverUrl}/bcl/op${i}`,
    backchannel_logout_session_required: true,
  }));
  const provider = new Provider(issuer, {
    clients,
    cookies: { keys: ['bench-cookie-key'] },
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    features: {
      devInteractions: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    // oidc-provider refuses loopback targets and cuts requests at 2.5 s by default; both would
    // make it look faster than it is here, so let it reach the local receivers and wait for them.
    fetch: (url: string, options: Record<string, unknown>) => {
      delete options.dispatcher;
      options.signal = AbortSignal.timeout(DELAY_MS * 5);
      return globalThis.fetch(url, options);
    },
  } as never);
  let notified = 0;
  const failures: string[] = [];
  provider.on('backchannel.success', () => notified++);
  provider.on('backchannel.error', (_ctx: unknown, error: Error) => failures.push(error.message));
  const server = provider.listen(port, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));

  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const jar = new Map<string, string>();
    const go = async (url: string, init: RequestInit = {}) => {
      const response = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: {
          ...(init.headers as Record<string, string>),
          cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        },
      });
      for (const cookie of response.headers.getSetCookie()) {
        const [pair] = cookie.split(';');
        const eq = pair.indexOf('=');
        if (/expires=Thu, 01 Jan 1970/i.test(cookie)) jar.delete(pair.slice(0, eq));
        else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      return response;
    };
    let hint = '';
    for (const client of clients) {
      let url = `${issuer}/auth?${new URLSearchParams({ client_id: client.client_id, response_type: 'code', scope: 'openid', redirect_uri: redirect, nonce: 'n', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`;
      while (!url.startsWith(redirect)) {
        const response = await go(url);
        if (response.status === 200 && url.includes('/interaction/')) {
          const prompt = /name="prompt" value="(\w+)"/.exec(await response.text())![1];
          const body = new URLSearchParams({
            prompt,
            ...(prompt === 'login' ? { login: 'alice', password: 'x' } : {}),
          });
          url = new URL(
            (
              await go(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
            ).headers.get('location')!,
            url,
          ).href;
        } else {
          url = new URL(response.headers.get('location')!, url).href;
        }
      }
      if (!hint) {
        const code = new URL(url).searchParams.get('code')!;
        const token = await fetch(`${issuer}/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
          },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            redirect_uri: redirect,
            code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
          }),
        });
        hint = ((await token.json()) as { id_token: string }).id_token;
      }
    }
    // Its end_session always shows a confirmation form; the page's POST is where it notifies the RPs.
    const started = performance.now();
    const page = await (
      await go(
        `${issuer}/session/end?${new URLSearchParams({ id_token_hint: hint, post_logout_redirect_uri: 'http://127.0.0.1:9/bye' })}`,
      )
    ).text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)![1];
    const done = await go(`${issuer}/session/end/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }),
    });
    samples.push(performance.now() - started);
    if (done.status !== 303) throw new Error(`oidc-provider answered ${done.status}`);
  }
  server.close();
  console.log(
    `oidc-provider back-channel: ${notified} succeeded, ${failures.length} failed${failures[0] ? ` (${failures[0]})` : ''}`,
  );
  return samples;
}

async function main() {
  await ensureRedis();
  const receiver = await startReceiver(DELAY_MS);
  const ours = await signoff(receiver.url);
  const theirs = await oidcProvider(receiver.url);
  const row = (name: string, samples: number[]) =>
    `${name.padEnd(14)} median ${ms(percentile(samples, 50)).padStart(10)}   p99 ${ms(percentile(samples, 99)).padStart(10)}`;
  console.log(`end_session latency, ${CLIENTS} back-channel RPs answering after ${DELAY_MS} ms, ${ROUNDS} rounds each`);
  console.log(row('signoff', ours));
  console.log(row('oidc-provider', theirs));
  console.log(
    `ratio (signoff / oidc-provider): median ${(percentile(ours, 50) / percentile(theirs, 50)).toFixed(4)}, p99 ${(percentile(ours, 99) / percentile(theirs, 99)).toFixed(4)}`,
  );
  console.log(`back-channel requests received: ${receiver.received()} (expected ${2 * CLIENTS * ROUNDS})`);
  await receiver.close();
}

runBench(main);
