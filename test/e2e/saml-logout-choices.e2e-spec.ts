import {
  FINAL_STATUSES,
  LogoutDelivery,
  LogoutOperation,
  SamlServiceProvider,
  SYSTEM,
  UsersService,
} from '@signoff/core';
import { FRONTCHANNEL_ONLY_WARNING } from '@signoff/saml';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource, In } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { runCli } from '../../apps/idp/src/cli';
import { eventually } from '../support/eventually';
import { type PostReply, SamlSpFarm } from '../support/saml-sps';
import { spKeys } from '../support/sp-keys';
import { startApp, type TestApp } from '../support/test-app';

// Issue 10, "Logout choices": sensible SAML defaults at import (SOAP when offered, else the front
// channel with a warning, and logouts without a browser recorded as skipped for such SPs), and the
// server-side POST binding reading the SP's answer wherever the SP puts it.

let t: TestApp;
let farm: SamlSpFarm;
let token: string;
let users = 0;
const auth = () => ({ Authorization: `Bearer ${token}` });
const db = () => t.app.get(DataSource);

beforeAll(async () => {
  t = await startApp({}, { withWorker: true });
  farm = await SamlSpFarm.start(t);
  const root = await t.app
    .get(UsersService)
    .create({ username: 'root', password: 'root password', isAdmin: true }, SYSTEM);
  token = (await t.app.get(ApiTokensService).create(root, 'test', null, SYSTEM)).token;
});
afterAll(async () => {
  await farm?.close();
  await t?.close();
});

/** A fresh user signed in, in one browser, at each of these farm SPs. */
const signedInAt = (...names: string[]) => farm.freshUserSignedIn(...names);

/** The deliveries of these SPs once every one is final, by SP name. */
async function finalDeliveries(names: string[]) {
  const read = () =>
    db()
      .getRepository(LogoutDelivery)
      .find({ where: { provider: { slug: In(names) } }, relations: { provider: true } });
  await eventually(async () => {
    const rows = await read();
    return rows.length === names.length && rows.every((row) => FINAL_STATUSES.includes(row.status));
  }, 20_000);
  return Object.fromEntries((await read()).map((row) => [row.provider.slug, row]));
}

describe('server-side POST: the SP answers as it would answer a browser', () => {
  const REQUESTER = 'urn:oasis:names:tc:SAML:2.0:status:Requester';
  let forger = '';

  beforeAll(async () => {
    forger = (await spKeys('forger.example')).privateKey; // a key no SP registered
  });

  it.each<[string, PostReply | ((name: string) => PostReply), object]>([
    ['a plain 200', { how: 'empty' }, { status: 'succeeded', lastHttpStatus: 200, lastError: null }],
    [
      'a 302 to a page of its own (not followed)',
      { how: 'page' },
      { status: 'succeeded', lastHttpStatus: 302, lastError: null },
    ],
    [
      'a 302 carrying a signed Success LogoutResponse (HTTP-Redirect)',
      { how: 'redirect' },
      { status: 'succeeded', lastHttpStatus: 302, lastError: null },
    ],
    [
      'an auto-posting form carrying a signed Success LogoutResponse (HTTP-POST)',
      { how: 'form' },
      { status: 'succeeded', lastHttpStatus: 200, lastError: null },
    ],
    [
      'a 302 carrying a LogoutResponse that says Requester',
      { how: 'redirect', status: REQUESTER },
      { status: 'failed', lastHttpStatus: 302, lastError: `the SP answered ${REQUESTER}` },
    ],
    [
      'a form carrying a LogoutResponse that says Requester',
      { how: 'form', status: REQUESTER },
      { status: 'failed', lastHttpStatus: 200, lastError: `the SP answered ${REQUESTER}` },
    ],
    [
      'a LogoutResponse to another request',
      { how: 'form', inResponseTo: '_not-our-request' },
      { status: 'failed', lastError: 'the LogoutResponse answers another request' },
    ],
    [
      'a form whose LogoutResponse is signed with a key the SP never registered',
      () => ({ how: 'form', key: forger }),
      { status: 'failed', lastError: expect.stringMatching(/^the SP's LogoutResponse was refused: .*does not verify/) },
    ],
    [
      'a redirect whose LogoutResponse is signed with a key the SP never registered',
      () => ({ how: 'redirect', key: forger }),
      { status: 'failed', lastError: expect.stringMatching(/^the SP's LogoutResponse was refused: .*does not verify/) },
    ],
    [
      "another SP's own signed LogoutResponse",
      () => ({ how: 'form', issuer: 'https://post-other.example/metadata', key: farm.keyOf('post-other') }),
      { status: 'failed', lastError: 'the LogoutResponse comes from another SP' },
    ],
  ])('%s', async (_name, reply, expected) => {
    const name = `post-${++users}`;
    if (!farm.sps.has('post-other')) await farm.add('post-other', 'HTTP-POST', 'backchannel');
    await farm.add(name, 'HTTP-POST', 'backchannel');
    farm.postReplies.set(name, typeof reply === 'function' ? reply(name) : reply);
    const { browser } = await signedInAt(name);
    const hitsBefore = farm.pageHits.length;
    await browser.get('/logout');
    await browser.submit('/logout', { csrf: browser.csrf });
    const { [name]: delivery } = await finalDeliveries([name]);
    expect(delivery).toMatchObject({ channel: 'backchannel_saml', attempts: 1, ...expected });
    expect(farm.received.filter((entry) => entry.sp === name)).toHaveLength(1); // the SP did get the request
    expect(farm.pageHits.slice(hitsBefore)).toEqual([]); // no redirect was followed
  });

  it('still retries an SP that answers 503 (its answer is not read: it took nothing)', async () => {
    await farm.add('post-down', 'HTTP-POST', 'backchannel');
    const { browser } = await signedInAt('post-down');
    farm.down.add('post-down');
    await browser.get('/logout');
    await browser.submit('/logout', { csrf: browser.csrf });
    const row = await eventually(async () => {
      const found = await db()
        .getRepository(LogoutDelivery)
        .findOne({ where: { provider: { slug: 'post-down' } } });
      // Wait for the first attempt's outcome, not its claim: while `sending`, attempts is already 1.
      return found && found.attempts >= 1 && found.status !== 'sending' ? found : null;
    });
    expect(row).toMatchObject({ status: 'queued', lastHttpStatus: 503 });
  });
});

describe('defaults at import', () => {
  const create = (saml: Record<string, unknown>) =>
    request(t.url).post('/api/v1/providers').set(auth()).send({ protocol: 'saml', saml });
  const sp = (host: string, singleLogoutServices: Array<{ binding: string; url: string }>) => ({
    entityId: `https://${host}/metadata`,
    acsUrls: [`https://${host}/acs`],
    singleLogoutServices,
  });

  it('chooses back-channel SOAP when the SP offers SOAP beside the front-channel bindings', async () => {
    const created = await create(
      sp('both.example', [
        { binding: 'redirect', url: 'https://both.example/slo' },
        { binding: 'post', url: 'https://both.example/slo/post' },
        { binding: 'soap', url: 'https://both.example/slo/soap' },
      ]),
    );
    expect(created.status).toBe(201);
    expect(created.body.saml).toMatchObject({
      logoutMethod: 'backchannel',
      singleLogout: { binding: 'soap', url: 'https://both.example/slo/soap' },
      warnings: [],
    });
  });

  it('chooses the front channel otherwise, and the answer warns what that cannot do', async () => {
    const created = await create(
      sp('front.example', [
        { binding: 'redirect', url: 'https://front.example/slo' },
        { binding: 'post', url: 'https://front.example/slo/post' },
      ]),
    );
    expect(created.status).toBe(201);
    expect(created.body.saml).toMatchObject({
      logoutMethod: 'frontchannel_iframe',
      singleLogout: { binding: 'redirect' },
      warnings: [FRONTCHANNEL_ONLY_WARNING],
    });
    expect(FRONTCHANNEL_ONLY_WARNING).toMatch(/without a browser .* cannot reach it and are recorded as skipped/);
  });

  it('does not warn when the administrator chose the front channel, or the SP has no SingleLogoutService', async () => {
    const chosen = await create({
      ...sp('chosen.example', [{ binding: 'redirect', url: 'https://chosen.example/slo' }]),
      logoutMethod: 'frontchannel_native',
    });
    expect(chosen.body.saml).toMatchObject({ logoutMethod: 'frontchannel_native', warnings: [] });
    const none = await create(sp('no-slo.example', []));
    expect(none.body.saml).toMatchObject({ singleLogout: null, warnings: [] });
  });

  it('refuses a default SOAP endpoint the outbound policy refuses, saying how to choose otherwise, and registers nothing', async () => {
    const before = await db().getRepository(SamlServiceProvider).count();
    const refused = await create(
      sp('internal.example', [
        { binding: 'redirect', url: 'https://internal.example/slo' },
        { binding: 'soap', url: 'http://10.0.0.5/slo/soap' },
      ]),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(
      /^SingleLogoutService http:\/\/10\.0\.0\.5\/slo\/soap: .*allow the address with OUTBOUND_ALLOW, or choose a front-channel logoutMethod\.$/,
    );
    expect(await db().getRepository(SamlServiceProvider).count()).toBe(before);
    const front = await create({
      ...sp('internal.example', [
        { binding: 'redirect', url: 'https://internal.example/slo' },
        { binding: 'soap', url: 'http://10.0.0.5/slo/soap' },
      ]),
      logoutMethod: 'frontchannel_iframe',
    });
    expect(front.body.saml).toMatchObject({
      logoutMethod: 'frontchannel_iframe',
      singleLogout: { binding: 'redirect' },
    });
  });

  it('import-saml-sp prints the warning too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signoff-defaults-'));
    try {
      const file = join(dir, 'sp.xml');
      writeFileSync(
        file,
        `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://cli-front.example/sp"><SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
          '<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://cli-front.example/slo"/>' +
          '<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://cli-front.example/acs" index="0"/></SPSSODescriptor></EntityDescriptor>',
      );
      const output: string[] = [];
      expect(await runCli(['import-saml-sp', file], t.config, (line) => output.push(line))).toBe(0);
      expect(output).toEqual([
        expect.stringMatching(/logout frontchannel_iframe over redirect$/),
        `warning: ${FRONTCHANNEL_ONLY_WARNING}`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('records a logout without a browser as skipped for a front-channel SP, and the operation as partial', async () => {
    await farm.add('frontonly', 'HTTP-Redirect', 'frontchannel_iframe');
    await farm.add('soaponly', 'SOAP', 'backchannel');
    const { user } = await signedInAt('frontonly', 'soaponly');
    const deactivated = await request(t.url).post(`/api/v1/users/${user.id}/deactivate`).set(auth());
    expect(deactivated.status).toBe(202);
    const deliveries = await finalDeliveries(['frontonly', 'soaponly']);
    expect(deliveries.frontonly).toMatchObject({
      channel: 'frontchannel_saml_iframe',
      status: 'skipped',
      attempts: 0,
      lastError:
        "skipped: this application is logged out in the user's browser only (front channel), and this logout had no browser",
    });
    expect(deliveries.soaponly).toMatchObject({ channel: 'backchannel_saml', status: 'succeeded' });
    const operation = await eventually(async () => {
      const row = await db().getRepository(LogoutOperation).findOneBy({ id: deliveries.frontonly.operationId });
      return row?.completedAt ? row : null;
    });
    expect(operation).toMatchObject({ trigger: 'user_deactivated', outcome: 'partial' });
    expect(farm.received.filter((entry) => entry.sp === 'soaponly')).toHaveLength(1);
  });
});
