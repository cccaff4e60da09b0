// Issue 10: SP metadata from a URL (fetched through the outbound policy, optionally signed by a pinned
// federation certificate, refreshed on a schedule with rollovers and changed endpoints applied and
// audited) and the IdP's own signed metadata. Signoff runs as a deployment would (PUBLIC_URL is not
// loopback, so the outbound policy refuses loopback); the "federation" serving metadata listens on
// 127.0.0.2, which OUTBOUND_ALLOW opens, and a second listener on 127.0.0.1 stands for what is not open.
import { SAML } from '@node-saml/node-saml';
import { AuditEvent, RedisService, SamlServiceProvider, SigningKey, SYSTEM, UsersService } from '@signoff/core';
import {
  certificateFingerprint,
  descendants,
  NS,
  parseSpMetadata,
  parseXml,
  SamlSpsService,
  SpMetadataRefresh,
} from '@signoff/saml';
import { SamlMetadataRefresher, SAML_METADATA_QUEUE } from '@signoff/worker';
import { Queue } from 'bullmq';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as samlify from 'samlify';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { SignedXml } from 'xml-crypto';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { Browser } from '../support/browser';
import { samlSignIn } from '../support/saml';
import { logoutRequestXml, newId, redirectQuery } from '../support/saml-test-sp';
import { spKeys } from '../support/sp-keys';
import { startApp, type TestApp } from '../support/test-app';

const root = join(__dirname, '..', '..');
const PUBLIC_URL = 'https://idp.example';
const HOUR = 3_600_000;
const body = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');

/** A metadata server: serves each path what the test put there, and counts the requests. */
class MetadataServer {
  readonly documents = new Map<string, { status: number; xml: string }>();
  hits = 0;
  base = '';
  private readonly server: Server = createServer((req, res) => {
    this.hits++;
    const doc = this.documents.get(req.url ?? '');
    res.writeHead(doc?.status ?? 404, { 'content-type': 'application/samlmetadata+xml' }).end(doc?.xml ?? '');
  });

  async listen(host: string): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, host, resolve));
    this.base = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  serve(path: string, xml: string, status = 200): string {
    this.documents.set(path, { status, xml });
    return `${this.base}${path}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface SpDoc {
  entityId: string;
  certificate: string;
  slo: string;
  validUntil?: string;
  cacheDuration?: string;
}

/** SP metadata with an ID (so a federation can sign it), one signing certificate, a Redirect SLO and a POST ACS. */
const spMetadata = ({ entityId, certificate, slo, validUntil, cacheDuration }: SpDoc) =>
  `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="${newId()}" entityID="${entityId}"` +
  (validUntil ? ` validUntil="${validUntil}"` : '') +
  (cacheDuration ? ` cacheDuration="${cacheDuration}"` : '') +
  '>\n  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="true">\n' +
  `    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${body(certificate)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n` +
  `    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${slo}"/>\n` +
  `    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${new URL(entityId).origin}/acs" index="0"/>\n` +
  '  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n';

/** The federation's signature over the metadata's EntityDescriptor (enveloped, the Signature its first child). */
function federationSigned(xml: string, signer: { privateKey: string; certificate: string }): string {
  const id = /\sID="([^"]+)"/.exec(xml)![1];
  const sig = new SignedXml({
    privateKey: signer.privateKey,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    getKeyInfoContent: () =>
      `<ds:X509Data><ds:X509Certificate>${body(signer.certificate)}</ds:X509Certificate></ds:X509Data>`,
  });
  sig.addReference({
    xpath: `//*[@ID='${id}']`,
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: `//*[@ID='${id}']`, action: 'prepend' } });
  return sig.getSignedXml();
}

let t: TestApp;
let token: string;
let federation: MetadataServer;
let closed: MetadataServer;
let fed: { privateKey: string; certificate: string };
let stranger: { privateKey: string; certificate: string };
const auth = () => ({ Authorization: `Bearer ${token}` });
const db = () => t.app.get(DataSource);
const iso = (offsetMs = 0) => new Date(t.clock.now().getTime() + offsetMs).toISOString();

beforeAll(async () => {
  [federation, closed] = [
    await new MetadataServer().listen('127.0.0.2'),
    await new MetadataServer().listen('127.0.0.1'),
  ];
  t = await startApp({ PUBLIC_URL, OUTBOUND_ALLOW: '127.0.0.2' }, { withWorker: true });
  const admin = await t.app
    .get(UsersService)
    .create({ username: 'root', password: 'root password', isAdmin: true }, SYSTEM);
  token = (await t.app.get(ApiTokensService).create(admin, 'test', null, SYSTEM)).token;
  [fed, stranger] = [await spKeys('federation.example'), await spKeys('stranger.example')];
});
afterAll(async () => {
  await t.close();
  await federation.close();
  await closed.close();
});

const createSp = (saml: Record<string, unknown>, slug?: string) =>
  request(t.url)
    .post('/api/v1/providers')
    .set(auth())
    .send({ protocol: 'saml', ...(slug ? { slug } : {}), saml });
const refresh = (id: string) => request(t.url).post(`/api/v1/providers/${id}/refresh-metadata`).set(auth());
const row = (providerId: string) => db().getRepository(SamlServiceProvider).findOneByOrFail({ providerId });
const audits = (action: string, targetId: string) =>
  db()
    .getRepository(AuditEvent)
    .find({ where: { action, targetId }, order: { at: 'ASC' } });

/** An SP-initiated LogoutRequest for nobody, over Redirect, signed with `key`: Signoff answers it (303) only if it trusts the key. */
const logoutRequestSignedWith = (entityId: string, key: string) =>
  request(t.url)
    .get(
      `/saml/slo?${redirectQuery(
        logoutRequestXml({
          issueInstant: iso(),
          destination: `${PUBLIC_URL}/saml/slo`,
          issuer: entityId,
          nameId: 'nobody',
          format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
        }),
        key,
      )}`,
    )
    .set('Accept', 'text/html');

describe('SP metadata from a URL', () => {
  it('registers an SP from its metadata URL through the admin API, fetched once, unsigned when no certificate is pinned', async () => {
    const keys = await spKeys('plain.example');
    const url = federation.serve(
      '/plain.xml',
      spMetadata({
        entityId: 'https://plain.example/sp',
        certificate: keys.certificate,
        slo: 'https://plain.example/slo',
      }),
    );
    const before = federation.hits;
    const created = await createSp({ metadataUrl: url }, 'plain');
    expect(created.status).toBe(201);
    expect(federation.hits).toBe(before + 1);
    expect(created.body.saml).toMatchObject({
      entityId: 'https://plain.example/sp',
      singleLogout: { url: 'https://plain.example/slo', binding: 'redirect' },
      requireSignedRequests: true,
      certificates: 1,
      metadataUrl: url,
      metadataSigningCertificateSha256: null,
    });
    expect(new Date(created.body.saml.metadataRefreshedAt).getTime()).toBeCloseTo(t.clock.now().getTime(), -4);
    expect((await row(created.body.id)).certificates.map(body)).toEqual([body(keys.certificate)]);
  });

  it('registers an SP whose metadata is signed by the pinned certificate, given as PEM or as base64 DER', async () => {
    for (const [slug, pinned] of [
      ['signed-pem', fed.certificate],
      ['signed-der', body(fed.certificate)],
    ]) {
      const keys = await spKeys(`${slug}.example`);
      const url = federation.serve(
        `/${slug}.xml`,
        federationSigned(
          spMetadata({
            entityId: `https://${slug}.example/sp`,
            certificate: keys.certificate,
            slo: `https://${slug}.example/slo`,
            validUntil: iso(7 * 24 * HOUR),
          }),
          fed,
        ),
      );
      const created = await createSp({ metadataUrl: url, metadataSigningCertificate: pinned }, slug);
      expect([slug, created.status]).toEqual([slug, 201]);
      expect(created.body.saml.metadataSigningCertificateSha256).toBe(certificateFingerprint(fed.certificate));
      expect((await row(created.body.id)).metadataSigningCertificate).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    }
  });

  it.each<[string, (xml: string) => { xml: string; status?: number }, RegExp]>([
    [
      'a signature by another certificate (with that certificate in KeyInfo)',
      (xml: string) => ({ xml: federationSigned(xml, stranger) }),
      /was refused: its signature was checked against the pinned metadataSigningCertificate: .*does not verify/,
    ],
    [
      'a SingleLogoutService changed after signing',
      (xml: string) => ({
        xml: federationSigned(xml, fed).replace('https://bad.example/slo', 'https://evil.example/slo'),
      }),
      /does not verify/,
    ],
    [
      'a bad SignatureValue',
      (xml: string) => ({
        xml: federationSigned(xml, fed).replace(
          /<ds:SignatureValue>(.)/,
          (_all, c: string) => `<ds:SignatureValue>${c === 'A' ? 'B' : 'A'}`,
        ),
      }),
      /does not verify/,
    ],
    ['no signature at all', (xml: string) => ({ xml }), /exactly one signature/],
    [
      'a validUntil that has passed',
      (xml: string) => ({
        xml: federationSigned(xml.replace('entityID=', `validUntil="${iso(-HOUR)}" entityID=`), fed),
      }),
      /it expired at .* \(validUntil\)/,
    ],
    ['an HTTP error', (xml: string) => ({ xml, status: 404 }), /it answered HTTP 404/],
    ['a redirect', (xml: string) => ({ xml, status: 302 }), /redirects are not followed/],
  ])('refuses metadata with %s, with a 400 that says why, and registers nothing', async (_name, make, reason) => {
    const keys = await spKeys('bad.example');
    const doc = make(
      spMetadata({ entityId: 'https://bad.example/sp', certificate: keys.certificate, slo: 'https://bad.example/slo' }),
    );
    const url = federation.serve(`/bad-${newId()}.xml`, doc.xml, doc.status);
    const count = await db().getRepository(SamlServiceProvider).count();
    const response = await createSp({ metadataUrl: url, metadataSigningCertificate: fed.certificate });
    expect([response.status, response.body.code]).toEqual([400, 'invalid_sp_metadata']);
    expect(response.body.message).toMatch(reason);
    expect(await db().getRepository(SamlServiceProvider).count()).toBe(count);
    expect(await db().getRepository(SamlServiceProvider).existsBy({ entityId: 'https://bad.example/sp' })).toBe(false);
  });

  it('refuses a metadata URL the outbound policy refuses, at a literal address or by a DNS name, and connects to none', async () => {
    const keys = await spKeys('inside.example');
    const xml = spMetadata({
      entityId: 'https://inside.example/sp',
      certificate: keys.certificate,
      slo: 'https://inside.example/slo',
    });
    closed.serve('/inside.xml', xml);
    const port = new URL(closed.base).port;
    const count = await db().getRepository(SamlServiceProvider).count();
    for (const [url, reason] of [
      ['https://10.1.2.3/metadata.xml', /10\.1\.2\.3 is a private address, which the outbound policy does not allow/],
      ['http://169.254.169.254/latest/meta-data/', /is a link-local address/],
      [`http://127.0.0.1:${port}/inside.xml`, /127\.0\.0\.1 is a loopback address/],
      [
        `http://localhost:${port}/inside.xml`,
        /localhost is a loopback address, which the outbound policy does not allow/,
      ],
    ] as const) {
      const response = await createSp({ metadataUrl: url });
      expect([url, response.status, response.body.code]).toEqual([url, 400, 'invalid_request']);
      expect(response.body.message).toMatch(reason);
    }
    expect(closed.hits).toBe(0);
    expect(await db().getRepository(SamlServiceProvider).count()).toBe(count);
  });

  it('refuses a bad metadataUrl or metadataSigningCertificate, and metadata given two ways', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ metadataUrl: 'ftp://fed.example/sp.xml' }, /absolute http\(s\) URL/],
      [
        { metadataUrl: `${federation.base}/plain.xml`, metadataSigningCertificate: 'not a certificate!' },
        /one X\.509 certificate/,
      ],
      [{ metadataUrl: `${federation.base}/plain.xml`, metadata: '<x/>' }, /./],
      [{ metadata: '<x/>', metadataSigningCertificate: fed.certificate }, /goes with metadataUrl/],
      // Unsigned metadata over plain http could be swapped by anyone on the path at every refresh.
      [{ metadataUrl: 'http://md.example.test/sp.xml' }, /unsigned metadata must come over https/],
    ];
    for (const [saml, reason] of cases) {
      const response = await createSp(saml);
      expect(response.status).toBe(400);
      expect(JSON.stringify(response.body)).toMatch(reason);
    }
  });
});

describe('refreshing SP metadata', () => {
  let sp: { id: string; entityId: string; path: string };
  let first: { privateKey: string; certificate: string };
  let second: { privateKey: string; certificate: string };

  beforeAll(async () => {
    [first, second] = [await spKeys('roll.example'), await spKeys('roll.example')];
    const path = '/roll.xml';
    const url = federation.serve(
      path,
      federationSigned(
        spMetadata({
          entityId: 'https://roll.example/sp',
          certificate: first.certificate,
          slo: 'https://roll.example/slo',
        }),
        fed,
      ),
    );
    const created = await createSp({ metadataUrl: url, metadataSigningCertificate: fed.certificate }, 'roll');
    expect(created.status).toBe(201);
    sp = { id: created.body.id, entityId: 'https://roll.example/sp', path };
  });

  it('applies a rolled-over signing certificate and a changed SingleLogoutService, audited: a LogoutRequest signed with the new key then verifies', async () => {
    // Before: the SP's new key is not trusted yet.
    const early = await logoutRequestSignedWith(sp.entityId, second.privateKey);
    expect(early.status).toBe(400);
    expect(early.text).toContain('does not verify');

    federation.serve(
      sp.path,
      federationSigned(
        spMetadata({ entityId: sp.entityId, certificate: second.certificate, slo: 'https://roll.example/slo2' }),
        fed,
      ),
    );
    const before = await row(sp.id);
    t.clock.advance(60_000);
    const refreshed = await refresh(sp.id);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.changes).toEqual({
      certificates: {
        added: [certificateFingerprint(second.certificate)],
        removed: [certificateFingerprint(first.certificate)],
      },
      slsEndpoints: {
        before: [{ binding: 'redirect', url: 'https://roll.example/slo', responseUrl: null }],
        after: [{ binding: 'redirect', url: 'https://roll.example/slo2', responseUrl: null }],
      },
      singleLogout: {
        before: { url: 'https://roll.example/slo', responseUrl: null, binding: 'redirect' },
        after: { url: 'https://roll.example/slo2', responseUrl: null, binding: 'redirect' },
      },
    });
    expect(refreshed.body.provider.saml.singleLogout).toEqual({
      url: 'https://roll.example/slo2',
      responseUrl: null,
      binding: 'redirect',
    });
    const after = await row(sp.id);
    expect(after.certificates.map(body)).toEqual([body(second.certificate)]);
    expect(after.metadataRefreshedAt!.getTime()).toBeGreaterThan(before.metadataRefreshedAt!.getTime());

    const [audit] = await audits('saml_sp.metadata_refreshed', sp.id);
    expect(audit).toMatchObject({
      actorType: 'admin',
      details: {
        metadataUrl: `${federation.base}${sp.path}`,
        changed: ['certificates', 'slsEndpoints', 'singleLogout'],
        certificates: refreshed.body.changes.certificates,
        singleLogout: refreshed.body.changes.singleLogout,
      },
    });

    // After: the new key's LogoutRequest is answered at the new SingleLogoutService; the old key's is refused.
    const answered = await logoutRequestSignedWith(sp.entityId, second.privateKey);
    expect(answered.status).toBe(303);
    expect(answered.headers.location).toMatch(/^https:\/\/roll\.example\/slo2\?SAMLResponse=/);
    expect((await logoutRequestSignedWith(sp.entityId, first.privateKey)).status).toBe(400);

    // Nothing new: nothing changes, nothing is audited.
    const again = await refresh(sp.id);
    expect([again.status, again.body.changes]).toEqual([200, {}]);
    expect(await audits('saml_sp.metadata_refreshed', sp.id)).toHaveLength(1);
  });

  it.each([
    ['a bad signature', () => federationSigned(rolledBack(), stranger), 200, /does not verify/],
    [
      'another entityID',
      () => federationSigned(rolledBack('https://other.example/sp'), fed),
      200,
      /it is for https:\/\/other\.example\/sp, not this SP/,
    ],
    ['metadata that cannot be read', () => '<md:EntityDescriptor', 200, /not well formed/],
    ['an HTTP error', () => rolledBack(), 500, /it answered HTTP 500/],
    ['an expired validUntil', () => federationSigned(rolledBack(undefined, iso(-1000)), fed), 200, /expired/],
  ])(
    'keeps the old metadata when a refresh fails with %s, audited as a failure',
    async (_name, make, status, reason) => {
      const before = await row(sp.id);
      federation.serve(sp.path, make(), status);
      const response = await refresh(sp.id);
      expect(response.status).toBe(400);
      expect(response.body.message).toMatch(reason);
      expect(await row(sp.id)).toEqual(before);
      const failures = await audits('saml_sp.metadata_refresh_failed', sp.id);
      expect(failures[failures.length - 1].details).toEqual({
        metadataUrl: `${federation.base}${sp.path}`,
        error: expect.stringMatching(reason),
      });
      expect((await logoutRequestSignedWith(sp.entityId, second.privateKey)).headers.location).toMatch(
        /^https:\/\/roll\.example\/slo2\?/,
      );
    },
  );

  /** The SP's first metadata again (its first key, its first SLO), for another entityID or validUntil when given. */
  function rolledBack(entityId = 'https://roll.example/sp', validUntil?: string) {
    return spMetadata({ entityId, certificate: first.certificate, slo: 'https://roll.example/slo', validUntil });
  }

  it('changes where the metadata comes from with PATCH: metadata by hand only with metadataUrl: null', async () => {
    const byHand = spMetadata({
      entityId: sp.entityId,
      certificate: second.certificate,
      slo: 'https://roll.example/slo3',
    });
    const patch = (saml: Record<string, unknown>) =>
      request(t.url).patch(`/api/v1/providers/${sp.id}`).set(auth()).send({ saml });
    federation.serve(
      sp.path,
      federationSigned(
        spMetadata({ entityId: sp.entityId, certificate: second.certificate, slo: 'https://roll.example/slo2' }),
        fed,
      ),
    );
    const before = await row(sp.id);
    const refused = await patch({ metadata: byHand });
    expect([refused.status, refused.body.message]).toEqual([
      400,
      `This SP's metadata is fetched from ${federation.base}${sp.path}: to import metadata by hand instead, give metadataUrl: null with it.`,
    ]);
    expect(await row(sp.id)).toEqual(before);
    // Another pinned certificate is checked at once: the served metadata is not signed by it, so nothing changes.
    const wrongPin = await patch({ metadataSigningCertificate: stranger.certificate });
    expect([wrongPin.status, wrongPin.body.code]).toEqual([400, 'invalid_sp_metadata']);
    expect(wrongPin.body.message).toMatch(/does not verify/);
    expect(await row(sp.id)).toEqual(before);

    const stopped = await patch({ metadata: byHand, metadataUrl: null });
    expect(stopped.status).toBe(200);
    expect(stopped.body.saml).toMatchObject({
      metadataUrl: null,
      metadataSigningCertificateSha256: null,
      metadataRefreshedAt: null,
      singleLogout: { url: 'https://roll.example/slo3' },
    });
    const again = await patch({
      metadataUrl: `${federation.base}${sp.path}`,
      metadataSigningCertificate: fed.certificate,
    });
    expect(again.status).toBe(200);
    expect(again.body.saml).toMatchObject({
      metadataUrl: `${federation.base}${sp.path}`,
      singleLogout: { url: 'https://roll.example/slo2' },
    });
  });

  it('refuses to refresh an SP whose metadata was not fetched from a URL', async () => {
    const keys = await spKeys('byhand.example');
    const created = await createSp({
      metadata: spMetadata({
        entityId: 'https://byhand.example/sp',
        certificate: keys.certificate,
        slo: 'https://byhand.example/slo',
      }),
    });
    const response = await refresh(created.body.id);
    expect([response.status, response.body.message]).toEqual([400, expect.stringMatching(/not fetched from a URL/)]);
  });

  it('is run by the worker on a schedule: every SAML_METADATA_REFRESH, or the cacheDuration when shorter', async () => {
    const scheduler = new Queue(SAML_METADATA_QUEUE, {
      connection: t.app.get(RedisService).connection(),
      prefix: t.config.redisPrefix,
    });
    try {
      expect(await scheduler.getJobScheduler('refresh-due')).toMatchObject({ every: 5 * 60_000 });
    } finally {
      await scheduler.close();
    }

    const keys = await spKeys('cached.example');
    const doc = (certificate: string) =>
      spMetadata({
        entityId: 'https://cached.example/sp',
        certificate,
        slo: 'https://cached.example/slo',
        cacheDuration: 'PT1H',
      });
    const url = federation.serve('/cached.xml', doc(keys.certificate));
    const created = await createSp({ metadataUrl: url }, 'cached');
    const rolled = await spKeys('cached.example');
    federation.serve('/cached.xml', doc(rolled.certificate));
    const pass = () => t.app.get(SamlMetadataRefresher).pass();

    await pass();
    expect((await row(created.body.id)).certificates.map(body)).toEqual([body(keys.certificate)]); // not due yet
    t.clock.advance(HOUR + 1000); // the metadata's cacheDuration, shorter than SAML_METADATA_REFRESH (6h)
    await pass();
    expect((await row(created.body.id)).certificates.map(body)).toEqual([body(rolled.certificate)]);
    const [audit] = await audits('saml_sp.metadata_refreshed', created.body.id);
    expect(audit).toMatchObject({ actorType: 'system', details: { changed: ['certificates'] } });

    // A failing SP is retried within half an hour, and keeps its metadata meanwhile.
    federation.serve('/cached.xml', '', 503);
    t.clock.advance(HOUR + 1000);
    const failedBefore = (await audits('saml_sp.metadata_refresh_failed', created.body.id)).length;
    await t.app.get(SpMetadataRefresh).refreshDue();
    expect(await audits('saml_sp.metadata_refresh_failed', created.body.id)).toHaveLength(failedBefore + 1);
    await t.app.get(SpMetadataRefresh).refreshDue();
    expect(await audits('saml_sp.metadata_refresh_failed', created.body.id)).toHaveLength(failedBefore + 1);
    t.clock.advance(HOUR / 2 + 1000);
    await t.app.get(SpMetadataRefresh).refreshDue();
    expect(await audits('saml_sp.metadata_refresh_failed', created.body.id)).toHaveLength(failedBefore + 2);
    expect((await row(created.body.id)).certificates.map(body)).toEqual([body(rolled.certificate)]);
  });
});

describe('the CLI', () => {
  /** Runs the built CLI in a child process; not spawnSync: the metadata server it fetches from lives in this process. */
  const cli = (...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> => {
    const { config } = t;
    const child = spawn(process.execPath, [join(root, 'dist/apps/idp/src/cli.js'), ...args], {
      env: {
        ...process.env,
        PUBLIC_URL,
        OUTBOUND_ALLOW: '127.0.0.2',
        DATA_DIR: config.dataDir,
        REDIS_URL: config.redisUrl,
        REDIS_PREFIX: config.redisPrefix,
        DATABASE_URL: config.database.type === 'postgres' ? config.database.url : `sqlite:${config.database.path}`,
        LOG_LEVEL: 'silent',
      },
      timeout: 30_000,
    });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
  };

  it('imports an SP with import-saml-sp --metadata-url --metadata-signing-certificate, and refreshes it with refresh-saml-metadata', async () => {
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--if-needed', '--quiet'], { cwd: root });
    const [first, second] = [await spKeys('cli.example'), await spKeys('cli.example')];
    const doc = (certificate: string) =>
      federationSigned(
        spMetadata({ entityId: 'https://cli.example/sp', certificate, slo: 'https://cli.example/slo' }),
        fed,
      );
    const url = federation.serve('/cli.xml', doc(first.certificate));
    const pem = join(t.config.dataDir, 'federation.pem');
    writeFileSync(pem, fed.certificate);

    const imported = await cli(
      'import-saml-sp',
      '--metadata-url',
      url,
      '--metadata-signing-certificate',
      pem,
      '--slug',
      'cli-sp',
    );
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toMatch(
      new RegExp(
        `^registered SAML SP https://cli\\.example/sp as cli-sp \\([0-9a-f-]{36}\\); logout frontchannel_iframe over redirect\\n` +
          `metadata fetched from ${url.replace(/\./g, '\\.')}, its signature checked against the pinned certificate; the worker refreshes it from there\\n`,
      ),
    );

    federation.serve('/cli.xml', doc(second.certificate));
    const refreshed = await cli('refresh-saml-metadata', 'cli-sp');
    expect([refreshed.status, refreshed.stderr]).toEqual([0, '']);
    expect(refreshed.stdout).toBe(
      `refreshed the metadata of cli-sp from ${url}: changed certificates\n` +
        `signing certificate added: ${certificateFingerprint(second.certificate)}\n` +
        `signing certificate removed: ${certificateFingerprint(first.certificate)}\n`,
    );

    federation.serve(
      '/cli.xml',
      federationSigned(
        spMetadata({
          entityId: 'https://cli.example/sp',
          certificate: first.certificate,
          slo: 'https://cli.example/slo',
        }),
        stranger,
      ),
    );
    const refused = await cli('refresh-saml-metadata', 'cli-sp');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^signoff: The SP metadata at \S+ was refused: its signature .* does not verify/);

    const both = await cli('import-saml-sp', pem, '--metadata-url', url);
    expect([both.status, both.stderr.split('\n')[0]]).toEqual([
      2,
      'signoff: give the SP metadata XML or --metadata-url <url>, not both',
    ]);
  });
});

describe('the IdP metadata', () => {
  // A deployment of its own, on its loopback default PUBLIC_URL, where a browser can sign in to it.
  let idp: TestApp;
  beforeAll(async () => {
    idp = await startApp();
    await idp.app.get(UsersService).create({ username: 'alice', password: 'alice password' }, SYSTEM);
  });
  afterAll(() => idp.close());

  const pem = (certificateBody: string) =>
    `-----BEGIN CERTIFICATE-----\n${certificateBody}\n-----END CERTIFICATE-----\n`;

  it('is signed with the active key, with validUntil and cacheDuration: it verifies with the published certificate, as a federation aggregator checks it', async () => {
    const response = await request(idp.url).get('/saml/metadata');
    expect(response.status).toBe(200);
    const doc = parseXml(response.text);
    const entity = doc.documentElement;
    expect(new Date(entity.getAttribute('validUntil')!).getTime()).toBeCloseTo(
      idp.clock.now().getTime() + 7 * 24 * HOUR,
      -4,
    );
    expect(entity.getAttribute('cacheDuration')).toBe('PT6H');

    // The active and the next certificate are published (key rollover), and only they: no KeyInfo in the signature.
    const keys = await idp.app.get(DataSource).getRepository(SigningKey).findBy({ use: 'saml' });
    const byState = (state: string) => body(keys.find((key) => key.state === state)!.certificatePem!);
    const published = descendants(doc, NS.ds, 'X509Certificate').map((node) => node.textContent!);
    expect(published).toEqual([byState('active'), byState('next')]);

    const verify = (certificateBody: string, xml = response.text) => {
      const verifier = new SignedXml({ publicCert: pem(certificateBody), getCertFromKeyInfo: () => null });
      verifier.loadSignature(descendants(parseXml(xml), NS.ds, 'Signature')[0]);
      try {
        return verifier.checkSignature(xml);
      } catch {
        return false;
      }
    };
    expect(verify(published[0])).toBe(true);
    expect(verify(published[1])).toBe(false); // the next key does not sign yet
    const moved = response.text.replace(`${idp.url}/saml/slo/soap`, 'https://evil.example/soap');
    expect(moved).not.toBe(response.text);
    expect(verify(published[0], moved)).toBe(false);
  });

  it('is still read by samlify, and node-saml, trusting the certificates it publishes, accepts a signed-in Response', async () => {
    const metadata = (await request(idp.url).get('/saml/metadata')).text;
    const reader = samlify.IdentityProvider({ metadata });
    expect(reader.entityMeta.getEntityID()).toBe(`${idp.url}/saml/metadata`);
    expect(reader.entityMeta.getSingleSignOnService('redirect')).toBe(`${idp.url}/saml/sso`);
    expect(reader.entityMeta.getSingleLogoutService('redirect')).toBe(`${idp.url}/saml/slo`);
    const certificates = [reader.entityMeta.getX509Certificate('signing')].flat() as string[];
    expect(certificates).toHaveLength(2);

    const keys = await spKeys('reader.example');
    const sp = new SAML({
      issuer: 'https://reader.example/metadata',
      callbackUrl: 'https://reader.example/acs',
      entryPoint: reader.entityMeta.getSingleSignOnService('redirect') as string,
      idpIssuer: reader.entityMeta.getEntityID(),
      idpCert: certificates.map(pem),
      audience: 'https://reader.example/metadata',
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: true,
    });
    await idp.app
      .get(SamlSpsService)
      .import(parseSpMetadata(sp.generateServiceProviderMetadata(null, keys.certificate)), {}, SYSTEM);
    const { fields } = await samlSignIn(new Browser(idp.url), await sp.getAuthorizeUrlAsync('', undefined, {}));
    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse });
    expect(profile?.issuer).toBe(`${idp.url}/saml/metadata`);
  });
});
