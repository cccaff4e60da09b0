import type { KeyObject } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { rsaSigner } from '../../../../test/support/sp-keys';
import { certificateBody } from '../metadata/idp-metadata';
import { NS } from '../xml/namespaces';
import { children, parseXml } from '../xml/safe-xml';
import { verifyEnveloped } from '../xml/signatures';
import { buildResponse, buildStatusResponse } from './response';

let key: KeyObject;
let certificate: string;
beforeAll(async () => {
  ({ key, certificate } = await rsaSigner('idp.example'));
});

const now = new Date('2026-03-04T05:06:07.890Z');
const BASIC = 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic';
const URI = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';
// Values with XML specials, edge whitespace and line ends a parser may change: they must come back byte for byte.
const nameId = ' alice<&>"\'@example.com\u2028\u0085 ';
const sessionIndex = '_s1&"';

const response = () =>
  buildResponse({
    idpEntityId: 'https://idp.example/saml/metadata',
    spEntityId: 'https://sp.example/metadata',
    acsUrl: 'https://sp.example/acs?a=1&b=2',
    inResponseTo: '_req1',
    nameId,
    nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    sessionIndex,
    sessionNotOnOrAfter: new Date(now.getTime() + 3_600_000),
    authnInstant: now,
    now,
    attributes: [
      { name: 'email', nameFormat: BASIC, values: ['alice@example.com'] },
      {
        name: 'urn:oid:1.3.6.1.4.1.5923.1.5.1.1',
        nameFormat: URI,
        friendlyName: 'isMemberOf',
        values: ['a<b', 'c & d'],
      },
      { name: 'none', nameFormat: BASIC, values: [] },
    ],
    key,
    certificateBody: certificateBody(certificate),
  });

/** The name of the element right after `element`, skipping the indentation between them. */
const nextElementName = (element: Element): string | null => {
  let node = element.nextSibling;
  while (node && node.nodeType !== 1) node = node.nextSibling;
  return node ? (node as Element).tagName : null;
};
const textNode = (element: Element) => (element.childNodes.length === 1 ? element.firstChild!.nodeValue : null);

/** The element's own Signature: right after its Issuer, referencing the element's ID, and valid over `xml`. */
function expectSignedAfterIssuer(xml: string, element: Element): void {
  expect(nextElementName(children(element, NS.saml, 'Issuer')[0])).toBe('ds:Signature');
  const [signature, ...more] = children(element, NS.ds, 'Signature');
  expect(more).toHaveLength(0);
  expect(signature.getElementsByTagNameNS(NS.ds, 'Reference')[0].getAttribute('URI')).toBe(
    `#${element.getAttribute('ID')}`,
  );
  const verifier = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null });
  verifier.loadSignature(signature);
  expect(verifier.checkSignature(xml)).toBe(true);
}

describe('buildResponse', () => {
  it('signs the Response and the Assertion, each Signature right after its Issuer', async () => {
    const { xml, responseId, assertionId } = await response();
    const root = parseXml(xml).documentElement;
    expect(root.getAttribute('ID')).toBe(responseId);
    const assertion = children(root, NS.saml, 'Assertion')[0];
    expect(assertion.getAttribute('ID')).toBe(assertionId);
    expectSignedAfterIssuer(xml, root);
    expectSignedAfterIssuer(xml, assertion);
  });

  it('signs what xs is bound to (an InclusiveNamespaces PrefixList): the values typed otherwise no longer verify', async () => {
    const { xml } = await response();
    // exclusive c14n alone leaves xs (used only in xsi:type's value) out of what is signed.
    expect(xml.match(/<ec:InclusiveNamespaces [^>]*PrefixList="xs"\/>/g)).toHaveLength(2);
    // xs declared on the values only: xml-security-c 2.0 (Shibboleth's SP) renders a listed prefix a
    // second time where an element inside the signed one declares it again with the same value.
    expect(xml).not.toMatch(/<(samlp:Response|saml:Assertion|saml:AttributeStatement|saml:Attribute) [^>]*xmlns:xs=/);
    const retyped = xml.replaceAll(
      'xmlns:xs="http://www.w3.org/2001/XMLSchema"',
      'xmlns:xs="urn:example:not-xml-schema"',
    );
    expect(retyped).not.toBe(xml);
    const root = parseXml(retyped).documentElement;
    for (const element of [root, children(root, NS.saml, 'Assertion')[0]]) {
      const verifier = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null });
      verifier.loadSignature(children(element, NS.ds, 'Signature')[0]);
      expect(verifier.checkSignature(retyped)).toBe(false);
    }
    // Control: the same check passes the response as signed.
    const signed = parseXml(xml).documentElement;
    const verifier = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null });
    verifier.loadSignature(children(signed, NS.ds, 'Signature')[0]);
    expect(verifier.checkSignature(xml)).toBe(true);
  });

  it('writes NameID, SessionIndex and attribute values exactly as given, one element per line', async () => {
    const { xml } = await response();
    const doc = parseXml(xml);
    const [nameIdElement] = Array.from(doc.getElementsByTagNameNS(NS.saml, 'NameID') as ArrayLike<Element>);
    expect(textNode(nameIdElement)).toBe(nameId);
    expect(doc.getElementsByTagNameNS(NS.saml, 'AuthnStatement')[0].getAttribute('SessionIndex')).toBe(sessionIndex);
    const values = Array.from(doc.getElementsByTagNameNS(NS.saml, 'AttributeValue') as ArrayLike<Element>).map(
      textNode,
    );
    expect(values).toEqual(['alice@example.com', 'a<b', 'c & d']);
    expect(
      Array.from(doc.getElementsByTagNameNS(NS.saml, 'Attribute') as ArrayLike<Element>).map((a) =>
        a.getAttribute('Name'),
      ),
    ).toEqual(['email', 'urn:oid:1.3.6.1.4.1.5923.1.5.1.1']);
    expect(xml).toMatch(/\n {6}<saml:NameID [^\n]*>[^\n<]*<\/saml:NameID>\n/);
    expect(xml.split('\n').length).toBeGreaterThan(20);
  });

  it('leaves InResponseTo out (Response and SubjectConfirmationData) for an unsolicited response, and the AttributeStatement when no value', async () => {
    const { xml } = await buildResponse({
      idpEntityId: 'i',
      spEntityId: 's',
      acsUrl: 'https://sp.example/acs',
      inResponseTo: null,
      nameId: 'n',
      nameIdFormat: 'f',
      sessionIndex: '_s',
      sessionNotOnOrAfter: now,
      authnInstant: now,
      now,
      attributes: [{ name: 'none', nameFormat: BASIC, values: [] }],
      key,
      certificateBody: certificateBody(certificate),
    });
    expect(xml).not.toContain('InResponseTo');
    expect(xml).not.toContain('AttributeStatement');
    expect(xml).toContain(
      '<saml:SubjectConfirmationData NotOnOrAfter="2026-03-04T05:11:07Z" Recipient="https://sp.example/acs"/>',
    );
  });

  it('writes each Attribute with Name, NameFormat and FriendlyName (when it has one), values as xs:string', async () => {
    const { xml } = await response();
    expect(xml).toContain(
      `<saml:Attribute Name="urn:oid:1.3.6.1.4.1.5923.1.5.1.1" NameFormat="${URI}" FriendlyName="isMemberOf">`,
    );
    expect(xml).toContain(`<saml:Attribute Name="email" NameFormat="${BASIC}">`);
    expect(xml).toContain(
      '<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">c &#38; d</saml:AttributeValue>',
    );
    expect(xml).not.toContain('Name="none"');
  });
});

describe('buildStatusResponse', () => {
  it('is a signed Response with the nested status and no assertion', async () => {
    const xml = await buildStatusResponse({
      idpEntityId: 'https://idp.example/saml/metadata',
      acsUrl: 'https://sp.example/acs',
      inResponseTo: '_req2',
      status: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
      detail: 'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
      now,
      key,
      certificateBody: certificateBody(certificate),
    });
    const root = verifyEnveloped(xml, [certificate]).documentElement;
    expect(root.getAttribute('InResponseTo')).toBe('_req2');
    expect(children(root, NS.saml, 'Assertion')).toHaveLength(0);
    const code = children(children(root, NS.samlp, 'Status')[0], NS.samlp, 'StatusCode')[0];
    expect(code.getAttribute('Value')).toBe('urn:oasis:names:tc:SAML:2.0:status:Responder');
    expect(children(code, NS.samlp, 'StatusCode')[0].getAttribute('Value')).toBe(
      'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
    );
    expectSignedAfterIssuer(xml, parseXml(xml).documentElement);
  });
});
