import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { AuditEvent, SamlSession, SigningKey, SYSTEM, UsersService } from '@signoff/core';
import { parseSpMetadata, SamlSpsService, type SpImportOptions } from '@signoff/saml';
import * as samlify from 'samlify';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { Browser } from '../support/browser';
import { samlSignIn, unescapeHtml } from '../support/saml';
import { authnRequestXml, postField, spKeys } from '../support/saml-test-sp';
import { startApp, type TestApp } from '../support/test-app';

let t: TestApp;
let idpCert: string;

beforeAll(async () => {
  t = await startApp();
  await t.app
    .get(UsersService)
    .create({ username: 'alice', password: 'alice password', email: 'alice@example.com', name: 'Alice' }, SYSTEM);
  idpCert = (await t.app.get(DataSource).getRepository(SigningKey).findOneByOrFail({ use: 'saml', state: 'active' }))
    .certificatePem!;
});
afterAll(() => t.close());

/** A node-saml SP registered at Signoff from its own metadata. */
async function nodeSamlSp(host: string, options: { signRequests?: boolean; import?: SpImportOptions } = {}) {
  const keys = await spKeys(host);
  const sp = new SAML({
    issuer: `https://${host}/metadata`,
    callbackUrl: `https://${host}/acs`,
    logoutCallbackUrl: `https://${host}/slo`,
    entryPoint: `${t.url}/saml/sso`,
    idpIssuer: `${t.url}/saml/metadata`,
    idpCert,
    audience: `https://${host}/metadata`,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    validateInResponseTo: ValidateInResponseTo.always,
    signatureAlgorithm: 'sha256',
    ...(options.signRequests ? { privateKey: keys.privateKey } : {}),
  });
  await t.app
    .get(SamlSpsService)
    .import(
      parseSpMetadata(sp.generateServiceProviderMetadata(null, keys.certificate)),
      { requireSignedRequests: options.signRequests, ...options.import },
      SYSTEM,
    );
  return sp;
}

describe('SP-initiated SSO', () => {
  it("answers node-saml's AuthnRequest with a signed Response it accepts, and records the SamlSession", async () => {
    const sp = await nodeSamlSp('wiki.example');
    const { action, fields } = await samlSignIn(
      new Browser(t.url),
      await sp.getAuthorizeUrlAsync('relay-42', undefined, {}),
    );
    expect(action).toBe('https://wiki.example/acs');
    expect(fields.RelayState).toBe('relay-42');
    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse });
    expect(profile).toMatchObject({
      issuer: `${t.url}/saml/metadata`,
      nameIDFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      email: 'alice@example.com', // node-saml's alias of mail (urn:oid:0.9.2342.19200300.100.1.3)
      'urn:oid:0.9.2342.19200300.100.1.1': 'alice', // uid: a new SP gets the standard profile, not the old basic "username"
    });
    const session = await t.app
      .get(DataSource)
      .getRepository(SamlSession)
      .findOneByOrFail({ sessionIndex: profile!.sessionIndex! });
    expect(session).toMatchObject({
      nameId: profile!.nameID,
      spNameQualifier: 'https://wiki.example/metadata',
      nameQualifier: `${t.url}/saml/metadata`,
      state: 'active',
    });
    expect(session.sessionNotOnOrAfter).toBeInstanceOf(Date);
  });

  it('keeps one SamlSession per IdP session and SP: a second sign-in gets the same SessionIndex and NameID', async () => {
    const sp = await nodeSamlSp('twice.example');
    const browser = new Browser(t.url);
    const first = (
      await sp.validatePostResponseAsync({
        SAMLResponse: (await samlSignIn(browser, await sp.getAuthorizeUrlAsync('', undefined, {}))).fields.SAMLResponse,
      })
    ).profile!;
    const second = (
      await sp.validatePostResponseAsync({
        SAMLResponse: (await samlSignIn(browser, await sp.getAuthorizeUrlAsync('', undefined, {}))).fields.SAMLResponse,
      })
    ).profile!;
    expect([second.sessionIndex, second.nameID]).toEqual([first.sessionIndex, first.nameID]);
    expect(await t.app.get(DataSource).getRepository(SamlSession).countBy({ sessionIndex: first.sessionIndex! })).toBe(
      1,
    );
  });

  it('answers an IsPassive request with Responder/NoPassive when nobody is signed in, without showing the login page', async () => {
    const sp = await nodeSamlSp('quiet.example');
    const passive = new SAML({ ...sp.options, passive: true });
    const url = new URL(await passive.getAuthorizeUrlAsync('r1', undefined, {}));
    const response = await new Browser(t.url).get(url.pathname + url.search);
    expect(response.status).toBe(200);
    expect(response.text).toContain('action="https://quiet.example/acs"');
    const samlResponse = unescapeHtml(/name="SAMLResponse" value="([^"]+)"/.exec(response.text)![1]);
    expect(Buffer.from(samlResponse, 'base64').toString()).toContain('urn:oasis:names:tc:SAML:2.0:status:NoPassive');
    // node-saml verifies the signed Response and reads it as "not signed in".
    await expect(passive.validatePostResponseAsync({ SAMLResponse: samlResponse })).resolves.toMatchObject({
      profile: null,
      loggedOut: false,
    });
  });

  it('accepts a signed Redirect request from an SP that must sign, and refuses it tampered or replayed', async () => {
    const sp = await nodeSamlSp('crm.example', { signRequests: true, import: { nameIdSource: 'email' } });
    const url = await sp.getAuthorizeUrlAsync('r1', undefined, {});
    expect(url).toContain('Signature=');
    const browser = new Browser(t.url);
    const { fields } = await samlSignIn(browser, url);
    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse });
    expect(profile!.nameID).toBe('alice@example.com');

    const replay = await request(t.url).get(new URL(url).pathname + new URL(url).search);
    expect(replay.status).toBe(400);
    expect(replay.text).toContain('already used');
    const fresh = new URL(await sp.getAuthorizeUrlAsync('r2', undefined, {}));
    fresh.searchParams.set('RelayState', 'r3'); // the signature covered r2
    const tampered = await request(t.url)
      .get(fresh.pathname + fresh.search)
      .set('Accept', 'text/html');
    expect(tampered.status).toBe(400);
    expect(tampered.text).toContain('does not verify');
    const unsigned = new URL(await sp.getAuthorizeUrlAsync('r4', undefined, {}));
    unsigned.searchParams.delete('Signature');
    expect((await request(t.url).get(unsigned.pathname + unsigned.search)).text).toContain('not signed');
  });

  it('verifies an enveloped signature on a POST-binding request, and refuses it once the signed content is changed', async () => {
    const keys = await spKeys('post.example');
    const sp = new SAML({
      issuer: 'https://post.example/metadata',
      callbackUrl: 'https://post.example/acs',
      entryPoint: `${t.url}/saml/sso`,
      idpCert,
      audience: 'https://post.example/metadata',
      privateKey: keys.privateKey,
      signatureAlgorithm: 'sha256',
      authnRequestBinding: 'HTTP-POST',
      skipRequestCompression: true, // the POST binding carries plain base64 (SAML bindings §3.5.4)
      digestAlgorithm: 'sha256',
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: true,
    });
    await t.app
      .get(SamlSpsService)
      .import(
        parseSpMetadata(sp.generateServiceProviderMetadata(null, keys.certificate)),
        { requireSignedRequests: true },
        SYSTEM,
      );
    const form = await sp.getAuthorizeFormAsync('p1', undefined);
    const samlRequest = /name="SAMLRequest" value="([^"]+)"/.exec(form)![1];
    const xml = Buffer.from(samlRequest, 'base64').toString('utf8');
    expect(xml).toContain('<Signature');
    const browser = new Browser(t.url);
    await browser.login('alice', 'alice password');
    const accepted = await browser.post('/saml/sso', { SAMLRequest: samlRequest, RelayState: 'p1' });
    expect([accepted.status, /<p class="error">([^<]*)/.exec(accepted.text)?.[1]]).toEqual([200, undefined]);
    expect(accepted.text).toContain('name="SAMLResponse"');
    const changed = Buffer.from(xml.replace('https://post.example/acs', 'https://evil.example/acs')).toString('base64');
    const refused = await browser.post('/saml/sso', { SAMLRequest: changed, RelayState: 'p1' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('does not verify');

    // node-saml's default digest is SHA-1, which is refused.
    const sha1 = new SAML({ ...sp.options, digestAlgorithm: 'sha1' });
    const sha1Request = /name="SAMLRequest" value="([^"]+)"/.exec(
      await sha1.getAuthorizeFormAsync('p2', undefined),
    )![1];
    const weak = await browser.post('/saml/sso', { SAMLRequest: sha1Request, RelayState: 'p2' });
    expect(weak.status).toBe(400);
    expect(weak.text).toContain('SHA-1 digests are not accepted');
  });

  it("answers samlify's AuthnRequest with a Response samlify accepts", async () => {
    samlify.setSchemaValidator({ validate: async () => "skipped: the SP's schema validation is not under test" });
    const idp = samlify.IdentityProvider({ metadata: (await request(t.url).get('/saml/metadata')).text });
    const sp = samlify.ServiceProvider({
      entityID: 'https://shop.example/sp',
      wantAssertionsSigned: true,
      assertionConsumerService: [
        { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: 'https://shop.example/acs' },
      ],
      singleLogoutService: [
        { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: 'https://shop.example/slo' },
      ],
    });
    await t.app.get(SamlSpsService).import(parseSpMetadata(sp.getMetadata()), { nameIdSource: 'username' }, SYSTEM);
    const { context } = sp.createLoginRequest(idp, 'redirect') as { context: string };
    const { fields } = await samlSignIn(new Browser(t.url), context);
    const { extract } = await sp.parseLoginResponse(idp, 'post', { body: { SAMLResponse: fields.SAMLResponse } });
    expect(extract.nameID).toBe('alice');
    expect(extract.sessionIndex?.sessionIndex).toMatch(/^_/);
  });
});

describe('the account chooser (several accounts on one browser)', () => {
  /** A browser with alice signed in, then bob: bob is the current account. */
  async function twoAccounts(): Promise<Browser> {
    const users = t.app.get(UsersService);
    if (!(await users.findByUsername('bob'))) await users.create({ username: 'bob', password: 'bob password' }, SYSTEM);
    const browser = new Browser(t.url);
    await browser.login('alice', 'alice password');
    await browser.login('bob', 'bob password');
    return browser;
  }
  const nameIdOf = (fields: Record<string, string>) =>
    /<saml:NameID[^>]*>([^<]+)</.exec(Buffer.from(fields.SAMLResponse, 'base64').toString())![1];

  it('asks which account, and answers for the one picked (not the current one)', async () => {
    const sp = await nodeSamlSp('chooser.example', { import: { nameIdSource: 'username' } });
    const browser = await twoAccounts();
    const url = new URL(await sp.getAuthorizeUrlAsync('', undefined, {}));
    const chooser = await browser.get(url.pathname + url.search);
    expect(chooser.status).toBe(200);
    expect(chooser.text).toContain('Choose an account');
    expect(chooser.text).not.toContain('SAMLResponse');
    const request = /name="request" value="([^"]+)"/.exec(chooser.text)![1];
    const sessions = [...chooser.text.matchAll(/name="session" value="([^"]+)"/g)].map((match) => match[1]);
    expect(sessions).toHaveLength(2);
    // The list shows the current account (bob) first: pick the other one.
    const answered = await browser.post('/saml/sso/select', { request, session: sessions[1], csrf: browser.csrf });
    const fields = Object.fromEntries(
      [...answered.text.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((match) => [match[1], unescapeHtml(match[2])]),
    );
    expect(nameIdOf(fields)).toBe('alice');
    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse });
    expect(profile?.nameID).toBe('alice');
  });

  it('asks at IdP-initiated SSO too; IsPassive never shows a page and answers for the current account', async () => {
    const sp = await nodeSamlSp('chooser2.example', { import: { nameIdSource: 'username' } });
    const browser = await twoAccounts();
    const init = await browser.get(`/saml/sso/init?sp=${encodeURIComponent('https://chooser2.example/metadata')}`);
    expect(init.text).toContain('Choose an account');
    const passive = new SAML({ ...sp.options, passive: true });
    const url = new URL(await passive.getAuthorizeUrlAsync('', undefined, {}));
    const answered = await browser.get(url.pathname + url.search);
    expect(answered.text).toContain('SAMLResponse');
    const field = /name="SAMLResponse" value="([^"]+)"/.exec(answered.text)![1];
    expect(nameIdOf({ SAMLResponse: unescapeHtml(field) })).toBe('bob');
  });

  it('IsPassive with ForceAuthn never shows the login page: the SP gets NoPassive', async () => {
    const sp = await nodeSamlSp('passive-force.example', { import: { nameIdSource: 'username' } });
    const both = new SAML({ ...sp.options, passive: true, forceAuthn: true });
    const browser = await twoAccounts();
    const url = new URL(await both.getAuthorizeUrlAsync('', undefined, {}));
    const answered = await browser.get(url.pathname + url.search);
    expect(answered.status).toBe(200);
    const xml = Buffer.from(
      unescapeHtml(/name="SAMLResponse" value="([^"]+)"/.exec(answered.text)![1]),
      'base64',
    ).toString();
    expect(xml).toContain('urn:oasis:names:tc:SAML:2.0:status:NoPassive');
    expect(xml).not.toContain('<saml:Assertion');
  });

  it('ForceAuthn sends the picked account to the login page again, named', async () => {
    const sp = await nodeSamlSp('force.example', { import: { nameIdSource: 'username' } });
    const forced = new SAML({ ...sp.options, forceAuthn: true });
    const browser = await twoAccounts();
    const url = new URL(await forced.getAuthorizeUrlAsync('', undefined, {}));
    const chooser = await browser.get(url.pathname + url.search);
    const request = /name="request" value="([^"]+)"/.exec(chooser.text)![1];
    const session = [...chooser.text.matchAll(/name="session" value="([^"]+)"/g)].map((match) => match[1])[1];
    const picked = await browser.post('/saml/sso/select', { request, session, csrf: browser.csrf });
    expect(picked.status).toBe(303);
    expect(picked.headers.location).toMatch(/^\/login\?return_to=.*&login_hint=alice$/);
  });
});

describe('IdP-initiated SSO and refusals', () => {
  it('sends an unsolicited Response node-saml accepts when it allows them', async () => {
    const keys = await spKeys('portal.example');
    const sp = new SAML({
      issuer: 'https://portal.example/metadata',
      callbackUrl: 'https://portal.example/acs',
      idpCert,
      audience: 'https://portal.example/metadata',
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: true,
    });
    await t.app
      .get(SamlSpsService)
      .import(parseSpMetadata(sp.generateServiceProviderMetadata(null, keys.certificate)), {}, SYSTEM);
    const { fields } = await samlSignIn(
      new Browser(t.url),
      `${t.url}/saml/sso/init?sp=${encodeURIComponent('https://portal.example/metadata')}&RelayState=home`,
    );
    expect(fields.RelayState).toBe('home');
    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse });
    expect(profile!.nameID).toBeTruthy();
  });

  it.each([
    [
      'an unknown Issuer',
      (xml: string) => xml.replace('https://wiki2.example/metadata', 'https://evil.example/metadata'),
      /not a registered service provider/,
    ],
    [
      'an ACS URL that is not in the metadata',
      (xml: string) => xml.replace('https://wiki2.example/acs', 'https://evil.example/acs'),
      /AssertionConsumerService is not in the SP/,
    ],
    [
      'an old IssueInstant',
      (xml: string) => xml.replace(/IssueInstant="[^"]+"/, 'IssueInstant="2020-01-01T00:00:00Z"'),
      /IssueInstant/,
    ],
    ['a DOCTYPE', (xml: string) => `<!DOCTYPE x [<!ENTITY e "e">]>${xml}`, /DOCTYPE/],
  ])('refuses a request with %s', async (_name, mutate, message) => {
    await nodeSamlSp('wiki2.example').catch(() => undefined);
    const xml = authnRequestXml({
      issueInstant: new Date().toISOString(),
      issuer: 'https://wiki2.example/metadata',
      acsUrl: 'https://wiki2.example/acs',
    });
    const audit = t.app.get(DataSource).getRepository(AuditEvent);
    const before = await audit.countBy({ action: 'saml.message_refused' });
    const response = await request(t.url)
      .post('/saml/sso')
      .type('form')
      .set('Accept', 'text/html')
      .send({ SAMLRequest: postField(mutate(xml)) });
    expect(response.status).toBe(400);
    expect(response.text).toMatch(message);
    expect(response.text).not.toContain('SAMLResponse');
    // Refused SSO messages are audited like refused logout messages (SamlIntake).
    const recorded = await audit.find({ where: { action: 'saml.message_refused' }, order: { at: 'ASC', id: 'ASC' } });
    expect(recorded.slice(before).map((event) => event.details)).toEqual([
      expect.objectContaining({ message: 'AuthnRequest', binding: 'post', reason: expect.stringMatching(message) }),
    ]);
  });

  it('refuses a RelayState over 80 bytes', async () => {
    const sp = await nodeSamlSp('long.example');
    const url = new URL(await sp.getAuthorizeUrlAsync('x'.repeat(81), undefined, {}));
    expect((await request(t.url).get(url.pathname + url.search)).status).toBe(400);
  });
});
