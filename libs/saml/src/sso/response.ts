import type { KeyObject } from 'node:crypto';
import { el, instant, messageAttributes, raw, samlId, toXml, type XmlElement, type XmlNode } from '../xml/build';
import { encryptAssertion, type EncryptionRecipient } from './assertion-encryption';
import type { SamlAttribute } from './attributes';
import { NS } from '../xml/namespaces';
import { signElementOffThread, signXml } from '../xml/signatures';

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
  /** In the order sent; an attribute without values is left out. */
  attributes: SamlAttribute[];
  key: KeyObject;
  certificateBody: string;
}

const ASSERTION_LIFETIME_MS = 5 * 60_000;
const SKEW_MS = 60_000;
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const PASSWORD_PROTECTED_TRANSPORT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
const XS_STRING = {
  'xmlns:xs': 'http://www.w3.org/2001/XMLSchema',
  'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
  'xsi:type': 'xs:string',
};

/** Still exported from here for the library's callers; the one definition is in xml/build. */
export { samlId };

/**
 * A Response with one bearer Assertion (SAML profiles §4.1.4.2): Issuer, NameID, SubjectConfirmation
 * with Recipient and InResponseTo, Conditions with the SP as the only audience, an AuthnStatement
 * with SessionIndex and SessionNotOnOrAfter, and attributes. The Assertion is signed, then the
 * Response around it, each right after its Issuer (signXml: canonicalized from the tree, the RSA
 * signature off the event loop).
 */
export async function buildResponse(
  input: AssertionInput,
): Promise<{ xml: string; responseId: string; assertionId: string }> {
  const responseId = samlId();
  const assertionId = samlId();
  const response = successResponse(input, responseId, assertion(input, assertionId));
  const signedAssertion = await signXml(response, assertionId, input.key, input.certificateBody);
  const xml = toXml(await signXml(signedAssertion, responseId, input.key, input.certificateBody));
  return { xml, responseId, assertionId };
}

/**
 * buildResponse's Response with its Assertion encrypted to the SP (core §2.3.4, §6; profiles
 * §4.1.4.2): the Assertion is signed on its own (core §6.2: sign, then encrypt), encrypted to
 * `recipient` into a saml:EncryptedAssertion holding the xenc:EncryptedData, and the Response around
 * it is signed as always. Nothing of the Assertion (NameID, attributes) is left in the clear.
 */
export async function buildEncryptedResponse(
  input: AssertionInput,
  recipient: EncryptionRecipient,
): Promise<{ xml: string; responseId: string; assertionId: string }> {
  const responseId = samlId();
  const assertionId = samlId();
  const signedAssertion = toXml(
    await signXml(assertion(input, assertionId), assertionId, input.key, input.certificateBody),
  );
  const encrypted = el('saml:EncryptedAssertion', {}, [raw(await encryptAssertion(signedAssertion, recipient))]);
  // The encrypted data is raw markup, which signXml does not canonicalize: xml-crypto signs this one.
  const response = toXml(successResponse(input, responseId, encrypted));
  const xml = await signElementOffThread(response, responseId, input.key, input.certificateBody);
  return { xml, responseId, assertionId };
}

/** A Success Response carrying `body` (the Assertion or the EncryptedAssertion), unsigned. */
function successResponse(input: AssertionInput, responseId: string, body: XmlNode): XmlElement {
  return el(
    'samlp:Response',
    {
      ...messageAttributes(responseId, input.now),
      Destination: input.acsUrl,
      InResponseTo: input.inResponseTo || null,
    },
    [
      el('saml:Issuer', {}, [input.idpEntityId]),
      el('samlp:Status', {}, [el('samlp:StatusCode', { Value: SUCCESS })]),
      body,
    ],
  );
}

/** The bearer Assertion of buildResponse, unsigned. */
function assertion(input: AssertionInput, id: string): XmlElement {
  const at = (offsetMs: number) => instant(new Date(input.now.getTime() + offsetMs));
  const expires = at(ASSERTION_LIFETIME_MS);
  return el('saml:Assertion', { 'xmlns:saml': NS.saml, ID: id, Version: '2.0', IssueInstant: at(0) }, [
    el('saml:Issuer', {}, [input.idpEntityId]),
    el('saml:Subject', {}, [
      el(
        'saml:NameID',
        { Format: input.nameIdFormat, NameQualifier: input.idpEntityId, SPNameQualifier: input.spEntityId },
        [input.nameId],
      ),
      el('saml:SubjectConfirmation', { Method: BEARER }, [
        el('saml:SubjectConfirmationData', {
          NotOnOrAfter: expires,
          Recipient: input.acsUrl,
          InResponseTo: input.inResponseTo || null,
        }),
      ]),
    ]),
    el('saml:Conditions', { NotBefore: at(-SKEW_MS), NotOnOrAfter: expires }, [
      el('saml:AudienceRestriction', {}, [el('saml:Audience', {}, [input.spEntityId])]),
    ]),
    el(
      'saml:AuthnStatement',
      {
        AuthnInstant: instant(input.authnInstant),
        SessionIndex: input.sessionIndex,
        SessionNotOnOrAfter: instant(input.sessionNotOnOrAfter),
      },
      [el('saml:AuthnContext', {}, [el('saml:AuthnContextClassRef', {}, [PASSWORD_PROTECTED_TRANSPORT])])],
    ),
    attributeStatement(input.attributes),
  ]);
}

/**
 * One Attribute per attribute with values (core §2.7.3.1: Name, NameFormat, FriendlyName), each value
 * an xs:string; no AttributeStatement at all when no attribute has a value.
 */
function attributeStatement(attributes: SamlAttribute[]): XmlElement | null {
  const filled = attributes.filter((attribute) => attribute.values.length);
  if (!filled.length) return null;
  return el(
    'saml:AttributeStatement',
    {},
    filled.map((attribute) =>
      el(
        'saml:Attribute',
        { Name: attribute.name, NameFormat: attribute.nameFormat, FriendlyName: attribute.friendlyName },
        attribute.values.map((value) => el('saml:AttributeValue', XS_STRING, [value])),
      ),
    ),
  );
}

/**
 * A Response without an assertion, for an AuthnRequest the IdP cannot meet (core §3.2.2.2), e.g.
 * Responder with NoPassive when the SP asked IsPassive and nobody is signed in. Signed like the others.
 */
export async function buildStatusResponse(input: {
  idpEntityId: string;
  acsUrl: string;
  inResponseTo: string;
  status: string;
  detail: string;
  now: Date;
  key: KeyObject;
  certificateBody: string;
}): Promise<string> {
  const id = samlId();
  const response = el(
    'samlp:Response',
    { ...messageAttributes(id, input.now), Destination: input.acsUrl, InResponseTo: input.inResponseTo },
    [
      el('saml:Issuer', {}, [input.idpEntityId]),
      el('samlp:Status', {}, [
        el('samlp:StatusCode', { Value: input.status }, [el('samlp:StatusCode', { Value: input.detail })]),
      ]),
    ],
  );
  return toXml(await signXml(response, id, input.key, input.certificateBody));
}
