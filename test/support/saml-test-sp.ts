import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { SigningKey } from '@signoff/core';
import { createSign, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import { SignedXml } from 'xml-crypto';
import type { TestApp } from './test-app';

export { spKeys } from './sp-keys';

// The test-SP kit: what a SAML service provider sends Signoff, built and signed here, independently of
// Signoff's own builders. Message templates (core §3.7.1 LogoutRequest, §3.7.2 LogoutResponse, §3.4.1
// AuthnRequest), the three bindings an SP sends them over (HTTP-Redirect with its query signature,
// HTTP-POST and SOAP with an enveloped XML signature), and node-saml configured as an SP of Signoff.
// Attack helpers build on these and keep only what is their own (saml-attack.ts, the specs).

export const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
};

export const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  unknownPrincipal: 'urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal',
};

export const ALG = {
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
};

/** node:crypto's name for a Redirect-binding SigAlg (for createSign / createVerify). */
export const NODE_HASH: Record<string, string> = { [ALG.rsaSha256]: 'RSA-SHA256', [ALG.rsaSha1]: 'RSA-SHA1' };

/** A fresh message ID: `_` and 32 hex digits (an xsd:ID must not start with a digit). */
export const newId = () => `_${randomBytes(16).toString('hex')}`;

// ---- Messages ----------------------------------------------------------------------------------------

export interface LogoutRequestFields {
  /** A fresh `newId()` unless given. */
  id?: string;
  issueInstant: string;
  /** Left out when undefined. */
  destination?: string;
  /** Left out when undefined. */
  notOnOrAfter?: string;
  issuer: string;
  /** The NameID element's content as XML, so a case can put markup (a comment, an entity) inside it. */
  nameId: string;
  format: string;
  /** Left out when null or undefined: the request then names every session of the NameID. */
  sessionIndex?: string | null;
  /** XML placed right after the Issuer (e.g. Extensions, or a Signature for a wrapping attack). */
  extra?: string;
}

/**
 * A LogoutRequest (core §3.7.1), unsigned:
 * `<samlp:LogoutRequest ID Version IssueInstant [Destination] [NotOnOrAfter]>` Issuer, extra, NameID, [SessionIndex].
 */
export function logoutRequestXml(f: LogoutRequestFields): string {
  return (
    `<samlp:LogoutRequest xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${f.id ?? newId()}" Version="2.0" IssueInstant="${f.issueInstant}"` +
    (f.destination === undefined ? '' : ` Destination="${f.destination}"`) +
    (f.notOnOrAfter === undefined ? '' : ` NotOnOrAfter="${f.notOnOrAfter}"`) +
    `><saml:Issuer>${f.issuer}</saml:Issuer>${f.extra ?? ''}` +
    `<saml:NameID Format="${f.format}">${f.nameId}</saml:NameID>` +
    (f.sessionIndex == null ? '' : `<samlp:SessionIndex>${f.sessionIndex}</samlp:SessionIndex>`) +
    '</samlp:LogoutRequest>'
  );
}

export interface LogoutResponseFields {
  /** A fresh `newId()` unless given. */
  id?: string;
  issueInstant: string;
  /** Left out when undefined. */
  destination?: string;
  inResponseTo: string;
  issuer: string;
  /** The top-level StatusCode, e.g. `STATUS.success`. */
  status: string;
}

/** A LogoutResponse (core §3.7.2, §3.2.2), unsigned: `<samlp:LogoutResponse ID Version IssueInstant [Destination] InResponseTo>` Issuer, Status. */
export function logoutResponseXml(f: LogoutResponseFields): string {
  return (
    `<samlp:LogoutResponse xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${f.id ?? newId()}" Version="2.0" IssueInstant="${f.issueInstant}"` +
    (f.destination === undefined ? '' : ` Destination="${f.destination}"`) +
    ` InResponseTo="${f.inResponseTo}">` +
    `<saml:Issuer>${f.issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="${f.status}"/></samlp:Status></samlp:LogoutResponse>`
  );
}

export interface AuthnRequestFields {
  /** A fresh `newId()` unless given. */
  id?: string;
  issueInstant: string;
  issuer: string;
  /** AssertionConsumerServiceURL; the ProtocolBinding is HTTP-POST. */
  acsUrl: string;
}

/** An AuthnRequest (core §3.4.1), unsigned, asking for the Response over HTTP-POST at `acsUrl`. */
export function authnRequestXml(f: AuthnRequestFields): string {
  return (
    `<samlp:AuthnRequest xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${f.id ?? newId()}" Version="2.0" IssueInstant="${f.issueInstant}"` +
    ` AssertionConsumerServiceURL="${f.acsUrl}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">` +
    `<saml:Issuer>${f.issuer}</saml:Issuer></samlp:AuthnRequest>`
  );
}

// ---- Bindings ----------------------------------------------------------------------------------------

/** HTTP-Redirect encoding (bindings §3.4.4.1): DEFLATE, base64, percent-encoded for a query. A Buffer is taken as already deflated. */
export const toRedirect = (message: string | Buffer) =>
  encodeURIComponent((typeof message === 'string' ? deflateRawSync(Buffer.from(message)) : message).toString('base64'));

/** The XML in an HTTP-Redirect parameter's value, as URLSearchParams gives it (already percent-decoded). */
export const fromRedirect = (value: string) => inflateRawSync(Buffer.from(value, 'base64')).toString('utf8');

export interface RedirectOptions {
  /** SAMLRequest unless said. */
  field?: 'SAMLRequest' | 'SAMLResponse';
  /** Left out when undefined. */
  relayState?: string;
  /** RSA-SHA256 unless said. */
  sigAlg?: string;
}

/**
 * An HTTP-Redirect query (bindings §3.4.4.1): `SAMLRequest=…[&RelayState=…]`, and when `key` is not null
 * `&SigAlg=…&Signature=…`, signed over exactly the bytes before `&Signature`. `message` as for `toRedirect`.
 */
export function redirectQuery(
  message: string | Buffer,
  key: string | null,
  { field = 'SAMLRequest', relayState, sigAlg = ALG.rsaSha256 }: RedirectOptions = {},
): string {
  let query = `${field}=${toRedirect(message)}`;
  if (relayState !== undefined) query += `&RelayState=${encodeURIComponent(relayState)}`;
  if (key) {
    query += `&SigAlg=${encodeURIComponent(sigAlg)}`;
    query += `&Signature=${encodeURIComponent(createSign(NODE_HASH[sigAlg]).update(query).sign(key, 'base64'))}`;
  }
  return query;
}

export interface EnvelopedOptions {
  /** The ID of the element to sign: the message's own (its first `ID` attribute) unless given. */
  id?: string;
  /** The signer's certificate (PEM), put in KeyInfo as X509Data; no KeyInfo unless given. */
  certificate?: string;
  /** RSA-SHA256 unless said. */
  signatureAlgorithm?: string;
  /** SHA-256 unless said. */
  digestAlgorithm?: string;
}

/**
 * An enveloped XML signature by `key`, as an SP signs for HTTP-POST and SOAP (core §5.4): exclusive c14n,
 * one Reference to `#id` (enveloped-signature, exc-c14n), the `ds:Signature` right after that element's Issuer.
 */
export function signEnveloped(
  xml: string,
  key: string,
  {
    id = /\sID="([^"]+)"/.exec(xml)![1],
    certificate,
    signatureAlgorithm = ALG.rsaSha256,
    digestAlgorithm = ALG.sha256,
  }: EnvelopedOptions = {},
): string {
  const body = certificate?.replace(/-----[A-Z ]+-----|\s/g, '');
  const signer = new SignedXml({
    privateKey: key,
    signatureAlgorithm,
    canonicalizationAlgorithm: ALG.excC14n,
    ...(body === undefined
      ? {}
      : { getKeyInfoContent: () => `<ds:X509Data><ds:X509Certificate>${body}</ds:X509Certificate></ds:X509Data>` }),
  });
  signer.addReference({ xpath: `//*[@ID='${id}']`, transforms: [ALG.enveloped, ALG.excC14n], digestAlgorithm });
  signer.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: `//*[@ID='${id}']/*[local-name(.)='Issuer']`, action: 'after' },
  });
  return signer.getSignedXml();
}

/** A signed message's `ds:Signature` element as text (from the first `<ds:Signature` to the last `</ds:Signature>`). */
export const signatureOf = (signed: string) => /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signed)![0];

/** HTTP-POST encoding (bindings §3.5.4): the XML in base64, for a SAMLRequest or SAMLResponse form field. */
export const postField = (xml: string) => Buffer.from(xml).toString('base64');

/** A SOAP 1.1 envelope with `xml` as its body (bindings §3.2.3). */
export const soapEnvelope = (xml: string) =>
  `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${xml}</soap:Body></soap:Envelope>`;

// ---- node-saml as an SP of Signoff ------------------------------------------------------------------

export type SlsBinding = 'SOAP' | 'HTTP-POST' | 'HTTP-Redirect';

/** Signoff's active SAML signing certificate (PEM), as an SP pins it. */
export async function idpCertificate(t: TestApp): Promise<string> {
  return (await t.app.get(DataSource).getRepository(SigningKey).findOneByOrFail({ use: 'saml', state: 'active' }))
    .certificatePem!;
}

/**
 * node-saml as an SP at `base` (entity ID `<base>/metadata`, ACS `<base>/acs`, SingleLogoutService
 * `<base>/slo`) of Signoff at `idp.url`: it signs what it sends with `privateKey` (RSA-SHA256, SHA-256
 * digests), wants Responses and assertions signed by `idp.cert`, and checks InResponseTo always.
 */
export function nodeSamlSp(idp: { url: string; cert: string }, base: string, privateKey: string): SAML {
  return new SAML({
    issuer: `${base}/metadata`,
    callbackUrl: `${base}/acs`,
    logoutCallbackUrl: `${base}/slo`,
    entryPoint: `${idp.url}/saml/sso`,
    logoutUrl: `${idp.url}/saml/slo`,
    idpIssuer: `${idp.url}/saml/metadata`,
    idpCert: idp.cert,
    audience: `${base}/metadata`,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    privateKey,
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
    validateInResponseTo: ValidateInResponseTo.always,
  });
}

/** The SP's own metadata as node-saml writes it for `certificate`, its SingleLogoutService put on `binding` at `location`. */
export function nodeSamlMetadata(saml: SAML, certificate: string, binding: SlsBinding, location: string): string {
  return saml
    .generateServiceProviderMetadata(null, certificate)
    .replace(
      /<SingleLogoutService [^>]*\/>/,
      `<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${location}"/>`,
    );
}
