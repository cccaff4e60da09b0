// Issue 8, item 3: the outbound policy. Signoff runs here as a deployment would (PUBLIC_URL is not a
// loopback URL, so loopback is not allowed) while it listens on 127.0.0.1 for the test. A client
// registered with only the registration token must not get the worker to POST to loopback or
// internal addresses, by literal address or by a DNS name, and the delivery must not say what is there.
import { LogoutDelivery, LogoutOperation, OidcClient, SamlServiceProvider, SYSTEM, UsersService } from '@signoff/core';
import { CookieAccessInfo } from 'cookiejar';
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { Browser } from '../support/browser';
import { eventually } from '../support/eventually';
import { readBody } from '../support/read-body';
import { startApp, type TestApp } from '../support/test-app';

const PUBLIC_URL = 'https://idp.example';
const REGISTRATION_TOKEN = 'registration-token-of-at-least-32-characters';

/**
 * With an https PUBLIC_URL the browser cookie is `Secure`; the test talks plain http to 127.0.0.1,
 * where a real browser would be behind TLS. This browser keeps sending the cookie there.
 */
class TestBrowser extends Browser {
  override async get(path: string) {
    return this.plain(await super.get(path));
  }

  override async post(path: string, form: Record<string, string>) {
    return this.plain(await super.post(path, form));
  }

  private plain<T>(response: T): T {
    for (const cookie of (
      this.agent as unknown as { jar: { getCookies(access: unknown): Array<{ secure: boolean }> } }
    ).jar.getCookies(CookieAccessInfo.All))
      cookie.secure = false;
    return response;
  }
}

/** Every listener a test opened, closed after the suite even when an expectation failed. */
const opened: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  for (const server of opened) await server.close();
});

/** A TCP listener that counts every connection it gets, and answers none: a service a scan would find. */
async function listener(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const server: TcpServer = createTcpServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const handle = {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  opened.push(handle);
  return handle;
}

/** An RP's back-channel endpoint on 127.0.0.1 that records what it is sent and answers 200. */
async function receiver(): Promise<{ port: number; bodies: URLSearchParams[]; close(): Promise<void> }> {
  const bodies: URLSearchParams[] = [];
  const server: HttpServer = createHttpServer((req, res) => {
    void readBody(req).then((body) => {
      bodies.push(new URLSearchParams(body));
      res.writeHead(200, { 'cache-control': 'no-store' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const handle = {
    port: (server.address() as AddressInfo).port,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  opened.push(handle);
  return handle;
}

const register = (t: TestApp, metadata: Record<string, unknown>) =>
  request(t.url)
    .post('/oauth2/register')
    .set('Authorization', `Bearer ${REGISTRATION_TOKEN}`)
    .send({ redirect_uris: ['https://rp.example/callback'], ...metadata });

let users = 0;

/** A user signs in at Signoff and to the client (code + PKCE, by hand: the issuer is not reachable here), then logs out. */
async function signInAndOut(t: TestApp, client: { client_id: string; client_secret: string; redirect_uris: string[] }) {
  const username = `user${++users}`;
  await t.app.get(UsersService).create({ username, password: 'a long user password' }, SYSTEM);
  const browser = new TestBrowser(t.url);
  await browser.login(username, 'a long user password');
  const verifier = randomBytes(32).toString('base64url');
  const asked = await browser.get(
    `/oauth2/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0],
      scope: 'openid',
      state: 'st',
      nonce: 'no',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    })}`,
  );
  // The client registered itself (/oauth2/register), so it is third-party: the user allows it once (issue 10).
  expect(asked.text).toContain('Allow access?');
  const interaction = /name="interaction" value="([^"]+)"/.exec(asked.text)![1];
  const authorize = await browser.post('/oauth2/authorize/consent', {
    interaction,
    answer: 'allow',
    csrf: browser.csrf,
  });
  expect(authorize.status).toBe(303);
  const code = new URL(authorize.headers.location).searchParams.get('code')!;
  const tokens = await request(t.url)
    .post('/oauth2/token')
    .auth(client.client_id, client.client_secret)
    .type('form')
    .send({ grant_type: 'authorization_code', code, redirect_uri: client.redirect_uris[0], code_verifier: verifier });
  expect(tokens.status).toBe(200);
  await browser.get('/logout');
  await browser.submit('/logout', { csrf: browser.csrf });
  expect(await browser.signedInAs()).toBeNull();
}

const clientRow = (t: TestApp, clientId: string) =>
  t.app.get(DataSource).getRepository(OidcClient).findOneByOrFail({ clientId });

/** The client's one back-channel delivery once it is final, with its operation. */
async function finalDelivery(t: TestApp, providerId: string) {
  const db = t.app.get(DataSource);
  const delivery = await eventually(async () => {
    const found = await db.getRepository(LogoutDelivery).findOneBy({ providerId });
    return found && ['succeeded', 'failed', 'dead'].includes(found.status) ? found : null;
  });
  expect(delivery).not.toBeNull();
  const operation = await eventually(() =>
    db
      .getRepository(LogoutOperation)
      .findOne({ where: { id: delivery!.operationId } })
      .then((op) => (op?.completedAt ? op : null)),
  );
  return { delivery: delivery!, operation: operation! };
}

describe('outbound policy, PUBLIC_URL not loopback', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startApp(
      {
        PUBLIC_URL,
        OIDC_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
        DELIVERY_TIMEOUT: '1s',
        DELIVERY_ATTEMPTS: '3',
        BOOTSTRAP_ADMIN_USERNAME: 'root',
        BOOTSTRAP_ADMIN_PASSWORD: 'a long root password',
      },
      { withWorker: true },
    );
    const root = (await t.app.get(UsersService).findByUsername('root'))!;
    token = (await t.app.get(ApiTokensService).create(root, 'test', null, SYSTEM)).token;
  });
  afterAll(() => t.close());

  it('refuses at registration a back-channel URI at a literal loopback, link-local or private address, in every spelling', async () => {
    const scan = await listener();
    const before = await t.app.get(DataSource).getRepository(OidcClient).count();
    const refused = [
      `http://127.0.0.1:${scan.port}/bc`,
      `http://[::1]:${scan.port}/bc`,
      `http://2130706433:${scan.port}/bc`,
      `http://0x7f.1:${scan.port}/bc`,
      `http://127.1:${scan.port}/bc`,
      `https://[::ffff:127.0.0.1]:${scan.port}/bc`,
      'https://169.254.169.254/latest/meta-data/',
      'https://10.0.0.1/bc',
      'https://[fd00::1]/bc',
      'https://0.0.0.0/bc',
    ];
    for (const uri of refused) {
      const response = await register(t, { backchannel_logout_uri: uri });
      expect([uri, response.status, response.body.error]).toEqual([uri, 400, 'invalid_client_metadata']);
      expect(response.body.error_description).toMatch(
        /^backchannel_logout_uri: \S+ is a (loopback|link-local|private|unique-local|unspecified) address, which the outbound policy does not allow/,
      );
    }
    expect(await t.app.get(DataSource).getRepository(OidcClient).count()).toBe(before);
    expect(scan.connections()).toBe(0);
  });

  it('leaves front-channel URIs alone: the browser loads them, not Signoff', async () => {
    const response = await register(t, {
      redirect_uris: ['http://127.0.0.1:9/callback'],
      frontchannel_logout_uri: 'http://127.0.0.1:9/fc',
    });
    expect(response.status).toBe(201);
  });

  it('registers a DNS name that resolves to loopback, but the delivery is blocked at connect time and says only that', async () => {
    const scan = await listener();
    const registered = await register(t, { backchannel_logout_uri: `http://localhost:${scan.port}/bc` });
    expect(registered.status).toBe(201);
    const { providerId } = await clientRow(t, registered.body.client_id);

    await signInAndOut(t, registered.body);
    const { delivery, operation } = await finalDelivery(t, providerId);
    expect(delivery).toMatchObject({
      channel: 'backchannel_oidc',
      status: 'failed',
      attempts: 1,
      lastHttpStatus: null,
      lastError: 'blocked by outbound policy',
    });
    expect(delivery.attemptLog.map((attempt) => attempt.error)).toEqual(['blocked by outbound policy']);
    expect(operation.outcome).toBe('failed');
    expect(scan.connections()).toBe(0);
  });

  it('blocks a literal address stored before the policy existed, at connect time too', async () => {
    const scan = await listener();
    const registered = await register(t, { backchannel_logout_uri: 'https://rp.example/bc' });
    const row = await clientRow(t, registered.body.client_id);
    await t.app
      .get(DataSource)
      .getRepository(OidcClient)
      .update({ providerId: row.providerId }, { backchannelLogoutUri: `http://127.0.0.1:${scan.port}/bc` });

    await signInAndOut(t, registered.body);
    const { delivery } = await finalDelivery(t, row.providerId);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, lastError: 'blocked by outbound policy' });
    expect(scan.connections()).toBe(0);
  });

  it('refuses a SAML SP whose back-channel SingleLogoutService is at a literal internal address', async () => {
    const before = await t.app.get(DataSource).getRepository(SamlServiceProvider).count();
    for (const [binding, url] of [
      ['soap', 'http://127.0.0.1:8080/slo'],
      ['post', 'https://169.254.169.254/slo'],
    ]) {
      const response = await request(t.url)
        .post('/api/v1/providers')
        .set('Authorization', `Bearer ${token}`)
        .send({
          protocol: 'saml',
          slug: `sp-${binding}`,
          name: 'SP',
          saml: {
            entityId: `https://sp-${binding}.example/metadata`,
            acsUrls: ['https://sp.example/acs'],
            singleLogoutServices: [{ binding, url }],
            logoutMethod: 'backchannel',
          },
        });
      expect(response.status).toBe(400);
      expect(response.body.message).toMatch(
        new RegExp(
          `^SingleLogoutService ${url.replace(/[.]/g, '\\.')}: \\S+ is a (loopback|link-local) address, which the outbound policy does not allow`,
        ),
      );
    }
    expect(await t.app.get(DataSource).getRepository(SamlServiceProvider).count()).toBe(before);
  });
});

describe('outbound policy opened by OUTBOUND_ALLOW', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(
      {
        PUBLIC_URL,
        OIDC_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
        OUTBOUND_ALLOW: '127.0.0.1/32',
        DELIVERY_TIMEOUT: '1s',
      },
      { withWorker: true },
    );
  });
  afterAll(() => t.close());

  it('delivers to a DNS name and to a literal address in an allowed CIDR', async () => {
    for (const host of ['localhost', '127.0.0.1']) {
      const rp = await receiver();
      const registered = await register(t, { backchannel_logout_uri: `http://${host}:${rp.port}/bc` });
      expect(registered.status).toBe(201);
      const { providerId } = await clientRow(t, registered.body.client_id);

      await signInAndOut(t, registered.body);
      const { delivery, operation } = await finalDelivery(t, providerId);
      expect(delivery).toMatchObject({ status: 'succeeded', attempts: 1, lastHttpStatus: 200, lastError: null });
      expect(operation.outcome).toBe('complete');
      expect(rp.bodies).toHaveLength(1);
      expect(rp.bodies[0].get('logout_token')).toEqual(expect.any(String));
    }
  });

  it('still refuses what the allowance does not cover', async () => {
    const response = await register(t, { backchannel_logout_uri: 'https://169.254.169.254/bc' });
    expect(response.status).toBe(400);
    expect(response.body.error_description).toMatch(/outbound policy/);
  });
});
