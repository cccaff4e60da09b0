import type { KeyObject } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { NS } from '../xml/namespaces';
import { children, parseXml } from '../xml/safe-xml';
import { verifiedContent, verifyEnveloped } from '../xml/signatures';
import { idpMetadata, xsDurationOf } from './idp-metadata';
import { rsaSigner } from '../../../../test/support/sp-keys';

let active: { key: KeyObject; certificate: string };
let next: { key: KeyObject; certificate: string };
beforeAll(async () => {
  [active, next] = [await rsaSigner('idp.example'), await rsaSigner('idp.example')];
});

const signed = () =>
  idpMetadata({
    entityId: 'https://idp.example/saml/metadata',
    baseUrl: 'https://idp.example',
    scope: 'idp.example',
    certificates: [active.certificate, next.certificate],
    validUntil: new Date('2031-01-08T00:00:00.000Z'),
    cacheDurationMs: 6 * 3_600_000,
    signingKey: active.key,
  });

/** What a federation aggregator does: xml-crypto, the certificate it pinned, KeyInfo ignored. */
function aggregatorVerifies(xml: string, certificate: string): boolean {
  const doc = parseXml(xml);
  const [signature] = children(doc.documentElement, NS.ds, 'Signature');
  const verifier = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null });
  verifier.loadSignature(signature);
  try {
    return verifier.checkSignature(xml);
  } catch {
    return false;
  }
}

describe('the IdP metadata', () => {
  it('is signed over the EntityDescriptor, the Signature its first child, with validUntil and cacheDuration', async () => {
    const xml = await signed();
    const root = parseXml(xml).documentElement;
    expect(root.getAttribute('validUntil')).toBe('2031-01-08T00:00:00Z');
    expect(root.getAttribute('cacheDuration')).toBe('PT6H');
    expect(root.getAttribute('ID')).toMatch(/^_[0-9a-f]{40}$/);
    const first = Array.from(root.childNodes as ArrayLike<Node>).find((node) => node.nodeType === 1) as Element;
    expect([first.namespaceURI, first.localName]).toEqual([NS.ds, 'Signature']);
    // No KeyInfo: the only certificates in the document are the ones it publishes for SPs to trust.
    expect(first.getElementsByTagNameNS(NS.ds, 'KeyInfo').length).toBe(0);
  });

  it('verifies with the published active certificate, as an aggregator checks it, and with our own verifier', async () => {
    const xml = await signed();
    expect(aggregatorVerifies(xml, active.certificate)).toBe(true);
    expect(aggregatorVerifies(xml, next.certificate)).toBe(false);
    expect(verifyEnveloped(xml, [active.certificate]).documentElement.getAttribute('entityID')).toBe(
      'https://idp.example/saml/metadata',
    );
    expect(verifiedContent(xml, [active.certificate])).toContain('validUntil="2031-01-08T00:00:00Z"');
  });

  it('does not verify once changed: another endpoint, a later validUntil', async () => {
    const xml = await signed();
    for (const tampered of [
      xml.replace('https://idp.example/saml/slo/soap', 'https://evil.example/slo'),
      xml.replace('2031-01-08T00:00:00Z', '2099-01-08T00:00:00Z'),
    ]) {
      expect(tampered).not.toBe(xml);
      expect(aggregatorVerifies(tampered, active.certificate)).toBe(false);
      expect(() => verifyEnveloped(tampered, [active.certificate])).toThrow(/does not verify/);
    }
  });

  it('is unsigned, without ID, validUntil or cacheDuration, when none is asked for', async () => {
    const xml = await idpMetadata({
      entityId: 'urn:idp',
      baseUrl: 'https://idp.example',
      scope: 'idp.example',
      certificates: [active.certificate],
    });
    expect(xml).not.toMatch(/Signature|validUntil|cacheDuration| ID=/);
  });

  it('writes cacheDuration as an xs:duration', () => {
    expect([xsDurationOf(6 * 3_600_000), xsDurationOf(3_600_000), xsDurationOf(90_000)]).toEqual([
      'PT6H',
      'PT1H',
      'PT90S',
    ]);
  });
});
