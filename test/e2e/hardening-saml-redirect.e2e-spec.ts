import { LogoutOperation, SamlSession, SYSTEM, UsersService } from '@signoff/core';
import request, { type Response } from 'supertest';
import { DataSource } from 'typeorm';
import { Browser } from '../support/browser';
import { type AttackSp, type Issued, registerAttackSp, signInAt } from '../support/saml-attack';
import { logoutRequestXml, toRedirect } from '../support/saml-test-sp';
import { startApp, type TestApp } from '../support/test-app';

// Issue 8, item 1: an HTTP-Redirect message must be verified and processed from ONE reading of the raw
// query. The attack: a forged, unsigned LogoutRequest for alice first, ~1,000 filler keys, then a
// genuine query signed by the SP (node-saml) for mallory's own logout. A parser that stops after
// 1,000 keys reads the forged message; a verifier that walks the whole query (last value wins) checks
// the genuine signature. Signoff must refuse such a query and end nothing.

let t: TestApp;
let db: DataSource;
let sp: AttackSp;
let aliceBrowser: Browser;
let malloryBrowser: Browser;
let alice: Issued;
let mallory: Issued;

beforeAll(async () => {
  t = await startApp();
  db = t.app.get(DataSource);
  for (const username of ['alice', 'mallory'])
    await t.app
      .get(UsersService)
      .create({ username, password: `${username} password`, email: `${username}@example.com` }, SYSTEM);
  sp = await registerAttackSp(t, 'shop', { import: { requireSignedRequests: true } });
  aliceBrowser = new Browser(t.url);
  malloryBrowser = new Browser(t.url);
  alice = await signInAt(t, sp, aliceBrowser, 'alice');
  mallory = await signInAt(t, sp, malloryBrowser, 'mallory');
});
afterAll(() => t?.close());

/** The query of a LogoutRequest for mallory's own session, signed by the SP over the Redirect binding (node-saml). */
async function signedLogoutQuery(relayState = 'r'): Promise<string> {
  const url = await sp.saml.getLogoutUrlAsync(mallory.profile, relayState, {});
  expect(url.startsWith(`${t.url}/saml/slo?`)).toBe(true);
  return url.slice(url.indexOf('?') + 1);
}

/** An unsigned LogoutRequest for alice (no SessionIndex: every session of her NameID), deflated for the Redirect binding. */
function forgedForAlice(): string {
  return toRedirect(
    logoutRequestXml({
      issueInstant: t.clock.now().toISOString(),
      destination: `${t.url}/saml/slo`,
      issuer: sp.entityId,
      nameId: alice.profile.nameID,
      format: alice.profile.nameIDFormat,
    }),
  );
}

const padding = (count: number) => Array.from({ length: count }, (_, i) => `f${i}=`).join('&');

function expectRefused(response: Response, reason: string): void {
  expect([response.status, response.headers.location]).toEqual([400, undefined]);
  expect(/<p class="error">([^<]*)/.exec(response.text)?.[1]).toContain(reason);
  expect(response.text).not.toContain('name="SAMLResponse"');
}

async function expectNobodySignedOut(): Promise<void> {
  expect(await aliceBrowser.signedInAs()).toBe('alice');
  expect(await malloryBrowser.signedInAs()).toBe('mallory');
  for (const issued of [alice, mallory])
    expect(await db.getRepository(SamlSession).findOneByOrFail({ id: issued.sessionId })).toMatchObject({
      endedAt: null,
      state: 'active',
    });
  expect(await db.getRepository(LogoutOperation).count()).toBe(0);
}

describe('HTTP-Redirect: one reading of the query (issue 8, item 1)', () => {
  it('refuses a forged LogoutRequest smuggled in front of 999 filler keys and a genuine signed query', async () => {
    const attack = `SAMLRequest=${forgedForAlice()}&${padding(999)}&${await signedLogoutQuery()}`;
    expectRefused(
      await request(t.url).get(`/saml/slo?${attack}`).set('Accept', 'text/html'),
      'more than 32 parameters',
    );
    await expectNobodySignedOut();
  });

  it('refuses the same smuggling at /saml/sso', async () => {
    const url = await sp.saml.getAuthorizeUrlAsync('', undefined, {});
    const attack = `SAMLRequest=x&${padding(999)}&${url.slice(url.indexOf('?') + 1)}`;
    const response = await aliceBrowser.get(`/saml/sso?${attack}`);
    expect([response.status, response.headers.location]).toEqual([400, undefined]);
    expect(response.text).toContain('more than 32 parameters');
    expect(response.text).not.toContain('name="SAMLResponse"');
  });

  it.each([
    ['SAMLRequest', (q: string) => `${q}&SAMLRequest=x`],
    ['SAMLRequest, spelled with a percent-escape', (q: string) => `SAMLReques%74=x&${q}`],
    ['RelayState', (q: string) => `${q}&RelayState=r`],
    ['SigAlg', (q: string) => `SigAlg=x&${q}`],
    ['Signature', (q: string) => `${q}&Signature=x`],
    ['SAMLResponse', (q: string) => `${q}&SAMLResponse=x&SAMLResponse=y`],
  ])('/saml/slo refuses %s given twice', async (_name, tamper) => {
    expectRefused(
      await request(t.url)
        .get(`/saml/slo?${tamper(await signedLogoutQuery())}`)
        .set('Accept', 'text/html'),
      'given more than once',
    );
    await expectNobodySignedOut();
  });

  it('/saml/slo refuses a query with both a SAMLRequest and a SAMLResponse', async () => {
    expectRefused(
      await request(t.url)
        .get(`/saml/slo?${await signedLogoutQuery()}&SAMLResponse=x`)
        .set('Accept', 'text/html'),
      'one SAMLRequest or one SAMLResponse',
    );
    await expectNobodySignedOut();
  });

  it.each(['SAMLRequest', 'RelayState', 'Signature'])('/saml/sso refuses %s given twice', async (key) => {
    const url = await sp.saml.getAuthorizeUrlAsync('relay', undefined, {});
    const response = await aliceBrowser.get(`/saml/sso?${url.slice(url.indexOf('?') + 1)}&${key}=x`);
    expect([response.status, response.headers.location]).toEqual([400, undefined]);
    expect(response.text).toContain(`${key} is given more than once`);
    expect(response.text).not.toContain('name="SAMLResponse"');
  });

  it('refuses 33 parameters even when the message is genuine', async () => {
    expectRefused(
      await request(t.url)
        .get(`/saml/slo?${await signedLogoutQuery()}&${padding(29)}`)
        .set('Accept', 'text/html'),
      'more than 32 parameters',
    );
    await expectNobodySignedOut();
  });

  it('HTTP-POST reads its fields once too: a SAMLRequest given twice, or more than 100 fields, is refused', async () => {
    const xml = Buffer.from(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`).toString(
      'base64',
    );
    const twice = await request(t.url)
      .post('/saml/slo')
      .type('form')
      .set('Accept', 'text/html')
      .send(`SAMLRequest=${encodeURIComponent(xml)}&SAMLRequest=x&relayed=1`);
    expect([twice.status, twice.text.includes('SAMLRequest must be given once')]).toEqual([400, true]);
    const many = await request(t.url)
      .post('/saml/slo')
      .type('form')
      .set('Accept', 'text/html')
      .send(`SAMLRequest=${encodeURIComponent(xml)}&relayed=1&${padding(100)}`);
    expect(many.status).toBe(413);
    await expectNobodySignedOut();
  });

  it('positive control (last): the genuine signed query with a few extra parameters signs mallory out, and only her', async () => {
    const query = `${await signedLogoutQuery('bye')}&${padding(5)}`;
    let response = await malloryBrowser.get(`/saml/slo?${query}`);
    for (let hops = 0; hops < 10 && response.status === 303 && response.headers.location.startsWith('/'); hops++)
      response = await malloryBrowser.get(response.headers.location);
    expect(response.status).toBe(303);
    expect(response.headers.location.startsWith(`${sp.sls}?SAMLResponse=`)).toBe(true);
    expect(await malloryBrowser.signedInAs()).toBeNull();
    expect((await db.getRepository(SamlSession).findOneByOrFail({ id: mallory.sessionId })).endedAt).toBeInstanceOf(
      Date,
    );
    expect(await aliceBrowser.signedInAs()).toBe('alice');
    expect((await db.getRepository(SamlSession).findOneByOrFail({ id: alice.sessionId })).endedAt).toBeNull();
  });
});
