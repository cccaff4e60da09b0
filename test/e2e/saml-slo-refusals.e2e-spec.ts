import { DOMParser } from '@xmldom/xmldom';
import { AuditEvent, LogoutOperation, SamlSession, SYSTEM, UsersService } from '@signoff/core';
import { createVerify } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import request, { type Response } from 'supertest';
import { DataSource } from 'typeorm';
import { SignedXml } from 'xml-crypto';
import { Browser } from '../support/browser';
import { samlSignIn } from '../support/saml';
import { type AttackSp as Sp, registerAttackSp } from '../support/saml-attack';
import {
  ALG,
  fromRedirect,
  idpCertificate,
  type LogoutRequestFields,
  logoutRequestXml,
  newId,
  NODE_HASH,
  NS,
  postField,
  redirectQuery as kitRedirectQuery,
  signatureOf,
  signEnveloped as kitSignEnveloped,
  soapEnvelope,
  spKeys,
  STATUS,
} from '../support/saml-test-sp';
import { startApp, type TestApp } from '../support/test-app';

// Bad input to the SAML Single Logout endpoints (Redirect, POST, SOAP). Every LogoutRequest here is built
// and signed by the test-SP kit (support/saml-test-sp.ts), independently of the app's own builders.
// Each case must be refused (an error page or SOAP fault, never a SAMLResponse) or answered with a
// LogoutResponse error status, and must leave alice signed in with her SAML session alive. A positive
// control at the end proves the same builder's valid request is accepted, so the refusals cannot pass
// vacuously.

/** What the IdP issued to one user at one SP, as the SP (and the SamlSession row) knows it. */
interface Issued {
  nameId: string;
  sessionIndex: string;
  format: string;
  sessionId: string;
}

let t: TestApp;
let db: DataSource;
let idpCert: string;
let victim: Sp; // the SP alice is signed in to; requires signed requests
let other: Sp; // another registered SP, with its own key
let attacker: { privateKey: string; certificate: string }; // a key no SP registered
let aliceBrowser: Browser;
let alice: Issued;

beforeAll(async () => {
  t = await startApp({}, { withWorker: true });
  db = t.app.get(DataSource);
  idpCert = await idpCertificate(t);
  for (const username of ['alice', 'bob']) {
    await t.app
      .get(UsersService)
      .create({ username, password: `${username} password`, email: `${username}@example.com` }, SYSTEM);
  }
  victim = await registerSp('victim');
  other = await registerSp('other');
  attacker = await spKeys('attacker.example');
  aliceBrowser = new Browser(t.url);
  alice = await signInAt(victim, aliceBrowser, 'alice');
});
afterAll(() => t?.close());

/** A node-saml SP registered from its own metadata, requiring signed requests, whose SingleLogoutService is HTTP-Redirect. */
const registerSp = (name: string): Promise<Sp> =>
  registerAttackSp(t, name, { import: { requireSignedRequests: true } });

/** SSO into `sp` as `username`; what the SP learned, checked against the SamlSession row. */
async function signInAt(sp: Sp, browser: Browser, username: string): Promise<Issued> {
  const { fields } = await samlSignIn(browser, await sp.saml.getAuthorizeUrlAsync('', undefined, {}), {
    username,
    password: `${username} password`,
  });
  const { profile } = await sp.saml.validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse });
  const session = await db.getRepository(SamlSession).findOneByOrFail({ sessionIndex: profile!.sessionIndex! });
  expect(session).toMatchObject({ nameId: profile!.nameID, endedAt: null });
  return {
    nameId: profile!.nameID,
    sessionIndex: profile!.sessionIndex!,
    format: session.nameIdFormat,
    sessionId: session.id,
  };
}

// ---- The kit's LogoutRequest builder (core §3.7.1) and signers, defaulting to alice at the victim SP ---

type RequestFields = Required<LogoutRequestFields>;

const iso = (offsetMs = 0) => new Date(t.clock.now().getTime() + offsetMs).toISOString();

/** A LogoutRequest naming alice's session at the victim SP by default: valid in every field. */
function logoutRequest(fields: Partial<RequestFields> = {}): { id: string; xml: string } {
  const f: RequestFields = {
    id: newId(),
    issuer: victim.entityId,
    destination: `${t.url}/saml/slo`,
    issueInstant: iso(),
    notOnOrAfter: iso(5 * 60_000),
    nameId: alice.nameId,
    format: alice.format,
    sessionIndex: alice.sessionIndex,
    extra: '',
    ...fields,
  };
  // A `destination: undefined` field (wrappedInExtensions() on the front channel) has always been written
  // as Destination="undefined"; `${…}` keeps it so, and the wrapping attacks' bytes with it.
  return { id: f.id, xml: logoutRequestXml({ ...f, destination: `${f.destination}` }) };
}

interface SignOptions {
  key?: string;
  certificate?: string;
  signatureAlgorithm?: string;
  digestAlgorithm?: string;
}

/** The kit's enveloped signature (POST, SOAP) over the element `id`, by the victim SP with its certificate in KeyInfo unless said. */
function signEnveloped(
  xml: string,
  id: string,
  {
    key = victim.privateKey,
    certificate = victim.certificate,
    signatureAlgorithm = ALG.rsaSha256,
    digestAlgorithm = ALG.sha256,
  }: SignOptions = {},
): string {
  return kitSignEnveloped(xml, key, { id, certificate, signatureAlgorithm, digestAlgorithm });
}

interface RedirectOptions {
  key?: string | null;
  relayState?: string;
  sigAlg?: string;
}

/** The kit's HTTP-Redirect query (bindings §3.4.4.1), signed by the victim SP unless `key` says another, or null for none. */
const redirectQuery = (
  message: string | Buffer,
  { key = victim.privateKey, relayState, sigAlg }: RedirectOptions = {},
) => kitRedirectQuery(message, key, { relayState, sigAlg });

// ---- Sending, as an SP's browser (no Signoff cookie) or an SP's server would ----------------------

const viaRedirect = (query: string) => request(t.url).get(`/saml/slo?${query}`).set('Accept', 'text/html');
/** `relayed: '1'` skips the relay page a cookie-less cross-site POST first gets. */
const viaPost = (xml: string, relayState?: string) =>
  request(t.url)
    .post('/saml/slo')
    .type('form')
    .set('Accept', 'text/html')
    .send({
      SAMLRequest: postField(xml),
      relayed: '1',
      ...(relayState === undefined ? {} : { RelayState: relayState }),
    });
const viaSoap = (envelope: string) =>
  request(t.url).post('/saml/slo/soap').set('Content-Type', 'text/xml').send(envelope);

/** A request signed for the binding it is sent on (Redirect: query signature; POST/SOAP: enveloped). */
const signedRedirect = (fields: Partial<RequestFields> = {}, options: RedirectOptions = {}) =>
  viaRedirect(redirectQuery(logoutRequest(fields).xml, options));
function signedPost(fields: Partial<RequestFields> = {}, relayState?: string) {
  const { id, xml } = logoutRequest(fields);
  return viaPost(signEnveloped(xml, id), relayState);
}
function signedSoap(fields: Partial<RequestFields> = {}) {
  const { id, xml } = logoutRequest({ destination: `${t.url}/saml/slo/soap`, ...fields });
  return viaSoap(soapEnvelope(signEnveloped(xml, id)));
}

// ---- Hostile documents -------------------------------------------------------------------------------

const XXE = '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>';
const LAUGHS = `<!DOCTYPE r [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>`;

/** The SP's genuine signed request for nobody in particular: the raw material of the wrapping attacks. */
function genuineSigned(destination = `${t.url}/saml/slo`) {
  const { id, xml } = logoutRequest({ nameId: 'nobody', sessionIndex: '_nobody', destination });
  return { id, signed: signEnveloped(xml, id) };
}

/** XSW: the genuine signed request hidden in Extensions of an unsigned outer one naming alice. */
function wrappedInExtensions(destination?: string): string {
  return logoutRequest({
    destination,
    extra: `<samlp:Extensions>${genuineSigned(destination).signed}</samlp:Extensions>`,
  }).xml;
}

/** XSW: an outer request naming alice that carries the genuine Signature and reuses its ID; the genuine (unsigned) copy hides in Extensions. */
function sameIdWrapped(): string {
  const { id, signed } = genuineSigned();
  const signature = signatureOf(signed);
  return logoutRequest({
    id,
    extra: `${signature}<samlp:Extensions>${signed.replace(signature, '')}</samlp:Extensions>`,
  }).xml;
}

/** alice's request signed by the attacker, with the SP's genuine Signature (from another message) added as a second one. */
function twoSignatures(): string {
  const { id, xml } = logoutRequest();
  const forged = signEnveloped(xml, id, { key: attacker.privateKey, certificate: attacker.certificate });
  return forged.replace('</saml:Issuer>', `</saml:Issuer>${signatureOf(genuineSigned().signed)}`);
}

// ---- Reading the IdP's answers ---------------------------------------------------------------------

const parse = (xml: string) => new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
const statusCodes = (doc: Document) =>
  Array.from(doc.getElementsByTagNameNS(NS.samlp, 'StatusCode') as ArrayLike<Element>).map((code) =>
    code.getAttribute('Value'),
  );

/** The LogoutResponse a Redirect/POST request got: a 303 to the SP's SingleLogoutService, signed by the IdP over the query. */
function redirectedLogoutResponse(response: Response, sp = victim): { doc: Document; relayState: string | null } {
  expect(response.status).toBe(303);
  const location: string = response.headers.location;
  expect(location.startsWith(`${sp.sls}?`)).toBe(true);
  const query = location.slice(location.indexOf('?') + 1);
  const [signedPart, signature] = query.split('&Signature=');
  const params = new URLSearchParams(query);
  expect(
    createVerify(NODE_HASH[params.get('SigAlg')!])
      .update(signedPart)
      .verify(idpCert, Buffer.from(decodeURIComponent(signature), 'base64')),
  ).toBe(true);
  return { doc: parse(fromRedirect(params.get('SAMLResponse')!)), relayState: params.get('RelayState') };
}

/** The LogoutResponse in a SOAP reply, its enveloped signature checked against the IdP's certificate. */
function soapLogoutResponse(response: Response): Document {
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/xml/);
  const doc = parse(response.text);
  const [logoutResponse] = Array.from(doc.getElementsByTagNameNS(NS.samlp, 'LogoutResponse') as ArrayLike<Element>);
  const verifier = new SignedXml({ publicCert: idpCert, getCertFromKeyInfo: () => null });
  verifier.loadSignature(logoutResponse.getElementsByTagNameNS(NS.ds, 'Signature')[0]);
  expect(verifier.checkSignature(response.text)).toBe(true);
  return doc;
}

type Outcome = { refused: string } | { answered: string[] };
type Binding = 'redirect' | 'post' | 'soap';

function expectOutcome(binding: Binding, response: Response, outcome: Outcome, sp = victim): void {
  if ('refused' in outcome) {
    if (binding === 'soap') {
      expect(response.status).toBe(500);
      const fault = /<faultstring>([^<]*)<\/faultstring>/.exec(response.text)?.[1];
      expect(fault).toContain('The logout request was refused: ');
      expect(fault).toContain(outcome.refused);
      expect(response.text).not.toContain('LogoutResponse');
    } else {
      expect([response.status, response.headers.location]).toEqual([400, undefined]);
      expect(response.text).toContain('The logout request was refused: ');
      expect(/<p class="error">([^<]*)/.exec(response.text)?.[1]).toContain(outcome.refused);
      expect(response.text).not.toContain('SAMLResponse');
    }
    return;
  }
  const doc = binding === 'soap' ? soapLogoutResponse(response) : redirectedLogoutResponse(response, sp).doc;
  expect(statusCodes(doc)).toEqual(outcome.answered);
}

/** Nothing was ended: alice is still signed in, her SAML session is live, and no logout operation ever started. */
async function expectNothingEnded(): Promise<void> {
  expect(await aliceBrowser.signedInAs()).toBe('alice');
  expect(await db.getRepository(SamlSession).findOneByOrFail({ id: alice.sessionId })).toMatchObject({
    endedAt: null,
    state: 'active',
  });
  expect(await db.getRepository(LogoutOperation).count()).toBe(0);
}

const UNKNOWN = { answered: [STATUS.requester, STATUS.unknownPrincipal] };

interface Case {
  binding: Binding;
  name: string;
  send: () => Promise<Response>;
  outcome: Outcome;
  /** The SP whose SingleLogoutService gets the LogoutResponse (the victim SP unless said). */
  answeredTo?: () => Sp;
}

const cases: Case[] = [
  // HTTP-Redirect: signature over the raw query.
  {
    binding: 'redirect',
    name: 'an unknown Issuer',
    outcome: { refused: 'not a registered service provider' },
    send: () =>
      viaRedirect(
        redirectQuery(logoutRequest({ issuer: 'https://evil.example/metadata' }).xml, { key: attacker.privateKey }),
      ),
  },
  {
    binding: 'redirect',
    name: 'no signature',
    outcome: { refused: 'not signed' },
    send: () => viaRedirect(redirectQuery(logoutRequest().xml, { key: null })),
  },
  {
    binding: 'redirect',
    name: 'a signature by another key',
    outcome: { refused: 'does not verify' },
    send: () => viaRedirect(redirectQuery(logoutRequest().xml, { key: attacker.privateKey })),
  },
  {
    binding: 'redirect',
    name: "alice's request swapped in under a signature for another",
    outcome: { refused: 'does not verify' },
    send: () => {
      const genuine = redirectQuery(logoutRequest({ nameId: 'nobody' }).xml);
      const swapped = kitRedirectQuery(logoutRequest().xml, null);
      return viaRedirect(genuine.replace(/^SAMLRequest=[^&]*/, swapped));
    },
  },
  {
    binding: 'redirect',
    name: 'a RelayState changed after signing',
    outcome: { refused: 'does not verify' },
    send: () =>
      viaRedirect(redirectQuery(logoutRequest().xml, { relayState: 'r1' }).replace('RelayState=r1', 'RelayState=r2')),
  },
  {
    binding: 'redirect',
    name: 'an external entity (signed)',
    outcome: { refused: 'DOCTYPE' },
    send: () => viaRedirect(redirectQuery(XXE + logoutRequest({ nameId: '&xxe;' }).xml)),
  },
  {
    binding: 'redirect',
    name: 'entity expansion (signed)',
    outcome: { refused: 'DOCTYPE' },
    send: () => viaRedirect(redirectQuery(LAUGHS + logoutRequest({ nameId: '&d;' }).xml)),
  },
  {
    binding: 'redirect',
    name: 'a DEFLATE bomb (10 MB of spaces)',
    outcome: { refused: 'inflates to more than' },
    send: () => viaRedirect(redirectQuery(deflateRawSync(Buffer.alloc(10 * 1024 * 1024, ' '), { level: 9 }))),
  },
  {
    binding: 'redirect',
    name: 'another Destination (signed)',
    outcome: { refused: 'Destination' },
    send: () => signedRedirect({ destination: 'https://evil.example/saml/slo' }),
  },
  {
    binding: 'redirect',
    name: 'a RelayState of 81 bytes',
    outcome: { refused: 'RelayState is longer than 80 bytes' },
    send: () => signedRedirect({}, { relayState: 'r'.repeat(81) }),
  },
  {
    binding: 'redirect',
    name: 'an RSA-SHA1 signature',
    outcome: { refused: 'not accepted' },
    send: () => viaRedirect(redirectQuery(logoutRequest().xml, { sigAlg: ALG.rsaSha1 })),
  },
  {
    binding: 'redirect',
    name: 'an IssueInstant years ago',
    outcome: { refused: 'IssueInstant' },
    send: () => signedRedirect({ issueInstant: '2020-01-01T00:00:00Z' }),
  },
  {
    binding: 'redirect',
    name: 'a replayed request ID',
    outcome: { refused: 'already used' },
    send: async () => {
      const query = redirectQuery(logoutRequest({ nameId: 'nobody' }).xml);
      expectOutcome('redirect', await viaRedirect(query), UNKNOWN); // the first use is answered
      return viaRedirect(query);
    },
  },
  {
    binding: 'redirect',
    name: 'a NameID matching no session',
    outcome: UNKNOWN,
    send: () => signedRedirect({ nameId: 'nobody' }),
  },
  {
    binding: 'redirect',
    name: "alice's NameID with a SessionIndex matching none of hers",
    outcome: UNKNOWN,
    send: () => signedRedirect({ sessionIndex: '_not-a-session' }),
  },
  {
    binding: 'redirect',
    name: "alice's NameID in another Format",
    outcome: UNKNOWN,
    send: () => signedRedirect({ format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' }),
  },
  {
    binding: 'redirect',
    name: 'a comment inside the NameID (the whole text counts)',
    outcome: UNKNOWN,
    send: () => signedRedirect({ nameId: `${alice.nameId}<!---->.evil` }),
  },
  {
    binding: 'redirect',
    name: 'an expired NotOnOrAfter',
    outcome: { answered: [STATUS.requester] },
    send: () => signedRedirect({ issueInstant: iso(-120_000), notOnOrAfter: iso(-60_000) }),
  },
  {
    binding: 'redirect',
    name: "alice's session named by another registered SP",
    outcome: UNKNOWN,
    answeredTo: () => other,
    send: () => viaRedirect(redirectQuery(logoutRequest({ issuer: other.entityId }).xml, { key: other.privateKey })),
  },

  // HTTP-POST: enveloped signature.
  {
    binding: 'post',
    name: 'no signature',
    outcome: { refused: 'not signed' },
    send: () => viaPost(logoutRequest().xml),
  },
  {
    binding: 'post',
    name: "the attacker's key and certificate in KeyInfo",
    outcome: { refused: 'does not verify' },
    send: () => {
      const { id, xml } = logoutRequest();
      return viaPost(signEnveloped(xml, id, { key: attacker.privateKey, certificate: attacker.certificate }));
    },
  },
  {
    binding: 'post',
    name: 'a signed NameID changed after signing',
    outcome: { refused: 'does not verify' },
    send: () => {
      const { id, xml } = logoutRequest({ nameId: 'nobody' });
      return viaPost(signEnveloped(xml, id).replace('>nobody<', `>${alice.nameId}<`));
    },
  },
  {
    binding: 'post',
    name: 'the signed request wrapped in Extensions of an unsigned one',
    outcome: { refused: 'exactly one signature' },
    send: () => viaPost(wrappedInExtensions()),
  },
  {
    binding: 'post',
    name: 'the genuine signature on an outer request reusing the signed ID',
    outcome: { refused: 'more than one element with the signed ID' },
    send: () => viaPost(sameIdWrapped()),
  },
  {
    binding: 'post',
    name: 'a second signature',
    outcome: { refused: 'exactly one signature' },
    send: () => viaPost(twoSignatures()),
  },
  {
    binding: 'post',
    name: 'a SHA-1 digest',
    outcome: { refused: 'not accepted' },
    send: () => {
      const { id, xml } = logoutRequest();
      return viaPost(signEnveloped(xml, id, { digestAlgorithm: ALG.sha1 }));
    },
  },
  {
    binding: 'post',
    name: 'an RSA-SHA1 signature',
    outcome: { refused: 'not accepted' },
    send: () => {
      const { id, xml } = logoutRequest();
      return viaPost(signEnveloped(xml, id, { signatureAlgorithm: ALG.rsaSha1 }));
    },
  },
  {
    binding: 'post',
    name: 'an external entity',
    outcome: { refused: 'DOCTYPE' },
    send: () => {
      const { id, xml } = logoutRequest({ nameId: 'placeholder' });
      return viaPost(XXE + signEnveloped(xml, id).replace('placeholder', '&xxe;'));
    },
  },
  {
    binding: 'post',
    name: 'another Destination (signed)',
    outcome: { refused: 'Destination' },
    send: () => signedPost({ destination: `${t.url}/saml/slo/soap` }),
  },
  {
    binding: 'post',
    name: 'a RelayState of 81 bytes',
    outcome: { refused: 'RelayState is longer than 80 bytes' },
    send: () => signedPost({}, 'r'.repeat(81)),
  },
  {
    binding: 'post',
    name: 'an IssueInstant years ago',
    outcome: { refused: 'IssueInstant' },
    send: () => signedPost({ issueInstant: '2020-01-01T00:00:00Z' }),
  },
  {
    binding: 'post',
    name: 'a NameID matching no session',
    outcome: UNKNOWN,
    send: () => signedPost({ nameId: 'nobody' }),
  },
  {
    binding: 'post',
    name: 'a comment inside the NameID (the whole text counts)',
    outcome: UNKNOWN,
    send: () => signedPost({ nameId: `${alice.nameId}<!---->.evil` }),
  },
  {
    binding: 'post',
    name: 'an expired NotOnOrAfter',
    outcome: { answered: [STATUS.requester] },
    send: () => signedPost({ issueInstant: iso(-120_000), notOnOrAfter: iso(-60_000) }),
  },

  // SOAP: untrustworthy gets a SOAP fault (500), unanswerable a LogoutResponse (200).
  {
    binding: 'soap',
    name: 'an unknown Issuer',
    outcome: { refused: 'not a registered service provider' },
    send: () => {
      const { id, xml } = logoutRequest({
        issuer: 'https://evil.example/metadata',
        destination: `${t.url}/saml/slo/soap`,
      });
      return viaSoap(
        soapEnvelope(signEnveloped(xml, id, { key: attacker.privateKey, certificate: attacker.certificate })),
      );
    },
  },
  {
    binding: 'soap',
    name: 'no signature',
    outcome: { refused: 'not signed' },
    send: () => viaSoap(soapEnvelope(logoutRequest({ destination: `${t.url}/saml/slo/soap` }).xml)),
  },
  {
    binding: 'soap',
    name: "the attacker's key and certificate in KeyInfo",
    outcome: { refused: 'does not verify' },
    send: () => {
      const { id, xml } = logoutRequest({ destination: `${t.url}/saml/slo/soap` });
      return viaSoap(
        soapEnvelope(signEnveloped(xml, id, { key: attacker.privateKey, certificate: attacker.certificate })),
      );
    },
  },
  {
    binding: 'soap',
    name: 'the signed request wrapped in Extensions of an unsigned one',
    outcome: { refused: 'exactly one signature' },
    send: () => viaSoap(soapEnvelope(wrappedInExtensions(`${t.url}/saml/slo/soap`))),
  },
  {
    binding: 'soap',
    name: 'an external entity in the envelope',
    outcome: { refused: 'DOCTYPE' },
    send: () =>
      viaSoap(XXE + soapEnvelope(logoutRequest({ destination: `${t.url}/saml/slo/soap`, nameId: '&xxe;' }).xml)),
  },
  {
    binding: 'soap',
    name: 'the front-channel Destination',
    outcome: { refused: 'Destination' },
    send: () => signedSoap({ destination: `${t.url}/saml/slo` }),
  },
  {
    binding: 'soap',
    name: 'an IssueInstant years ago',
    outcome: { refused: 'IssueInstant' },
    send: () => signedSoap({ issueInstant: '2020-01-01T00:00:00Z' }),
  },
  {
    binding: 'soap',
    name: 'a replayed request ID',
    outcome: { refused: 'already used' },
    send: async () => {
      const { id, xml } = logoutRequest({ destination: `${t.url}/saml/slo/soap`, nameId: 'nobody' });
      const envelope = soapEnvelope(signEnveloped(xml, id));
      expectOutcome('soap', await viaSoap(envelope), UNKNOWN);
      return viaSoap(envelope);
    },
  },
  {
    binding: 'soap',
    name: 'a NameID matching no session',
    outcome: UNKNOWN,
    send: () => signedSoap({ nameId: 'nobody' }),
  },
  {
    binding: 'soap',
    name: 'a comment inside the NameID (the whole text counts)',
    outcome: UNKNOWN,
    send: () => signedSoap({ nameId: `${alice.nameId}<!---->.evil` }),
  },
  {
    binding: 'soap',
    name: 'an expired NotOnOrAfter',
    outcome: { answered: [STATUS.requester] },
    send: () => signedSoap({ issueInstant: iso(-120_000), notOnOrAfter: iso(-60_000) }),
  },
];

/** The details of every `saml.message_refused` audit event so far, oldest first. */
async function refusalsRecorded(): Promise<Array<Record<string, unknown>>> {
  const events = await t.app
    .get(DataSource)
    .getRepository(AuditEvent)
    .find({ where: { action: 'saml.message_refused' }, order: { at: 'ASC', id: 'ASC' } });
  return events.map((event) => event.details as Record<string, unknown>);
}

describe('SAML Single Logout refuses bad input and ends nothing', () => {
  it.each(cases)('$binding: $name', async ({ binding, send, outcome, answeredTo }) => {
    const before = await refusalsRecorded();
    expectOutcome(binding, await send(), outcome, answeredTo?.());
    await expectNothingEnded();
    // Every refusal is audited (SamlIntake), with the binding and the reason; an answered request is not a refusal.
    const recorded = (await refusalsRecorded()).slice(before.length);
    if ('refused' in outcome)
      expect(recorded).toEqual([
        expect.objectContaining({
          message: 'LogoutRequest',
          binding,
          reason: expect.stringContaining(outcome.refused),
        }),
      ]);
    else expect(recorded).toEqual([]);
  });

  it('redirect: a Signature that is not valid percent-encoding', async () => {
    const query = redirectQuery(logoutRequest().xml).replace(/&Signature=.*$/, '&Signature=%ZZ');
    expectOutcome('redirect', await viaRedirect(query), { refused: 'not valid percent-encoding' });
  });
});

describe('positive control (runs last)', () => {
  it("accepts the same builder's valid signed Redirect request: bob is signed out, the SP gets Success, alice is untouched", async () => {
    const bobBrowser = new Browser(t.url);
    const bob = await signInAt(victim, bobBrowser, 'bob');
    const { id, xml } = logoutRequest({ nameId: bob.nameId, format: bob.format, sessionIndex: bob.sessionIndex });
    const query = redirectQuery(xml, { relayState: 'bye' });
    // The SP sends bob's browser; Signoff runs the logout and 303s (perhaps via its own pages) to the SP's answer.
    let response = await bobBrowser.get(`/saml/slo?${query}`);
    for (let hops = 0; hops < 10 && response.status === 303 && response.headers.location.startsWith('/'); hops++)
      response = await bobBrowser.get(response.headers.location);
    const { doc, relayState } = redirectedLogoutResponse(response);
    expect(statusCodes(doc)).toEqual([STATUS.success]);
    expect([doc.documentElement.getAttribute('InResponseTo'), relayState]).toEqual([id, 'bye']);
    expect(await bobBrowser.signedInAs()).toBeNull();
    expect((await db.getRepository(SamlSession).findOneByOrFail({ id: bob.sessionId })).endedAt).toBeInstanceOf(Date);
    // Only bob's session ended.
    expect(await aliceBrowser.signedInAs()).toBe('alice');
    expect((await db.getRepository(SamlSession).findOneByOrFail({ id: alice.sessionId })).endedAt).toBeNull();
    // And the accepted request cannot be used a second time.
    expectOutcome('redirect', await viaRedirect(query), { refused: 'already used' });
  });
});
