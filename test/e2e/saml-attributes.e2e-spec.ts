import type { SAML } from '@node-saml/node-saml';
import { DOMParser } from '@xmldom/xmldom';
import { GroupsService, SamlServiceProvider, SYSTEM, type User, UsersService } from '@signoff/core';
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

// The attributes SPs receive (issue 10): the standard profile by URI names, pairwise-id, SPs' own
// mappings, the scope in the IdP metadata, and the refusals of bad settings. Real SPs read them:
// node-saml and samlify.

const SCOPE = 'uni.example.org';
const URI = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';
const BASIC = 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic';
const OID = {
  subjectId: 'urn:oasis:names:tc:SAML:attribute:subject-id',
  pairwiseId: 'urn:oasis:names:tc:SAML:attribute:pairwise-id',
  eppn: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
  uid: 'urn:oid:0.9.2342.19200300.100.1.1',
  mail: 'urn:oid:0.9.2342.19200300.100.1.3',
  displayName: 'urn:oid:2.16.840.1.113730.3.1.241',
  givenName: 'urn:oid:2.5.4.42',
  sn: 'urn:oid:2.5.4.4',
  isMemberOf: 'urn:oid:1.3.6.1.4.1.5923.1.5.1.1',
};

let t: TestApp;
let idpCert: string;
let token: string;
let alice: User;
const PASSWORD = 'a long password';
const auth = () => ({ Authorization: `Bearer ${token}` });

beforeAll(async () => {
  t = await startApp({ SAML_SCOPE: SCOPE });
  const users = t.app.get(UsersService);
  alice = await users.create(
    {
      username: 'alice',
      password: PASSWORD,
      email: 'alice@uni.example.org',
      name: 'Alice Liddell',
      givenName: 'Alice',
      familyName: 'Liddell',
    },
    SYSTEM,
  );
  await users.create({ username: 'bob', password: PASSWORD }, SYSTEM); // no email, name or groups
  await users.create({ username: 'john.doe', password: PASSWORD, email: 'jd@uni.example.org' }, SYSTEM);
  const groups = t.app.get(GroupsService);
  for (const name of ['wiki-editors', 'staff']) {
    await groups.create({ name }, SYSTEM);
    await groups.addMember(name, alice.id, SYSTEM);
  }
  const admin = await users.create({ username: 'root', password: PASSWORD, isAdmin: true }, SYSTEM);
  token = (await t.app.get(ApiTokensService).create(admin, 'test', null, SYSTEM)).token;
  idpCert = await idpCertificate(t);
});
afterAll(() => t.close());

/** A node-saml SP at https://<host>, registered from its own metadata with `options`. */
async function registeredSp(host: string, options: Partial<SpImportOptions> = {}): Promise<SAML> {
  const keys = await spKeys(host);
  const sp = nodeSamlSp({ url: t.url, cert: idpCert }, `https://${host}`, keys.privateKey);
  await t.app
    .get(SamlSpsService)
    .import(parseSpMetadata(sp.generateServiceProviderMetadata(null, keys.certificate)), options, SYSTEM);
  return sp;
}

/** Signs `username` in at the SP (a new browser: a new IdP session); node-saml's profile and the assertion's XML. */
async function signIn(sp: SAML, username = 'alice') {
  const { fields } = await samlSignIn(new Browser(t.url), await sp.getAuthorizeUrlAsync('', undefined, {}), {
    username,
    password: PASSWORD,
  });
  const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse });
  return { profile: profile!, xml: Buffer.from(fields.SAMLResponse, 'base64').toString('utf8') };
}

/** Every saml:Attribute of an assertion as written: Name, NameFormat, FriendlyName and xs:string values. */
function attributesOf(xml: string) {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const elements = Array.from(
    doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Attribute') as unknown as ArrayLike<Element>,
  );
  return elements.map((element) => {
    const values = Array.from(
      element.getElementsByTagNameNS(
        'urn:oasis:names:tc:SAML:2.0:assertion',
        'AttributeValue',
      ) as unknown as ArrayLike<Element>,
    );
    for (const value of values)
      expect(value.getAttributeNS('http://www.w3.org/2001/XMLSchema-instance', 'type')).toBe('xs:string');
    return {
      name: element.getAttribute('Name'),
      nameFormat: element.getAttribute('NameFormat'),
      friendlyName: element.getAttribute('FriendlyName') || undefined,
      values: values.map((value) => value.textContent),
    };
  });
}

describe('the standard profile', () => {
  it('gives node-saml the standard attributes by their URI names, scoped with SAML_SCOPE, one isMemberOf value per group', async () => {
    const sp = await registeredSp('wiki.example');
    const { profile, xml } = await signIn(sp);
    expect(profile.attributes).toEqual({
      [OID.subjectId]: `alice@${SCOPE}`,
      [OID.eppn]: `alice@${SCOPE}`,
      [OID.uid]: 'alice',
      [OID.mail]: 'alice@uni.example.org',
      [OID.displayName]: 'Alice Liddell',
      [OID.givenName]: 'Alice',
      [OID.sn]: 'Liddell',
      [OID.isMemberOf]: ['staff', 'wiki-editors'],
    });
    expect(attributesOf(xml)).toEqual([
      { name: OID.subjectId, nameFormat: URI, friendlyName: 'subject-id', values: [`alice@${SCOPE}`] },
      { name: OID.eppn, nameFormat: URI, friendlyName: 'eduPersonPrincipalName', values: [`alice@${SCOPE}`] },
      { name: OID.uid, nameFormat: URI, friendlyName: 'uid', values: ['alice'] },
      { name: OID.mail, nameFormat: URI, friendlyName: 'mail', values: ['alice@uni.example.org'] },
      { name: OID.displayName, nameFormat: URI, friendlyName: 'displayName', values: ['Alice Liddell'] },
      { name: OID.givenName, nameFormat: URI, friendlyName: 'givenName', values: ['Alice'] },
      { name: OID.sn, nameFormat: URI, friendlyName: 'sn', values: ['Liddell'] },
      { name: OID.isMemberOf, nameFormat: URI, friendlyName: 'isMemberOf', values: ['staff', 'wiki-editors'] },
    ]);
  });

  it('gives samlify the same attributes, read by their URI names', async () => {
    samlify.setSchemaValidator({ validate: async () => "skipped: the SP's schema validation is not under test" });
    const idp = samlify.IdentityProvider({ metadata: (await request(t.url).get('/saml/metadata')).text });
    const sp = samlify.ServiceProvider({
      entityID: 'https://shop.example/sp',
      wantAssertionsSigned: true,
      assertionConsumerService: [
        { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: 'https://shop.example/acs' },
      ],
    });
    await t.app.get(SamlSpsService).import(parseSpMetadata(sp.getMetadata()), {}, SYSTEM);
    const { context } = sp.createLoginRequest(idp, 'redirect') as { context: string };
    const { fields } = await samlSignIn(new Browser(t.url), context, { username: 'alice', password: PASSWORD });
    const { extract } = await sp.parseLoginResponse(idp, 'post', { body: { SAMLResponse: fields.SAMLResponse } });
    expect(extract.attributes).toEqual({
      [OID.subjectId]: `alice@${SCOPE}`,
      [OID.eppn]: `alice@${SCOPE}`,
      [OID.uid]: 'alice',
      [OID.mail]: 'alice@uni.example.org',
      [OID.displayName]: 'Alice Liddell',
      [OID.givenName]: 'Alice',
      [OID.sn]: 'Liddell',
      [OID.isMemberOf]: ['staff', 'wiki-editors'],
    });
  });

  it('leaves out attributes the user has no value for (no email, name or groups), never sending them empty', async () => {
    const sp = await registeredSp('empty.example');
    const { xml } = await signIn(sp, 'bob');
    expect(attributesOf(xml)).toEqual([
      { name: OID.subjectId, nameFormat: URI, friendlyName: 'subject-id', values: [`bob@${SCOPE}`] },
      { name: OID.eppn, nameFormat: URI, friendlyName: 'eduPersonPrincipalName', values: [`bob@${SCOPE}`] },
      { name: OID.uid, nameFormat: URI, friendlyName: 'uid', values: ['bob'] },
    ]);
    expect(xml).not.toMatch(/<saml:AttributeValue[^>]*\/>|<saml:AttributeValue[^>]*><\/saml:AttributeValue>/);
  });

  it('sends no subject-id for a username outside its syntax (a "."), but still the eduPersonPrincipalName', async () => {
    const sp = await registeredSp('dots.example');
    const { profile } = await signIn(sp, 'john.doe');
    expect(profile.attributes).toMatchObject({ [OID.eppn]: `john.doe@${SCOPE}`, [OID.uid]: 'john.doe' });
    expect(profile.attributes).not.toHaveProperty([OID.subjectId]);
  });
});

describe('pairwise-id', () => {
  it('is an opaque value@scope per SP: different at two SPs, the same at each sign-in, and sent instead of subject-id', async () => {
    const first = await registeredSp('pairwise-one.example', { subjectIdentifier: 'pairwise-id' });
    const second = await registeredSp('pairwise-two.example', { subjectIdentifier: 'pairwise-id' });
    const once = (await signIn(first)).profile.attributes as Record<string, unknown>;
    const again = (await signIn(first)).profile.attributes as Record<string, unknown>;
    const elsewhere = (await signIn(second)).profile.attributes as Record<string, unknown>;
    const bobs = (await signIn(first, 'bob')).profile.attributes as Record<string, unknown>;
    // Subject Identifier Attributes Profile §3.4: 1-127 letters, digits, "=" or "-", starting alphanumeric; here one case.
    expect(once[OID.pairwiseId]).toMatch(new RegExp(`^[a-z2-7]{52}@${SCOPE.replace(/\./g, '\\.')}$`));
    expect(again[OID.pairwiseId]).toBe(once[OID.pairwiseId]);
    expect(elsewhere[OID.pairwiseId]).toMatch(/@uni\.example\.org$/);
    expect(elsewhere[OID.pairwiseId]).not.toBe(once[OID.pairwiseId]);
    expect(bobs[OID.pairwiseId]).not.toBe(once[OID.pairwiseId]);
    for (const attributes of [once, elsewhere]) {
      expect(attributes).not.toHaveProperty([OID.subjectId]);
      expect(attributes[OID.uid]).toBe('alice'); // the rest of the profile as before
    }
  });
});

describe("an SP's own mappings", () => {
  it('with attributeProfile none, the SP receives exactly its mappings: fields, scoped fields, groups and fixed values', async () => {
    const sp = await registeredSp('custom.example', {
      attributeProfile: 'none',
      attributeMappings: [
        { name: 'memberOf', nameFormat: 'basic', from: 'groups' },
        { name: 'eppn', nameFormat: 'basic', friendlyName: 'principal', from: 'username@scope' },
        { name: 'urn:example:tier', nameFormat: 'uri', value: 'gold' },
        { name: 'mail', nameFormat: 'basic', from: 'email' },
        { name: 'userId', nameFormat: 'unspecified', from: 'id' },
      ],
    });
    const { xml, profile } = await signIn(sp);
    expect(attributesOf(xml)).toEqual([
      { name: 'memberOf', nameFormat: BASIC, values: ['staff', 'wiki-editors'] },
      { name: 'eppn', nameFormat: BASIC, friendlyName: 'principal', values: [`alice@${SCOPE}`] },
      { name: 'urn:example:tier', nameFormat: URI, values: ['gold'] },
      { name: 'mail', nameFormat: BASIC, values: ['alice@uni.example.org'] },
      {
        name: 'userId',
        nameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified',
        values: [alice.id],
      },
    ]);
    expect(profile.memberOf).toEqual(['staff', 'wiki-editors']);
  });

  it('replaces a profile attribute of the same name in place, and adds the others after the profile', async () => {
    const sp = await registeredSp('override.example', {
      attributeMappings: [
        { name: 'username', nameFormat: 'basic', from: 'username' },
        { name: OID.mail, nameFormat: 'uri', friendlyName: 'mail', value: 'helpdesk@uni.example.org' },
      ],
    });
    const names = attributesOf((await signIn(sp)).xml);
    expect(names.map((attribute) => attribute.name)).toEqual([
      OID.subjectId,
      OID.eppn,
      OID.uid,
      OID.mail,
      OID.displayName,
      OID.givenName,
      OID.sn,
      OID.isMemberOf,
      'username',
    ]);
    expect(names[3].values).toEqual(['helpdesk@uni.example.org']);
    expect(names[8]).toEqual({ name: 'username', nameFormat: BASIC, values: ['alice'] });
  });
});

describe('the IdP metadata', () => {
  it('publishes SAML_SCOPE as shibmd:Scope in the IDPSSODescriptor’s Extensions, and samlify still reads it', async () => {
    const { text } = await request(t.url).get('/saml/metadata');
    const doc = new DOMParser().parseFromString(text, 'text/xml');
    const descriptor = doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:metadata', 'IDPSSODescriptor')[0];
    let first = descriptor.firstChild;
    while (first && first.nodeType !== 1) first = first.nextSibling;
    expect([(first as Element).namespaceURI, (first as Element).localName]).toEqual([
      'urn:oasis:names:tc:SAML:2.0:metadata',
      'Extensions',
    ]);
    const scopes = Array.from(
      doc.getElementsByTagNameNS('urn:mace:shibboleth:metadata:1.0', 'Scope') as unknown as ArrayLike<Element>,
    );
    expect(
      scopes.map((scope) => [(scope.parentNode as Element).localName, scope.getAttribute('regexp'), scope.textContent]),
    ).toEqual([['Extensions', 'false', SCOPE]]);
    const idp = samlify.IdentityProvider({ metadata: text });
    expect(idp.entityMeta.getSingleSignOnService('redirect')).toBe(`${t.url}/saml/sso`);
  });
});

describe('the admin API', () => {
  /** node-saml's metadata for https://<host>, with an AttributeConsumingService asking for mail (required) and a phone number. */
  async function metadataRequesting(host: string) {
    const keys = await spKeys(host);
    const sp = nodeSamlSp({ url: t.url, cert: idpCert }, `https://${host}`, keys.privateKey);
    return sp
      .generateServiceProviderMetadata(null, keys.certificate)
      .replace(
        '</SPSSODescriptor>',
        '<AttributeConsumingService index="1"><ServiceName xml:lang="en">App</ServiceName>' +
          `<RequestedAttribute Name="${OID.mail}" NameFormat="${URI}" FriendlyName="mail" isRequired="true"/>` +
          '<RequestedAttribute Name="urn:oid:2.5.4.20" FriendlyName="telephoneNumber"/>' +
          '</AttributeConsumingService></SPSSODescriptor>',
      );
  }

  it('registers, shows and changes an SP’s attribute settings, and shows its RequestedAttributes as hints', async () => {
    const created = await request(t.url)
      .post('/api/v1/providers')
      .set(auth())
      .send({ protocol: 'saml', slug: 'hints', saml: { metadata: await metadataRequesting('hints.example') } });
    expect(created.status).toBe(201);
    expect(created.body.saml).toMatchObject({
      attributeProfile: 'standard',
      attributeMappings: [],
      subjectIdentifier: 'subject-id',
      requestedAttributes: [
        { name: OID.mail, nameFormat: URI, friendlyName: 'mail', isRequired: true, provided: true },
        {
          name: 'urn:oid:2.5.4.20',
          nameFormat: null,
          friendlyName: 'telephoneNumber',
          isRequired: false,
          provided: false,
        },
      ],
    });

    const mappings = [
      { name: 'urn:oid:2.5.4.20', nameFormat: 'uri', friendlyName: 'telephoneNumber', value: '+1 555 0100' },
    ];
    const changed = await request(t.url)
      .patch(`/api/v1/providers/${created.body.id}`)
      .set(auth())
      .send({ saml: { attributeMappings: mappings, subjectIdentifier: 'pairwise-id' } });
    expect(changed.status).toBe(200);
    expect(changed.body.saml).toMatchObject({
      attributeProfile: 'standard',
      attributeMappings: mappings,
      subjectIdentifier: 'pairwise-id',
    });
    expect(changed.body.saml).not.toHaveProperty('requestedAttributes'); // no metadata in this request

    const again = await request(t.url)
      .patch(`/api/v1/providers/${created.body.id}`)
      .set(auth())
      .send({ saml: { metadata: await metadataRequesting('hints.example') } });
    // Same entityID, new metadata: the hints are read again, and now the telephone number is sent.
    expect(again.status).toBe(200);
    expect(again.body.saml.requestedAttributes.map((hint: { provided: boolean }) => hint.provided)).toEqual([
      true,
      true,
    ]);

    const shown = await request(t.url).get(`/api/v1/providers/${created.body.id}`).set(auth());
    expect(shown.body.saml).toMatchObject({ attributeMappings: mappings, subjectIdentifier: 'pairwise-id' });
  });

  it.each([
    ['an unknown from field', [{ name: 'phone', nameFormat: 'basic', from: 'phone' }], /from: unknown field "phone"/],
    [
      'both from and value',
      [{ name: 'mail', nameFormat: 'basic', from: 'email', value: 'x' }],
      /either from or value, not both/,
    ],
    ['neither from nor value', [{ name: 'mail', nameFormat: 'basic' }], /give either from/],
    [
      'a name that is not a URI under the uri NameFormat',
      [{ name: 'mail', nameFormat: 'uri', from: 'email' }],
      /absolute URI/,
    ],
    [
      'the same name twice',
      [
        { name: 'mail', nameFormat: 'basic', from: 'email' },
        { name: 'mail', nameFormat: 'basic', from: 'username' },
      ],
      /"mail" is mapped twice/,
    ],
    [
      'pairwise-id beside subject-id',
      [{ name: OID.pairwiseId, nameFormat: 'uri', from: 'id@scope' }],
      /both subject-id and pairwise-id/,
    ],
  ])(
    'refuses %s with a clear 400, at registration and at a change, and changes nothing',
    async (_case, mappings, message) => {
      const providers = t.app.get(DataSource).getRepository(SamlServiceProvider);
      const before = await providers.count();
      const metadata = await metadataRequesting(`refused-${before}.example`);
      const refused = await request(t.url)
        .post('/api/v1/providers')
        .set(auth())
        .send({ protocol: 'saml', saml: { metadata, attributeMappings: mappings } });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'invalid_request', code: 'invalid_attribute_mapping' });
      expect(refused.body.details.join('\n')).toMatch(message);
      expect(await providers.count()).toBe(before);

      const sp = await request(t.url)
        .post('/api/v1/providers')
        .set(auth())
        .send({ protocol: 'saml', saml: { metadata } });
      const change = await request(t.url)
        .patch(`/api/v1/providers/${sp.body.id}`)
        .set(auth())
        .send({ saml: { attributeMappings: mappings, attributeProfile: 'standard' } });
      expect(change.status).toBe(400);
      expect(change.body.details.join('\n')).toMatch(message);
      expect((await providers.findOneByOrFail({ providerId: sp.body.id })).attributeMappings).toEqual([]);
    },
  );

  it('refuses an unknown profile or subject identifier and more than 50 mappings at the schema', async () => {
    const { body: sp } = await request(t.url)
      .post('/api/v1/providers')
      .set(auth())
      .send({ protocol: 'saml', saml: { metadata: await metadataRequesting('schema.example') } });
    for (const saml of [
      { attributeProfile: 'everything' },
      { subjectIdentifier: 'email' },
      { attributeMappings: Array.from({ length: 51 }, (_, i) => ({ name: `a${i}`, nameFormat: 'basic', from: 'id' })) },
      { attributeMappings: [{ name: 'mail', nameFormat: 'basic', from: 'email', extra: 1 }] },
    ]) {
      const response = await request(t.url).patch(`/api/v1/providers/${sp.id}`).set(auth()).send({ saml });
      expect([response.status, response.body.error]).toEqual([400, 'invalid_request']);
    }
    expect(
      await t.app.get(DataSource).getRepository(SamlServiceProvider).findOneByOrFail({ providerId: sp.id }),
    ).toMatchObject({
      attributeProfile: 'standard',
      subjectIdentifier: 'subject-id',
      attributeMappings: [],
    });
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

  it('import-saml-sp --attribute-profile none --attribute Name=field registers basic attributes the SP receives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signoff-saml-attributes-'));
    try {
      const keys = await spKeys('cli.example');
      const sp = nodeSamlSp({ url: t.url, cert: idpCert }, 'https://cli.example', keys.privateKey);
      const file = join(dir, 'sp.xml');
      writeFileSync(file, sp.generateServiceProviderMetadata(null, keys.certificate));

      const refused = await cli('import-saml-sp', file, '--attribute', 'mobile=phone', '--attribute', 'x=email');
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^signoff: --attribute mobile=phone: from: unknown field "phone"/);
      expect(await t.app.get(SamlSpsService).byEntityId('https://cli.example/metadata')).toBeNull();
      expect((await cli('import-saml-sp', file, '--attribute', 'novalue')).stderr).toMatch(
        /--attribute takes <Name>=<field>/,
      );
      expect((await cli('import-saml-sp', file, '--attribute-profile', 'all')).stderr).toMatch(
        /--attribute-profile must be one of standard, none/,
      );

      const { code, stdout } = await cli(
        'import-saml-sp',
        file,
        '--attribute-profile',
        'none',
        '--attribute',
        'memberOf=groups',
        '--attribute',
        'eppn=username@scope',
      );
      expect(code).toBe(0);
      expect(stdout[0]).toContain('registered SAML SP https://cli.example/metadata');
      expect(stdout[1]).toBe('attributes sent (each when the user has a value): memberOf, eppn');
      const { xml } = await signIn(sp);
      expect(attributesOf(xml)).toEqual([
        { name: 'memberOf', nameFormat: BASIC, values: ['staff', 'wiki-editors'] },
        { name: 'eppn', nameFormat: BASIC, values: [`alice@${SCOPE}`] },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
