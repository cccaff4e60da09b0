import { SAML } from '@node-saml/node-saml';
import { KeysService, SamlServiceProvider, SigningKey, SYSTEM, UsersService } from '@signoff/core';
import { descendants, IDP_METADATA_REUSED_FOR_MS, NS, parseXml } from '@signoff/saml';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as samlify from 'samlify';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { spKeys } from '../support/sp-keys';
import { deploymentEnv } from '../support/seed';
import { startApp, type TestApp } from '../support/test-app';

const root = join(__dirname, '..', '..');
let t: TestApp;
let token: string;
const auth = () => ({ Authorization: `Bearer ${token}` });
const body = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');

beforeAll(async () => {
  t = await startApp();
  const admin = await t.app
    .get(UsersService)
    .create({ username: 'root', password: 'root password', isAdmin: true }, SYSTEM);
  token = (await t.app.get(ApiTokensService).create(admin, 'test', null, SYSTEM)).token;
});
afterAll(() => t.close());

/** SP metadata as node-saml generates it for its own configuration. */
async function nodeSamlMetadata(host: string) {
  const keys = await spKeys(host);
  const sp = new SAML({
    issuer: `https://${host}/metadata`,
    callbackUrl: `https://${host}/acs`,
    logoutCallbackUrl: `https://${host}/slo`,
    idpCert: 'unused-here',
    privateKey: keys.privateKey,
    publicCert: keys.certificate,
    wantAssertionsSigned: true,
  });
  return { xml: sp.generateServiceProviderMetadata(null, keys.certificate), keys };
}

describe('IdP metadata', () => {
  it('is read by samlify, with the SSO and SLO endpoints and the active and next certificates', async () => {
    const response = await request(t.url).get('/saml/metadata');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/samlmetadata\+xml/);
    const idp = samlify.IdentityProvider({ metadata: response.text });
    expect(idp.entityMeta.getEntityID()).toBe(`${t.url}/saml/metadata`);
    expect(idp.entityMeta.getSingleSignOnService('redirect')).toBe(`${t.url}/saml/sso`);
    expect(idp.entityMeta.getSingleSignOnService('post')).toBe(`${t.url}/saml/sso`);
    expect(idp.entityMeta.getSingleLogoutService('redirect')).toBe(`${t.url}/saml/slo`);
    expect(idp.entityMeta.getSingleLogoutService('post')).toBe(`${t.url}/saml/slo`);

    const keys = await t.app.get(DataSource).getRepository(SigningKey).findBy({ use: 'saml' });
    const published = descendants(parseXml(response.text), NS.ds, 'X509Certificate').map((node) => node.textContent);
    const byState = (state: string) => body(keys.find((key) => key.state === state)!.certificatePem!);
    expect(published).toEqual([byState('active'), byState('next')]);
    const soap = descendants(parseXml(response.text), NS.md, 'SingleLogoutService').find((node) =>
      node.getAttribute('Binding')!.endsWith(':SOAP'),
    );
    expect(soap!.getAttribute('Location')).toBe(`${t.url}/saml/slo/soap`);
  });
});

describe('the SP registry', () => {
  it("imports node-saml's SP metadata through the admin API: entityID, ACS, SLS, certificate", async () => {
    const { xml, keys } = await nodeSamlMetadata('wiki.example');
    const created = await request(t.url)
      .post('/api/v1/providers')
      .set(auth())
      .send({ protocol: 'saml', slug: 'wiki', saml: { metadata: xml, nameIdSource: 'email' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      slug: 'wiki',
      protocol: 'saml',
      saml: {
        entityId: 'https://wiki.example/metadata',
        acs: [expect.objectContaining({ url: 'https://wiki.example/acs', binding: 'post' })],
        singleLogout: { url: 'https://wiki.example/slo', binding: 'post' },
        logoutMethod: 'frontchannel_iframe',
        certificates: 1,
        nameIdSource: 'email',
        nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      },
    });
    const stored = await t.app
      .get(DataSource)
      .query(
        'SELECT certificates FROM saml_service_providers WHERE entity_id = $1'.replace(
          '$1',
          t.config.database.type === 'postgres' ? '$1' : '?',
        ),
        ['https://wiki.example/metadata'],
      );
    expect(JSON.parse(stored[0].certificates)[0].replace(/-----[^-]+-----|\s/g, '')).toBe(body(keys.certificate));
    expect(
      (
        await request(t.url)
          .post('/api/v1/providers')
          .set(auth())
          .send({ protocol: 'saml', saml: { metadata: xml } })
      ).status,
    ).toBe(409);
  });

  it("imports samlify's SP metadata with the CLI, for back-channel logout over SOAP", async () => {
    const keys = await spKeys('crm.example');
    const sp = samlify.ServiceProvider({
      entityID: 'https://crm.example/sp',
      authnRequestsSigned: true,
      wantAssertionsSigned: true,
      signingCert: keys.certificate,
      assertionConsumerService: [
        { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: 'https://crm.example/acs' },
      ],
      singleLogoutService: [
        { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: 'https://crm.example/slo' },
        { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:SOAP', Location: 'https://crm.example/slo/soap' },
      ],
    });
    const file = join(t.config.dataDir, 'crm.xml');
    writeFileSync(file, sp.getMetadata());
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--if-needed', '--quiet'], { cwd: root });
    const { config } = t;
    const result = spawnSync(
      process.execPath,
      [
        join(root, 'dist/apps/idp/src/cli.js'),
        'import-saml-sp',
        file,
        '--slug',
        'crm',
        '--logout-method',
        'backchannel',
      ],
      {
        env: deploymentEnv(config),
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(
      /^registered SAML SP https:\/\/crm\.example\/sp as crm \([0-9a-f-]{36}\); logout backchannel over soap\n$/,
    );
    const listed = (await request(t.url).get('/api/v1/providers').set(auth())).body.items.find(
      (provider: { slug: string }) => provider.slug === 'crm',
    );
    expect(listed.saml).toMatchObject({
      requireSignedRequests: true,
      singleLogout: { url: 'https://crm.example/slo/soap', binding: 'soap' },
    });
  });

  it.each([
    [
      'metadata with a DOCTYPE',
      async () => ({
        metadata: `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${(await nodeSamlMetadata('x.example')).xml}`,
      }),
      /DOCTYPE/,
    ],
    ['metadata that is not an EntityDescriptor', async () => ({ metadata: '<foo/>' }), /md:EntityDescriptor/],
    [
      'an ACS that is not an http(s) URL',
      async () => ({
        metadata: (await nodeSamlMetadata('y.example')).xml.replace('https://y.example/acs', 'javascript:alert(1)'),
      }),
      /AssertionConsumerService Location/,
    ],
    [
      'back-channel logout for an SP that offers only Redirect',
      async () => ({
        metadata: (await nodeSamlMetadata('z.example')).xml.replace(
          'bindings:HTTP-POST" Location="https://z.example/slo"',
          'bindings:HTTP-Redirect" Location="https://z.example/slo"',
        ),
        logoutMethod: 'backchannel',
      }),
      /needs a SOAP or POST/,
    ],
    [
      'a binding the SP does not offer',
      async () => ({ metadata: (await nodeSamlMetadata('w.example')).xml, slsBinding: 'soap' }),
      /no SingleLogoutService with the soap binding/,
    ],
    [
      'signed requests without a certificate',
      async () => ({
        metadata: (await nodeSamlMetadata('v.example')).xml.replace(/<KeyDescriptor[\s\S]*<\/KeyDescriptor>/, ''),
        requireSignedRequests: true,
      }),
      /no signing certificate/,
    ],
  ])('refuses %s with a 400 that says why', async (_name, make, message) => {
    const response = await request(t.url)
      .post('/api/v1/providers')
      .set(auth())
      .send({ protocol: 'saml', saml: await make() });
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).toMatch(message);
  });

  it('registers an SP from fields when it publishes no metadata, and refuses bad fields', async () => {
    const keys = await spKeys('legacy.example');
    const created = await request(t.url)
      .post('/api/v1/providers')
      .set(auth())
      .send({
        protocol: 'saml',
        slug: 'legacy',
        saml: {
          entityId: 'https://legacy.example/sp',
          acsUrls: ['https://legacy.example/acs', 'https://legacy.example/acs2'],
          singleLogoutServices: [
            { binding: 'soap', url: 'https://legacy.example/soap' },
            { binding: 'redirect', url: 'https://legacy.example/slo', responseUrl: 'https://legacy.example/slo/done' },
          ],
          certificates: [keys.certificate],
          logoutMethod: 'backchannel',
          requireSignedRequests: true,
        },
      });
    expect(created.status).toBe(201);
    expect(created.body.saml).toMatchObject({
      entityId: 'https://legacy.example/sp',
      singleLogout: { url: 'https://legacy.example/soap', binding: 'soap' },
      logoutMethod: 'backchannel',
      requireSignedRequests: true,
      certificates: 1,
      acs: [
        { url: 'https://legacy.example/acs', isDefault: true, binding: 'post', index: 0 },
        { url: 'https://legacy.example/acs2', isDefault: false, binding: 'post', index: 1 },
      ],
    });
    const bad = async (saml: Record<string, unknown>) =>
      request(t.url).post('/api/v1/providers').set(auth()).send({ protocol: 'saml', saml });
    expect(
      (await bad({ entityId: 'https://b.example', acsUrls: ['ftp://b.example/acs'] })).body.details.join(),
    ).toMatch(/AssertionConsumerService Location/);
    expect(
      (
        await bad({
          entityId: 'https://b.example',
          acsUrls: ['https://b.example/acs'],
          certificates: ['not a certificate'],
        })
      ).body.details.join(),
    ).toMatch(/not a valid X.509/);
    expect(
      (await bad({ entityId: 'https://b.example', acsUrls: ['https://b.example/acs'], metadata: '<x/>' })).status,
    ).toBe(400); // one way or the other, not both
  });

  it('updates a registered SP: new metadata for a certificate rollover (same entityID only), and changed logout choices', async () => {
    const first = await nodeSamlMetadata('roll.example');
    const created = (
      await request(t.url)
        .post('/api/v1/providers')
        .set(auth())
        .send({ protocol: 'saml', slug: 'roll', saml: { metadata: first.xml } })
    ).body;
    const rolled = await nodeSamlMetadata('roll.example');
    const updated = await request(t.url)
      .patch(`/api/v1/providers/${created.id}`)
      .set(auth())
      .send({ saml: { metadata: rolled.xml, logoutMethod: 'frontchannel_native' } });
    expect(updated.status).toBe(200);
    expect(updated.body.saml).toMatchObject({
      entityId: 'https://roll.example/metadata',
      logoutMethod: 'frontchannel_native',
    });
    const stored = await t.app
      .get(DataSource)
      .getRepository(SamlServiceProvider)
      .findOneByOrFail({ providerId: created.id });
    expect(stored.certificates.map(body)).toEqual([body(rolled.keys.certificate)]);
    const other = await nodeSamlMetadata('someone-else.example');
    const refused = await request(t.url)
      .patch(`/api/v1/providers/${created.id}`)
      .set(auth())
      .send({ saml: { metadata: other.xml } });
    expect([refused.status, refused.body.message]).toEqual([400, expect.stringMatching(/not this SP/)]);
    const incompatible = await request(t.url)
      .patch(`/api/v1/providers/${created.id}`)
      .set(auth())
      .send({ saml: { slsBinding: 'soap' } });
    expect([incompatible.status, incompatible.body.message]).toEqual([
      400,
      expect.stringMatching(/no SingleLogoutService with the soap binding/),
    ]);
  });
});

describe('IdP metadata, reused', () => {
  const get = async () => (await request(t.url).get('/saml/metadata')).text;
  const idOf = (xml: string) => parseXml(xml).documentElement!.getAttribute('ID');
  const certificates = (xml: string) =>
    descendants(parseXml(xml), NS.ds, 'X509Certificate').map((node) => node.textContent);

  it('serves the same signed document for IDP_METADATA_REUSED_FOR_MS, and a new one at once when the keys rotate', async () => {
    const first = await get();
    expect(await get()).toBe(first);

    t.clock.advance(IDP_METADATA_REUSED_FOR_MS);
    const later = await get();
    expect(idOf(later)).not.toBe(idOf(first));
    expect(await get()).toBe(later);

    await t.app.get(KeysService).rotate();
    const rotated = await get();
    const keys = await t.app.get(DataSource).getRepository(SigningKey).findBy({ use: 'saml' });
    const byState = (state: string) => body(keys.find((key) => key.state === state)!.certificatePem!);
    // The new active key (the next one before) first, then the new next key: the old active is retired.
    expect(certificates(rotated)).toEqual([byState('active'), byState('next')]);
    expect(certificates(rotated)).not.toEqual(certificates(later));
    const idp = samlify.IdentityProvider({ metadata: rotated });
    expect(idp.entityMeta.getEntityID()).toBe(`${t.url}/saml/metadata`);
  });
});
