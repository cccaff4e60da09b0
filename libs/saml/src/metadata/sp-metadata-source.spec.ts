import { OutboundPolicy } from '@signoff/core';
import type { KeyObject } from 'node:crypto';
import { certificateBody } from './idp-metadata';
import { signElement } from '../xml/signatures';
import {
  certificateFingerprint,
  checkMetadataUrl,
  pinnedCertificate,
  readSpMetadataDocument,
  xsDuration,
} from './sp-metadata-source';
import { rsaSigner } from '../../../../test/support/sp-keys';

let federation: { key: KeyObject; certificate: string };
let other: { key: KeyObject; certificate: string };
let sp: { key: KeyObject; certificate: string };
beforeAll(async () => {
  [federation, other, sp] = [
    await rsaSigner('fed.example'),
    await rsaSigner('x.example'),
    await rsaSigner('sp.example'),
  ];
});

const URL_ = 'https://fed.example/sp.xml';
const NOW = new Date('2030-06-01T00:00:00Z');

/** SP metadata with an ID to sign, validUntil and cacheDuration as given, its SLO at `slo`. */
function spMetadata({
  validUntil = '2030-06-08T00:00:00Z',
  cacheDuration = 'PT1H',
  slo = 'https://sp.example/slo',
  entityId = 'https://sp.example/sp',
} = {}) {
  return (
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="_m1" entityID="${entityId}"` +
    (validUntil ? ` validUntil="${validUntil}"` : '') +
    (cacheDuration ? ` cacheDuration="${cacheDuration}"` : '') +
    '><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' +
    `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificateBody(sp.certificate)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
    `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${slo}"/>` +
    '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs" index="0"/>' +
    '</md:SPSSODescriptor></md:EntityDescriptor>'
  );
}

const signedBy = (signer: { key: KeyObject; certificate: string }, xml = spMetadata()) =>
  signElement(xml, '_m1', signer.key, certificateBody(signer.certificate), 'first-child');

describe('readSpMetadataDocument', () => {
  it('reads metadata signed by the pinned certificate, with validUntil and cacheDuration', () => {
    const read = readSpMetadataDocument(signedBy(federation), URL_, federation.certificate, NOW);
    expect(read.metadata.entityId).toBe('https://sp.example/sp');
    expect(read.metadata.singleLogout).toEqual([
      { binding: 'redirect', url: 'https://sp.example/slo', responseUrl: null },
    ]);
    expect(read.validUntil).toEqual(new Date('2030-06-08T00:00:00Z'));
    expect(read.cacheDurationMs).toBe(3_600_000);
  });

  it('reads unsigned metadata when no certificate is pinned', () => {
    expect(readSpMetadataDocument(spMetadata(), URL_, null, NOW).metadata.acs[0].url).toBe('https://sp.example/acs');
  });

  it.each([
    ['unsigned metadata', () => spMetadata(), /exactly one signature/],
    ['a signature by another certificate (its own in KeyInfo)', () => signedBy(other), /does not verify/],
    [
      'a changed SingleLogoutService after signing',
      () => signedBy(federation).replace('https://sp.example/slo', 'https://evil.example/slo'),
      /does not verify/,
    ],
    [
      'a second, unsigned EntityDescriptor wrapped around the signed one',
      () =>
        spMetadata({ entityId: 'https://sp.example/sp' }).replace(
          '<md:SPSSODescriptor',
          `<md:Extensions>${signedBy(federation).replace('ID="_m1"', 'ID="_m2"')}</md:Extensions><md:SPSSODescriptor`,
        ),
      /signature/,
    ],
  ])('refuses, with a pinned certificate, %s', (_name, make, reason) => {
    expect(() => readSpMetadataDocument(make(), URL_, federation.certificate, NOW)).toThrow(reason);
    try {
      readSpMetadataDocument(make(), URL_, federation.certificate, NOW);
    } catch (error) {
      expect(error).toMatchObject({ code: 'invalid_sp_metadata' });
      expect((error as Error).message).toMatch(/^The SP metadata at https:\/\/fed\.example\/sp\.xml was refused: /);
    }
  });

  it('accepts the signed document as served, with an XML declaration and line breaks around it', () => {
    const signed = signedBy(federation);
    const read = readSpMetadataDocument(`<?xml version="1.0"?>\n${signed}\n`, URL_, federation.certificate, NOW);
    expect(read.metadata.singleLogout[0].url).toBe('https://sp.example/slo');
  });

  it('refuses a validUntil that has passed, or is not an xs:dateTime, signed or not', () => {
    const expired = spMetadata({ validUntil: '2030-05-31T23:59:59Z' });
    expect(() => readSpMetadataDocument(expired, URL_, null, NOW)).toThrow(
      /refused: it expired at 2030-05-31T23:59:59Z \(validUntil\)/,
    );
    expect(() => readSpMetadataDocument(signedBy(federation, expired), URL_, federation.certificate, NOW)).toThrow(
      /expired/,
    );
    expect(() => readSpMetadataDocument(spMetadata({ validUntil: 'tomorrow' }), URL_, null, NOW)).toThrow(
      /not an xs:dateTime/,
    );
    expect(readSpMetadataDocument(spMetadata({ validUntil: '' }), URL_, null, NOW).validUntil).toBeNull();
  });

  it('refuses metadata the SP metadata parser refuses, saying why', () => {
    expect(() => readSpMetadataDocument('<foo/>', URL_, null, NOW)).toThrow(/md:EntityDescriptor/);
    expect(() => readSpMetadataDocument('<!DOCTYPE x []><x/>', URL_, null, NOW)).toThrow(/DOCTYPE/);
  });
});

describe('xsDuration', () => {
  it('reads durations and ignores what is not one', () => {
    expect(xsDuration('PT6H')).toBe(6 * 3_600_000);
    expect(xsDuration('P1D')).toBe(86_400_000);
    expect(xsDuration('PT30M')).toBe(1_800_000);
    expect(xsDuration('P0Y0M1DT2H0M30.5S')).toBe(86_400_000 + 7_200_000 + 30_500);
    for (const bad of ['', 'P', 'PT', '6h', 'P1H', '-PT1H']) expect(xsDuration(bad)).toBeNull();
  });
});

describe('pinnedCertificate', () => {
  it('takes PEM or base64 DER and gives PEM', () => {
    const fingerprint = certificateFingerprint(federation.certificate);
    expect(certificateFingerprint(pinnedCertificate(federation.certificate))).toBe(fingerprint);
    expect(certificateFingerprint(pinnedCertificate(certificateBody(federation.certificate)))).toBe(fingerprint);
  });

  it('refuses what is not one certificate', () => {
    expect(() => pinnedCertificate('<not a certificate/>')).toThrow(/not PEM or base64/);
    expect(() => pinnedCertificate('QUJD')).toThrow(/does not parse/);
    expect(() => pinnedCertificate(federation.certificate + other.certificate)).toThrow(/2 certificates/);
  });
});

describe('checkMetadataUrl', () => {
  const policy = new OutboundPolicy({ allowLoopback: false, allow: { cidrs: [], hosts: [] } });

  it('accepts http(s) URLs with a DNS name or a public address', () => {
    expect(checkMetadataUrl('https://fed.example/md/sp.xml', policy)).toBe('https://fed.example/md/sp.xml');
    expect(checkMetadataUrl('http://93.184.216.34/sp.xml', policy)).toBe('http://93.184.216.34/sp.xml');
  });

  it.each([
    ['ftp://fed.example/sp.xml', /absolute http\(s\) URL/],
    ['/sp.xml', /absolute http\(s\) URL/],
    ['https://user:pw@fed.example/sp.xml', /without credentials/],
    ['https://10.0.0.1/sp.xml', /10\.0\.0\.1 is a private address, which the outbound policy does not allow/],
    ['http://127.0.0.1:8080/sp.xml', /loopback address/],
    ['http://[::ffff:169.254.169.254]/latest', /link-local address/],
    ['https://fed.example/aaa… (longer than 2048)', /at most 2048/],
  ])('refuses %s', (url, reason) => {
    const given = url.endsWith('(longer than 2048)') ? `https://fed.example/${'a'.repeat(2048)}` : url;
    expect(() => checkMetadataUrl(given, policy)).toThrow(reason);
  });
});
