import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { NS } from '../xml/namespaces';
import { signElement } from '../xml/signatures';

export interface AssertionInput {
  idpEntityId: string;
  spEntityId: string;
  acsUrl: string;
  inResponseTo: string | null;
  nameId: string;
  nameIdFormat: string;
  sessionIndex: string;
  sessionNotOnOrAfter: Date;
  authnInstant: Date;
  now: Date;
  attributes: Record<string, string[]>;
  key: KeyObject;
  certificateBody: string;
}

const ASSERTION_LIFETIME_MS = 5 * 60_000;
const SKEW_MS = 60_000;

const x = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const instant = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');
/** SAML IDs are xs:ID: they must not start with a digit. */
export const samlId = () => `_${randomBytes(20).toString('hex')}`;

/**
 * A Response with one bearer Assertion (SAML profiles §4.1.4.2): Issuer, NameID, SubjectConfirmation
 * with Recipient and InResponseTo, Conditions with the SP as the only audience, an AuthnStatement
 * with SessionIndex and SessionNotOnOrAfter, and attributes. The Assertion is signed, then the
 * Response around it, each right after its Issuer.
 */
export function buildResponse(input: AssertionInput): { xml: string; responseId: string; assertionId: string } {
  const responseId = samlId();
  const assertionId = samlId();
  const now = instant(input.now);
  const expires = instant(new Date(input.now.getTime() + ASSERTION_LIFETIME_MS));
  const inResponseTo = input.inResponseTo ? ` InResponseTo="${x(input.inResponseTo)}"` : '';
  const attributes = Object.entries(input.attributes).filter(([, values]) => values.length).map(([name, values]) =>
    `<saml:Attribute Name="${x(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values.map((value) => `<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${x(value)}</saml:AttributeValue>`).join('')}</saml:Attribute>`).join('');
  const assertion = `<saml:Assertion xmlns:saml="${NS.saml}" ID="${assertionId}" Version="2.0" IssueInstant="${now}">`
    + `<saml:Issuer>${x(input.idpEntityId)}</saml:Issuer>`
    + `<saml:Subject><saml:NameID Format="${x(input.nameIdFormat)}" NameQualifier="${x(input.idpEntityId)}" SPNameQualifier="${x(input.spEntityId)}">${x(input.nameId)}</saml:NameID>`
    + `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${expires}" Recipient="${x(input.acsUrl)}"${inResponseTo}/></saml:SubjectConfirmation></saml:Subject>`
    + `<saml:Conditions NotBefore="${instant(new Date(input.now.getTime() - SKEW_MS))}" NotOnOrAfter="${expires}"><saml:AudienceRestriction><saml:Audience>${x(input.spEntityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>`
    + `<saml:AuthnStatement AuthnInstant="${instant(input.authnInstant)}" SessionIndex="${x(input.sessionIndex)}" SessionNotOnOrAfter="${instant(input.sessionNotOnOrAfter)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`
    + (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : '')
    + '</saml:Assertion>';
  const response = `<samlp:Response xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${responseId}" Version="2.0" IssueInstant="${now}" Destination="${x(input.acsUrl)}"${inResponseTo}>`
    + `<saml:Issuer>${x(input.idpEntityId)}</saml:Issuer>`
    + '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
    + assertion
    + '</samlp:Response>';
  const signedAssertion = signElement(response, assertionId, input.key, input.certificateBody);
  return { xml: signElement(signedAssertion, responseId, input.key, input.certificateBody), responseId, assertionId };
}

/**
 * A Response without an assertion, for an AuthnRequest the IdP cannot meet (core §3.2.2.2), e.g.
 * Responder with NoPassive when the SP asked IsPassive and nobody is signed in. Signed like the others.
 */
export function buildStatusResponse(input: { idpEntityId: string; acsUrl: string; inResponseTo: string; status: string; detail: string; now: Date; key: KeyObject; certificateBody: string }): string {
  const id = samlId();
  const response = `<samlp:Response xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${id}" Version="2.0" IssueInstant="${instant(input.now)}" Destination="${x(input.acsUrl)}" InResponseTo="${x(input.inResponseTo)}">`
    + `<saml:Issuer>${x(input.idpEntityId)}</saml:Issuer>`
    + `<samlp:Status><samlp:StatusCode Value="${x(input.status)}"><samlp:StatusCode Value="${x(input.detail)}"/></samlp:StatusCode></samlp:Status>`
    + '</samlp:Response>';
  return signElement(response, id, input.key, input.certificateBody);
}
