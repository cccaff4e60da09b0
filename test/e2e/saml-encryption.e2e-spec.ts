import { SAML } from '@node-saml/node-saml';
import { DOMParser } from '@xmldom/xmldom';
import { AuditEvent, SamlServiceProvider, SamlSession, SYSTEM, UsersService } from '@signoff/core';
import { parseSpMetadata, SamlSpsService, type SpImportOptions } from '@signoff/saml';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as samlify from 'samlify';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { runCli } from '../../apps/idp/src/cli';
import { Browser } from '../support/browser';
import { samlSignIn } from '../support/saml';
import { idpCertificate, nodeSamlSp, spKeys } from '../support/saml-test-sp';
import { startApp, type TestApp } from '../support/test-app';

// Encrypted assertions (issue 10): real SPs (node-saml, samlify) decrypt them with their own keys and
// read the NameID and attributes; an SP that lists only AES-128-CBC gets it; the Response stays signed
// and nothing of the assertion is in the clear; an SP without an encryption certificate cannot be
// switched on, and one that lost it is refused an assertion rather than sent one in the clear.

const AES256_GCM = 'http://www.w3.org/2009/xmlenc11#aes256-gcm';
const AES128_CBC = 'http://www.w3.org/2001/04/xmlenc#aes128-cbc';
const RSA_OAEP = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';
const OID = { mail: 'urn:oid:0.9.2342.19200300.100.1.3', displayName: 'urn:oid:2.16.840.1.113730.3.1.241' };
const EMAIL = 'alice@uni.example.org';
const PASSWORD = 'a long password';

let t: TestApp;
let idpCert: string;
let token: string;
const auth = () => ({ Authorization: `Bearer ${token}` });

beforeAll(async () => {
  t = await startApp();
  const users = t.app.get(UsersService);
  await users.create(
    { username: 'alice', password: PASSWORD, email: EMAIL, name: 'Alice Liddell', givenName: 'Alice' },
    SYSTEM,
  );
  const admin = await users.create({ username: 'root', password: PASSWORD, isAdmin: true }, SYSTEM);
  token = (await t.app.get(ApiTokensService).create(admin, 'test', null, SYSTEM)).token;
  idpCert = await idpCertificate(t);
});
afterAll(() => t.close());

/**
 * node-saml as an SP at https://<host> that decrypts with its own encryption key (decryptionPvk), and
 * its metadata as node-saml writes it: a signing KeyDescriptor and an encryption one listing
 * AES-256-GCM, AES-128-GCM, AES-256-CBC and AES-128-CBC. `metadata` may rewrite it.
 */
async function decryptingSp(host: string, metadata: (xml: string) => string = (xml) => xml) {
  const signing = await spKeys(host);
  const encryption = await spKeys(`encryption.${host}`);
  const base = nodeSamlSp({ url: t.url, cert: idpCert }, `https://${host}`, signing.privateKey);
  const sp = new SAML({ ...base.options, decryptionPvk: encryption.privateKey });
  return { sp, metadata: metadata(sp.generateServiceProviderMetadata(encryption.certificate, signing.certificate)) };
}

/** node-saml's own metadata for an SP with a signing certificate only. */
async function plainSpMetadata(host: string): Promise<string> {
  const keys = await spKeys(host);
  return nodeSamlSp({ url: t.url, cert: idpCert }, `https://${host}`, keys.privateKey).generateServiceProviderMetadata(
    null,
    keys.certificate,
  );
}

async function register(metadata: string, options: SpImportOptions) {
  return t.app.get(SamlSpsService).import(parseSpMetadata(metadata), options, SYSTEM);
}

/** Signs alice in at a node-saml SP: its profile, and the Response as it travelled (XML). */
async function signIn(sp: SAML) {
  const { fields } = await samlSignIn(new Browser(t.url), await sp.getAuthorizeUrlAsync('', undefined, {}), {
    username: 'alice',
    password: PASSWORD,
  });
  const xml = Buffer.from(fields.SAMLResponse, 'base64').toString('utf8');
  const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse });
  return { profile: profile!, xml };
}

/** The Response's child elements by name, and the content encryption of its EncryptedData. */
function structureOf(xml: string) {
  const response = new DOMParser().parseFromString(xml, 'text/xml').documentElement;
  const childNames = Array.from(response.childNodes as unknown as ArrayLike<Node>)
    .filter((node) => node.nodeType === 1)
    .map((node) => (node as Element).tagName);
  const content = /<xenc:EncryptionMethod Algorithm="([^"]+)"/.exec(xml)?.[1];
  const keyTransport = /<e:EncryptionMethod Algorithm="([^"]+)"/.exec(xml)?.[1];
  return { root: response.tagName, childNames, content, keyTransport };
}

describe('node-saml decrypting the assertion', () => {
  it('reads the NameID and attributes of an AES-256-GCM encrypted assertion in a signed Response, with nothing in the clear', async () => {
    const { sp, metadata } = await decryptingSp('wiki.example');
    const registered = await register(metadata, { encryptAssertions: true, nameIdSource: 'email' });
    expect(registered.encryptAssertions).toBe(true);
    expect(registered.encryptionCertificates).toHaveLength(1);

    const { profile, xml } = await signIn(sp); // node-saml wants the Response and the assertion signed
    expect(profile.nameID).toBe(EMAIL);
    expect(profile.attributes).toMatchObject({ [OID.mail]: EMAIL, [OID.displayName]: 'Alice Liddell' });
    expect(structureOf(xml)).toEqual({
      root: 'samlp:Response',
      childNames: ['saml:Issuer', 'ds:Signature', 'samlp:Status', 'saml:EncryptedAssertion'],
      content: AES256_GCM,
      keyTransport: RSA_OAEP,
    });
    // Grep the Response as it travelled: no NameID, no attribute value, no assertion in the clear.
    expect(xml).not.toContain(EMAIL);
    expect(xml).not.toContain('Alice Liddell');
    expect(xml).not.toContain('saml:Assertion');
    expect(xml).not.toContain('NameID');
  });

  it('an SP that lists only AES-128-CBC among its EncryptionMethods gets AES-128-CBC, and decrypts it', async () => {
    const { sp, metadata } = await decryptingSp('legacy.example', (xml) =>
      xml.replace(/<EncryptionMethod Algorithm="[^"]+"\/>/g, (method) => (method.includes(AES128_CBC) ? method : '')),
    );
    expect(metadata.match(/<EncryptionMethod /g)).toHaveLength(1); // only aes128-cbc is left
    await register(metadata, { encryptAssertions: true, nameIdSource: 'email' });
    const { profile, xml } = await signIn(sp);
    expect(profile.nameID).toBe(EMAIL);
    expect(structureOf(xml)).toMatchObject({ content: AES128_CBC, keyTransport: RSA_OAEP });
    expect(xml).not.toContain(EMAIL);
  });

  it('counts a KeyDescriptor without use for encryption (metadata §2.4.1.1) and decrypts with that key', async () => {
    // One key for both uses: the SP signs and decrypts with it, and its metadata says no `use`.
    const keys = await spKeys('both.example');
    const base = nodeSamlSp({ url: t.url, cert: idpCert }, 'https://both.example', keys.privateKey);
    const sp = new SAML({ ...base.options, decryptionPvk: keys.privateKey });
    const metadata = base
      .generateServiceProviderMetadata(null, keys.certificate)
      .replace(/<KeyDescriptor use="signing">/, '<KeyDescriptor>');
    expect(metadata).not.toContain('use=');
    const registered = await register(metadata, { encryptAssertions: true });
    expect(registered.certificates).toHaveLength(1);
    expect(registered.encryptionCertificates).toHaveLength(1);
    const { profile, xml } = await signIn(sp);
    expect(profile.attributes).toMatchObject({ [OID.mail]: EMAIL });
    expect(structureOf(xml).content).toBe(AES256_GCM);
  });

  it('an SP without encryptAssertions still gets its assertion in the clear, even with an encryption certificate', async () => {
    const { sp, metadata } = await decryptingSp('clear.example');
    await register(metadata, { nameIdSource: 'email' });
    const { profile, xml } = await signIn(sp);
    expect(profile.nameID).toBe(EMAIL);
    expect(structureOf(xml).childNames).toContain('saml:Assertion');
    expect(xml).not.toContain('EncryptedAssertion');
  });
});

describe('samlify decrypting the assertion', () => {
  it('registered through the admin API with encryptAssertions, samlify reads the NameID and attributes', async () => {
    samlify.setSchemaValidator({ validate: async () => "skipped: the SP's schema validation is not under test" });
    const encryption = await spKeys('encryption.shop.example');
    const idp = samlify.IdentityProvider({
      metadata: (await request(t.url).get('/saml/metadata')).text,
      isAssertionEncrypted: true,
    });
    const sp = samlify.ServiceProvider({
      entityID: 'https://shop.example/sp',
      wantAssertionsSigned: true,
      encryptCert: encryption.certificate,
      encPrivateKey: encryption.privateKey,
      assertionConsumerService: [
        { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: 'https://shop.example/acs' },
      ],
    });
    const created = await request(t.url)
      .post('/api/v1/providers')
      .set(auth())
      .send({ protocol: 'saml', slug: 'shop', saml: { metadata: sp.getMetadata(), encryptAssertions: true } });
    expect(created.status).toBe(201);
    expect(created.body.saml).toMatchObject({
      encryptAssertions: true,
      encryptionCertificates: 1,
      assertionEncryption: { contentEncryption: AES256_GCM, keyTransport: RSA_OAEP },
    });

    const { context } = sp.createLoginRequest(idp, 'redirect') as { context: string };
    const { fields } = await samlSignIn(new Browser(t.url), context, { username: 'alice', password: PASSWORD });
    const xml = Buffer.from(fields.SAMLResponse, 'base64').toString('utf8');
    expect(xml).toContain('<saml:EncryptedAssertion>');
    expect(xml).not.toContain(EMAIL);
    const { extract } = await sp.parseLoginResponse(idp, 'post', { body: { SAMLResponse: fields.SAMLResponse } });
    // The persistent NameID Signoff recorded for this sign-in, read by samlify and never in the clear.
    const session = await t.app
      .get(DataSource)
      .getRepository(SamlSession)
      .findOneByOrFail({ providerId: created.body.id });
    expect(extract.nameID).toBe(session.nameId);
    expect(xml).not.toContain(session.nameId);
    expect(extract.attributes).toMatchObject({ [OID.mail]: EMAIL, [OID.displayName]: 'Alice Liddell' });
  });
});

describe('refusals', () => {
  it('refuses to switch encryption on for an SP without an encryption certificate (400), at registration and at a change, changing nothing', async () => {
    const metadata = await plainSpMetadata('noenc.example');
    const refused = await request(t.url)
      .post('/api/v1/providers')
      .set(auth())
      .send({ protocol: 'saml', slug: 'noenc', saml: { metadata, encryptAssertions: true } });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'invalid_request' });
    expect(refused.body.message).toBe(
      'Assertions cannot be encrypted for this SP (encryptAssertions): its metadata has no encryption certificate (md:KeyDescriptor use="encryption").',
    );
    expect(await t.app.get(SamlSpsService).byEntityId('https://noenc.example/metadata')).toBeNull();

    const created = await request(t.url)
      .post('/api/v1/providers')
      .set(auth())
      .send({ protocol: 'saml', slug: 'noenc', saml: { metadata } });
    expect(created.status).toBe(201);
    // The view says the SP's metadata has no encryption certificate.
    expect(created.body.saml).toMatchObject({
      encryptAssertions: false,
      encryptionCertificates: 0,
      assertionEncryption: null,
    });
    const change = await request(t.url)
      .patch(`/api/v1/providers/${created.body.id}`)
      .set(auth())
      .send({ saml: { encryptAssertions: true } });
    expect(change.status).toBe(400);
    expect(change.body.message).toMatch(/no encryption certificate/);
    const shown = await request(t.url).get(`/api/v1/providers/${created.body.id}`).set(auth());
    expect(shown.body.saml.encryptAssertions).toBe(false);
  });

  it('refuses new metadata without the encryption certificate while encryption is on, and an SP that lists no method Signoff sends', async () => {
    const { metadata } = await decryptingSp('rollover.example');
    const created = await request(t.url)
      .post('/api/v1/providers')
      .set(auth())
      .send({ protocol: 'saml', slug: 'rollover', saml: { metadata, encryptAssertions: true } });
    expect(created.status).toBe(201);
    const withoutKey = metadata.replace(/<KeyDescriptor use="encryption">[\s\S]*?<\/KeyDescriptor>/, '');
    const change = await request(t.url)
      .patch(`/api/v1/providers/${created.body.id}`)
      .set(auth())
      .send({ saml: { metadata: withoutKey } });
    expect(change.status).toBe(400);
    expect(change.body.message).toMatch(/no encryption certificate/);
    const shown = await request(t.url).get(`/api/v1/providers/${created.body.id}`).set(auth());
    expect(shown.body.saml).toMatchObject({ encryptAssertions: true, encryptionCertificates: 1 });

    const { metadata: gcm128 } = await decryptingSp('aes128gcm.example', (xml) =>
      xml.replace(/<EncryptionMethod Algorithm="[^"]+"\/>/g, (method) => (method.includes('aes128-gcm') ? method : '')),
    );
    const unsupported = await request(t.url)
      .post('/api/v1/providers')
      .set(auth())
      .send({ protocol: 'saml', slug: 'aes128gcm', saml: { metadata: gcm128, encryptAssertions: true } });
    expect(unsupported.status).toBe(400);
    expect(unsupported.body.message).toMatch(/lists only content encryption methods Signoff does not send/);
  });

  it('an SP set to encrypt that has lost its certificate gets no assertion: an error page, audited, no session recorded', async () => {
    const { sp, metadata } = await decryptingSp('lost.example');
    const registered = await register(metadata, { encryptAssertions: true });
    // As if the row were changed behind the registration's back (SQL, a restore): the checks there no longer hold.
    const db = t.app.get(DataSource);
    await db
      .getRepository(SamlServiceProvider)
      .update({ providerId: registered.providerId }, { encryptionCertificates: [] });

    const browser = new Browser(t.url);
    await browser.login('alice', PASSWORD);
    const url = new URL(await sp.getAuthorizeUrlAsync('', undefined, {}));
    const page = await browser.get(url.pathname + url.search);
    expect(page.status).toBe(403);
    expect(page.text).not.toContain('SAMLResponse');
    expect(page.text).toContain('is set to receive encrypted assertions, and Signoff cannot encrypt one for it');
    const events = await db
      .getRepository(AuditEvent)
      .findBy({ action: 'saml.assertion_refused', targetId: registered.providerId });
    expect(events).toHaveLength(1);
    expect(events[0].details).toMatchObject({
      entityId: 'https://lost.example/metadata',
      reason: 'its metadata has no encryption certificate (md:KeyDescriptor use="encryption")',
    });
    expect(await db.getRepository(SamlSession).countBy({ providerId: registered.providerId })).toBe(0);
  });
});

describe('the CLI', () => {
  /** runCli with stdout and stderr captured. */
  async function cli(...argv: string[]) {
    const stdout: string[] = [];
    let stderr = '';
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    try {
      const code = await runCli(argv, t.config, (line) => stdout.push(line));
      return { code, stdout, stderr };
    } finally {
      write.mockRestore();
    }
  }

  it('import-saml-sp --encrypt-assertions registers an SP whose assertions are encrypted, and refuses one without a certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signoff-saml-encryption-'));
    try {
      const plain = join(dir, 'plain.xml');
      writeFileSync(plain, await plainSpMetadata('cli-plain.example'));
      const refused = await cli('import-saml-sp', plain, '--encrypt-assertions');
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/no encryption certificate/);
      expect(await t.app.get(SamlSpsService).byEntityId('https://cli-plain.example/metadata')).toBeNull();

      const { sp, metadata } = await decryptingSp('cli.example');
      const file = join(dir, 'sp.xml');
      writeFileSync(file, metadata);
      const done = await cli('import-saml-sp', file, '--encrypt-assertions', '--name-id-source', 'email');
      expect(done.code).toBe(0);
      expect(done.stdout).toContain(`assertions encrypted: ${AES256_GCM} content, ${RSA_OAEP} key transport`);
      const { profile, xml } = await signIn(sp);
      expect(profile.nameID).toBe(EMAIL);
      expect(xml).not.toContain(EMAIL);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
