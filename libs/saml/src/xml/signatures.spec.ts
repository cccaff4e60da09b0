import { createPublicKey, type KeyObject } from 'node:crypto';
import { rsaSigner } from '../../../../test/support/sp-keys';
import { SignedXml } from 'xml-crypto';
import { certificateBody } from '../metadata/idp-metadata';
import { NS } from './namespaces';
import { children, parseXml, textOf } from './safe-xml';
import { el, toXml, type XmlElement } from './build';
import { signElement, signElementOffThread, signXml, verifyEnveloped } from './signatures';

interface Party {
  key: KeyObject;
  certificate: string;
}

const request = (id: string, nameId: string) =>
  `<samlp:LogoutRequest xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${id}" Version="2.0" IssueInstant="2026-11-22T00:00:00Z">` +
  `<saml:Issuer>https://sp.example</saml:Issuer><saml:NameID>${nameId}</saml:NameID><samlp:SessionIndex>_s1</samlp:SessionIndex></samlp:LogoutRequest>`;

let sp: Party;
let attacker: Party;
beforeAll(async () => {
  [sp, attacker] = [await rsaSigner('sp.example'), await rsaSigner('attacker.example')];
});

const nameIdOf = (doc: Document) => textOf(children(doc.documentElement, NS.saml, 'NameID')[0]);

describe('verifyEnveloped', () => {
  it("accepts the SP's signature and returns the signed bytes", () => {
    const signed = signElement(request('_r1', 'alice'), '_r1', sp.key, certificateBody(sp.certificate));
    expect(nameIdOf(verifyEnveloped(signed, [sp.certificate]))).toBe('alice');
  });

  it('accepts any of several pinned certificates (rollover)', () => {
    const signed = signElement(request('_r2', 'alice'), '_r2', sp.key, certificateBody(sp.certificate));
    expect(nameIdOf(verifyEnveloped(signed, [attacker.certificate, sp.certificate]))).toBe('alice');
  });

  it("refuses an attacker's signature, even with the attacker's certificate in KeyInfo", () => {
    const forged = signElement(request('_r3', 'admin'), '_r3', attacker.key, certificateBody(attacker.certificate));
    expect(() => verifyEnveloped(forged, [sp.certificate])).toThrow(/does not verify/);
  });

  it('refuses a changed signed value', () => {
    const signed = signElement(request('_r4', 'alice'), '_r4', sp.key, certificateBody(sp.certificate));
    expect(() => verifyEnveloped(signed.replace('>alice<', '>admin<'), [sp.certificate])).toThrow(/does not verify/);
  });

  it('refuses signature wrapping: the signed element moved under Extensions of a forged root', () => {
    const signed = signElement(request('_r5', 'alice'), '_r5', sp.key, certificateBody(sp.certificate));
    const wrapped = request('_evil', 'admin').replace(
      '<saml:NameID>',
      `<samlp:Extensions>${signed}</samlp:Extensions><saml:NameID>`,
    );
    expect(() => verifyEnveloped(wrapped, [sp.certificate])).toThrow(/exactly one signature, as a child of its root/);
  });

  it('refuses a forged root that copies the signed ID (two signatures)', () => {
    const signed = signElement(request('_r6', 'alice'), '_r6', sp.key, certificateBody(sp.certificate));
    const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signed)![0];
    const forged = request('_r6', 'admin')
      .replace('</saml:Issuer>', `</saml:Issuer>${signature}`)
      .replace('<samlp:SessionIndex>', `<samlp:Extensions>${signed}</samlp:Extensions><samlp:SessionIndex>`);
    expect(() => verifyEnveloped(forged, [sp.certificate])).toThrow(/exactly one signature/);
  });

  it('refuses a second element carrying the signed ID (duplicate IDs)', () => {
    const signed = signElement(request('_r11', 'alice'), '_r11', sp.key, certificateBody(sp.certificate));
    const duplicated = signed.replace(
      '<samlp:SessionIndex>',
      '<samlp:Extensions><saml:Attribute ID="_r11"/></samlp:Extensions><samlp:SessionIndex>',
    );
    expect(() => verifyEnveloped(duplicated, [sp.certificate])).toThrow(/more than one element with the signed ID/);
  });

  it('refuses a signature whose reference is not the root', () => {
    const xml = request('_r7', 'alice').replace('<saml:NameID>', '<saml:NameID ID="_inner">');
    const signer = new SignedXml({
      privateKey: sp.key as never,
      signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    });
    signer.addReference({
      xpath: "//*[@ID='_inner']",
      transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    });
    signer.computeSignature(xml, {
      prefix: 'ds',
      location: { reference: "//*[local-name(.)='Issuer']", action: 'after' },
    });
    expect(() => verifyEnveloped(signer.getSignedXml(), [sp.certificate])).toThrow(/reference the root element/);
  });

  it('refuses RSA-SHA1 signatures', () => {
    const xml = request('_r8', 'alice');
    const signer = new SignedXml({
      privateKey: sp.key as never,
      signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
      canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    });
    signer.addReference({
      xpath: "//*[@ID='_r8']",
      transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    });
    signer.computeSignature(xml, {
      prefix: 'ds',
      location: { reference: "//*[local-name(.)='Issuer']", action: 'after' },
    });
    expect(() => verifyEnveloped(signer.getSignedXml(), [sp.certificate])).toThrow(
      /algorithm .*rsa-sha1 is not accepted/,
    );
  });

  it('reads a NameID with a comment inserted after signing as the whole signed value', () => {
    const signed = signElement(
      request('_r9', 'admin@example.com.evil.example'),
      '_r9',
      sp.key,
      certificateBody(sp.certificate),
    );
    const commented = signed.replace('admin@example.com.evil.example', 'admin@example.com<!---->.evil.example');
    expect(nameIdOf(verifyEnveloped(commented, [sp.certificate]))).toBe('admin@example.com.evil.example');
  });

  it('refuses a DOCTYPE before anything else', () => {
    const signed = signElement(request('_r10', 'alice'), '_r10', sp.key, certificateBody(sp.certificate));
    expect(() => verifyEnveloped(`<!DOCTYPE x>${signed}`, [sp.certificate])).toThrow(/DOCTYPE/);
  });
});

describe('signElementOffThread', () => {
  it('writes the same bytes as signElement (RSA PKCS#1 v1.5 is deterministic), which verify', async () => {
    const xml = request('_t1', 'alice');
    const offThread = await signElementOffThread(xml, '_t1', sp.key, certificateBody(sp.certificate));
    expect(offThread).toBe(signElement(xml, '_t1', sp.key, certificateBody(sp.certificate)));
    expect(nameIdOf(verifyEnveloped(offThread, [sp.certificate]))).toBe('alice');
  });

  it('places the signature as the first child when asked (metadata), as signElement does', async () => {
    const xml = request('_t2', 'alice');
    expect(await signElementOffThread(xml, '_t2', sp.key, null, 'first-child')).toBe(
      signElement(xml, '_t2', sp.key, null, 'first-child'),
    );
  });

  it('control: signed with another key, it does not verify with the pinned certificate', async () => {
    const forged = await signElementOffThread(request('_t3', 'admin'), '_t3', attacker.key, null);
    expect(() => verifyEnveloped(forged, [sp.certificate])).toThrow(/does not verify/);
  });

  it('rejects, rather than throws or crashes, when the element is not there', async () => {
    await expect(signElementOffThread(request('_t4', 'alice'), '_missing', sp.key, null)).rejects.toThrow();
  });

  it('rejects when the key cannot sign (a public key), with the reason', async () => {
    await expect(signElementOffThread(request('_t5', 'alice'), '_t5', createPublicKey(sp.key), null)).rejects.toThrow(
      /private|key/i,
    );
  });
});

describe('signXml', () => {
  const NASTY = `a<b>&"c'd\te\nf\rg ]]> é 😀`;
  /** NEL and LINE SEPARATOR: xmldom turns them into LF when it reads them literally (as in a canonical form). */
  const LINE_ENDS = '\u0085\u2028';
  const tree = (id: string, nameId: string, extra: XmlElement[] = [], reason = NASTY): XmlElement =>
    el(
      'samlp:LogoutRequest',
      { 'xmlns:samlp': NS.samlp, 'xmlns:saml': NS.saml, ID: id, Version: '2.0', Reason: reason },
      [
        el('saml:Issuer', {}, ['https://idp.example']),
        el('saml:NameID', { Format: 'urn:f', SPNameQualifier: NASTY }, [nameId]),
        el('samlp:SessionIndex', {}, ['_s1']),
        ...extra,
      ],
    );

  /** xml-crypto's check of the signature inside `element` (any depth), against the certificate only. */
  const verifiesInside = (xml: string, id: string, certificate: string): boolean => {
    const doc = parseXml(xml);
    const element = Array.from(doc.getElementsByTagName('*') as ArrayLike<Element>).find(
      (e) => e.getAttribute('ID') === id,
    )!;
    const verifier = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null });
    verifier.loadSignature(children(element, NS.ds, 'Signature')[0]);
    return verifier.checkSignature(xml);
  };

  it('signs a message that verifies with the pinned certificate (xml-crypto, as node-saml and samlify check it)', async () => {
    const xml = toXml(await signXml(tree('_x1', NASTY), '_x1', sp.key, certificateBody(sp.certificate)));
    expect(nameIdOf(verifyEnveloped(xml, [sp.certificate]))).toBe(NASTY);
    // The signature right after the Issuer, on a line of its own, written compact; KeyInfo carries the certificate.
    expect(xml).toMatch(/<\/saml:Issuer>\n {2}<ds:Signature xmlns:ds="[^"]+"><ds:SignedInfo>/);
    expect(xml).toContain(`<ds:X509Certificate>${certificateBody(sp.certificate)}</ds:X509Certificate>`);
    const lineEnds = toXml(await signXml(tree('_x1b', LINE_ENDS, [], LINE_ENDS), '_x1b', sp.key, null));
    expect(() => verifyEnveloped(lineEnds, [sp.certificate])).not.toThrow();
  });

  it('control: a changed signed value, or another key, does not verify', async () => {
    const xml = toXml(await signXml(tree('_x2', 'alice'), '_x2', sp.key, null));
    expect(() => verifyEnveloped(xml.replace('>alice<', '>admin<'), [sp.certificate])).toThrow(/does not verify/);
    const forged = toXml(await signXml(tree('_x3', 'admin'), '_x3', attacker.key, null));
    expect(() => verifyEnveloped(forged, [sp.certificate])).toThrow(/does not verify/);
  });

  it('signs an element nested in a message, then the message around it: both verify', async () => {
    const inner = el('saml:Assertion', { 'xmlns:saml': NS.saml, ID: '_inner', Version: '2.0' }, [
      el('saml:Issuer', {}, ['https://idp.example']),
      el('saml:AttributeStatement', {}, [
        el('saml:Attribute', { Name: 'mail' }, [
          el(
            'saml:AttributeValue',
            {
              'xmlns:xs': 'http://www.w3.org/2001/XMLSchema',
              'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
              'xsi:type': 'xs:string',
            },
            [NASTY],
          ),
        ]),
      ]),
    ]);
    const outer = tree('_outer', 'alice', [inner]);
    const once = await signXml(outer, '_inner', sp.key, certificateBody(sp.certificate));
    const twice = toXml(await signXml(once, '_outer', sp.key, certificateBody(sp.certificate)));
    expect(verifiesInside(twice, '_inner', sp.certificate)).toBe(true);
    // (verifyEnveloped takes one signature only: what Signoff receives carries no nested one.)
    expect(verifiesInside(twice, '_outer', sp.certificate)).toBe(true);
    expect(verifiesInside(twice.replace('>alice<', '>admin<'), '_outer', sp.certificate)).toBe(false);
    expect(verifiesInside(twice.replace(`>${toXml(NASTY)}<`, '>changed<'), '_inner', sp.certificate)).toBe(false);
  });

  it('names the prefixes of xsi:type values in an InclusiveNamespaces PrefixList, whitespace around them or not, xsi bound by an ancestor', async () => {
    const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
    const typed = (type: string) =>
      el('saml:AttributeValue', { 'xmlns:xs': 'http://www.w3.org/2001/XMLSchema', 'i:type': type }, ['v']);
    const message = tree('_t1', 'alice', [
      el('saml:Extra', { 'xmlns:i': XSI }, [typed(' xs:string\n'), typed('plain')]),
    ]);
    const xml = toXml(await signXml(message, '_t1', sp.key, null));
    expect(xml).toContain(
      '<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="xs"/>',
    );
    expect(verifiesInside(xml, '_t1', sp.certificate)).toBe(true);
    expect(
      verifiesInside(
        xml.replace('xmlns:xs="http://www.w3.org/2001/XMLSchema"', 'xmlns:xs="urn:x"'),
        '_t1',
        sp.certificate,
      ),
    ).toBe(false);
    // Without xsi:type, no list (LogoutRequests, LogoutResponses, metadata).
    expect(toXml(await signXml(tree('_t2', 'alice'), '_t2', sp.key, null))).not.toContain('InclusiveNamespaces');
    await expect(
      signXml(tree('_t3', 'alice', [el('saml:Extra', { 'xmlns:i': XSI }, [typed('a:b:c')])]), '_t3', sp.key, null),
    ).rejects.toThrow(/not a QName/);
  });

  it('places the signature as the first child when asked (metadata), and it verifies', async () => {
    const xml = toXml(await signXml(tree('_x4', 'alice'), '_x4', sp.key, null, 'first-child'));
    expect(xml).toMatch(/^<samlp:LogoutRequest [^>]+>\n {2}<ds:Signature /);
    expect(nameIdOf(verifyEnveloped(xml, [sp.certificate]))).toBe('alice');
  });

  it('refuses an ID that is missing or on two elements, and an element without Issuer to sign after', async () => {
    await expect(signXml(tree('_x5', 'alice'), '_missing', sp.key, null)).rejects.toThrow(/exactly one element/);
    const twice = tree('_x6', 'alice', [el('saml:Extra', { ID: '_x6' })]);
    await expect(signXml(twice, '_x6', sp.key, null)).rejects.toThrow(/exactly one element/);
    await expect(signXml(el('a', { ID: '_x7' }, [el('b')]), '_x7', sp.key, null)).rejects.toThrow(/no saml:Issuer/);
  });

  it('rejects when the key cannot sign (a public key)', async () => {
    await expect(signXml(tree('_x8', 'alice'), '_x8', createPublicKey(sp.key), null)).rejects.toThrow(/private|key/i);
  });
});
