import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { type EncryptionCertificate, selfSignedCertificate } from '@signoff/core';
import { createPrivateKey, generateKeyPairSync, type KeyObject, webcrypto } from 'node:crypto';
import { promisify } from 'node:util';
import { decrypt } from 'xml-encryption';
import { certificateBody } from '../metadata/idp-metadata';
import { parseSpMetadata } from '../metadata/sp-metadata';
import { NS } from '../xml/namespaces';
import { children, parseXml } from '../xml/safe-xml';
import { verifyEnveloped } from '../xml/signatures';
import { contentEncryptionFor, encryptAssertion, encryptionRecipient, XMLENC } from './assertion-encryption';
import { buildEncryptedResponse } from './response';

const XENC = 'http://www.w3.org/2001/04/xmlenc#';
const AES128_GCM = 'http://www.w3.org/2009/xmlenc11#aes128-gcm';
const AES256_CBC = 'http://www.w3.org/2001/04/xmlenc#aes256-cbc';
const RSA_OAEP_11 = 'http://www.w3.org/2009/xmlenc11#rsa-oaep';

/** An RSA key pair and its self-signed certificate, as an SP makes them. */
async function rsaKeys(bits = 2048): Promise<{ privateKey: string; der: string; pem: string }> {
  const pair = generateKeyPairSync('rsa', { modulusLength: bits });
  const privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const pem = await selfSignedCertificate(
    privateKey,
    pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    'sp.example',
    30,
  );
  return { privateKey, der: pem.replace(/-----[^-]+-----|\s/g, ''), pem };
}

/** A self-signed EC P-256 certificate (base64 DER): a key RSA-OAEP cannot transport to. */
async function ecCertificate(): Promise<string> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=ec.example',
    notBefore: new Date(),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: algorithm,
    keys: keys as unknown as x509.X509CertificateCreateSelfSignedParams['keys'],
  });
  return certificate.toString('base64');
}

let sp: { privateKey: string; der: string; pem: string };
let idpKey: KeyObject;
let idpCertificate: string;
beforeAll(async () => {
  sp = await rsaKeys();
  const idp = await rsaKeys();
  idpKey = createPrivateKey(idp.privateKey);
  idpCertificate = idp.pem;
});

describe('contentEncryptionFor (the md:EncryptionMethods an SP lists)', () => {
  it.each([
    ['none listed', [], XMLENC.aes256Gcm],
    ['AES-256-GCM among others', [XMLENC.aes128Cbc, XMLENC.aes256Gcm], XMLENC.aes256Gcm],
    ['only AES-128-CBC', [XMLENC.aes128Cbc], XMLENC.aes128Cbc],
    ['CBC ciphers and key transports, no AES-256-GCM', [RSA_OAEP_11, AES256_CBC, XMLENC.aes128Cbc], XMLENC.aes128Cbc],
    ['key transports only (no block cipher)', [XMLENC.rsaOaepMgf1p, RSA_OAEP_11], XMLENC.aes256Gcm],
    ['block ciphers, neither of ours', [AES128_GCM, AES256_CBC], null],
  ])('%s', (_case, methods, expected) => {
    expect(contentEncryptionFor(methods)).toBe(expected);
  });
});

describe('encryptionRecipient', () => {
  it('takes the first certificate it can encrypt to, with the content encryption its methods allow', async () => {
    const other = await rsaKeys();
    const { recipient } = encryptionRecipient([
      { certificate: await ecCertificate(), methods: [] },
      { certificate: sp.der, methods: [XMLENC.aes128Cbc] },
      { certificate: other.der, methods: [] },
    ]);
    expect(recipient!.certificatePem.replace(/-----[^-]+-----|\s/g, '')).toBe(sp.der);
    expect(recipient!.algorithm).toBe(XMLENC.aes128Cbc);
  });

  it.each<[string, () => Promise<EncryptionCertificate[]>, RegExp]>([
    ['no certificate', async () => [], /no encryption certificate \(md:KeyDescriptor use="encryption"\)/],
    [
      'an EC certificate',
      async () => [{ certificate: await ecCertificate(), methods: [] }],
      /no RSA key of at least 2048 bits/,
    ],
    [
      'a 1024-bit RSA key',
      async () => [{ certificate: (await rsaKeys(1024)).der, methods: [] }],
      /no RSA key of at least 2048 bits/,
    ],
    [
      'a stored certificate that does not parse',
      async () => [{ certificate: 'AAAA', methods: [] }],
      /an encryption certificate does not parse as X\.509/,
    ],
    [
      'methods without ours',
      async () => [{ certificate: sp.der, methods: [RSA_OAEP_11, AES256_CBC] }],
      /lists only content encryption methods Signoff does not send \(http:\/\/www\.w3\.org\/2001\/04\/xmlenc#aes256-cbc\)/,
    ],
  ])('refuses %s, saying why', async (_case, certificates, problem) => {
    const chosen = encryptionRecipient(await certificates());
    expect(chosen.recipient).toBeUndefined();
    expect(chosen.problem).toMatch(problem);
  });
});

describe('encryptAssertion', () => {
  const assertion = '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a">alice</saml:Assertion>';

  it.each([XMLENC.aes256Gcm, XMLENC.aes128Cbc])(
    'writes an xenc:EncryptedData (Type Element, %s) whose key is RSA-OAEP transported, and which the SP key opens',
    async (algorithm) => {
      const { recipient } = encryptionRecipient([
        { certificate: sp.der, methods: algorithm === XMLENC.aes128Cbc ? [algorithm] : [] },
      ]);
      const encrypted = await encryptAssertion(assertion, recipient!);
      expect(encrypted).not.toContain('alice');
      const data = parseXml(encrypted).documentElement;
      expect([data.namespaceURI, data.localName, data.getAttribute('Type')]).toEqual([
        XENC,
        'EncryptedData',
        `${XENC}Element`,
      ]);
      expect(children(data, XENC, 'EncryptionMethod')[0].getAttribute('Algorithm')).toBe(algorithm);
      const key = data.getElementsByTagNameNS(XENC, 'EncryptedKey')[0];
      const transport = children(key, XENC, 'EncryptionMethod')[0];
      expect(transport.getAttribute('Algorithm')).toBe(XMLENC.rsaOaepMgf1p);
      // The OAEP digest, stated: SHA-1 (what every SP's decrypter reads for rsa-oaep-mgf1p).
      expect(children(transport, NS.ds, 'DigestMethod')[0].getAttribute('Algorithm')).toBe(`${NS.ds}sha1`);
      // KeyInfo names the SP's certificate, so an SP with several knows which key to use.
      expect(key.getElementsByTagNameNS(NS.ds, 'X509Certificate')[0].textContent).toBe(sp.der);
      const opened = await promisify(decrypt)(encrypted, {
        key: sp.privateKey,
        disallowDecryptionWithInsecureAlgorithm: false,
        warnInsecureAlgorithm: false,
      });
      expect(opened).toBe(assertion);
    },
  );

  it('cannot be opened with another key, and a tampered AES-256-GCM ciphertext does not open', async () => {
    const { recipient } = encryptionRecipient([{ certificate: sp.der, methods: [] }]);
    const encrypted = await encryptAssertion(assertion, recipient!);
    const stranger = await rsaKeys();
    await expect(promisify(decrypt)(encrypted, { key: stranger.privateKey })).rejects.toThrow();
    // Flip one bit of the content's ciphertext (the last CipherValue): GCM's tag refuses it.
    const tampered = encrypted.replace(
      /(<xenc:CipherValue>)([^<]+)(<\/xenc:CipherValue>)(?![\s\S]*<xenc:CipherValue>)/,
      (_m, open: string, value: string, close: string) => {
        const bytes = Buffer.from(value, 'base64');
        bytes[20] ^= 1;
        return `${open}${bytes.toString('base64')}${close}`;
      },
    );
    expect(tampered).not.toBe(encrypted);
    await expect(promisify(decrypt)(tampered, { key: sp.privateKey })).rejects.toThrow();
  });
});

describe('buildEncryptedResponse', () => {
  const nameId = 'alice@example.com';
  const build = async () => {
    const { recipient } = encryptionRecipient([{ certificate: sp.der, methods: [] }]);
    return buildEncryptedResponse(
      {
        idpEntityId: 'https://idp.example/saml/metadata',
        spEntityId: 'https://sp.example/metadata',
        acsUrl: 'https://sp.example/acs',
        inResponseTo: '_req1',
        nameId,
        nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
        sessionIndex: '_s1',
        sessionNotOnOrAfter: new Date(Date.now() + 3_600_000),
        authnInstant: new Date(),
        now: new Date(),
        attributes: [{ name: 'displayName', nameFormat: 'basic', values: ['Alice Liddell'] }],
        key: idpKey,
        certificateBody: certificateBody(idpCertificate),
      },
      recipient!,
    );
  };

  it('signs the Response around a saml:EncryptedAssertion, with nothing of the Assertion in the clear', async () => {
    const { xml, assertionId } = await build();
    expect(xml).not.toContain(nameId);
    expect(xml).not.toContain('Alice Liddell');
    expect(xml).not.toContain('saml:Assertion');
    expect(xml).not.toContain(assertionId);
    const response = verifyEnveloped(xml, [idpCertificate]).documentElement;
    const [encrypted] = children(response, NS.saml, 'EncryptedAssertion');
    expect(children(encrypted, XENC, 'EncryptedData')).toHaveLength(1);
    expect(children(response, NS.saml, 'Assertion')).toHaveLength(0);
  });

  it('encrypts the Assertion signed on its own: the SP finds the NameID and a signature over the Assertion', async () => {
    const { xml, assertionId } = await build();
    const data = /<xenc:EncryptedData[\s\S]*<\/xenc:EncryptedData>/.exec(xml)![0];
    const assertion = await promisify(decrypt)(data, { key: sp.privateKey });
    const signed = verifyEnveloped(assertion, [idpCertificate]).documentElement;
    expect([signed.localName, signed.getAttribute('ID')]).toEqual(['Assertion', assertionId]);
    expect(signed.getElementsByTagNameNS(NS.saml, 'NameID')[0].textContent).toBe(nameId);
  });
});

describe('the SP metadata parser', () => {
  const metadata = (
    keyDescriptors: string,
  ) => `<md:EntityDescriptor xmlns:md="${NS.md}" xmlns:ds="${NS.ds}" entityID="https://sp.example/metadata">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    ${keyDescriptors}
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>`;
  const keyDescriptor = (use: string | null, der: string, methods: string[] = []) =>
    `<md:KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
      ${der.match(/.{1,64}/g)!.join('\n      ')}
    </ds:X509Certificate></ds:X509Data></ds:KeyInfo>${methods.map((method) => `<md:EncryptionMethod Algorithm="${method}"/>`).join('')}</md:KeyDescriptor>`;

  it('reads use="encryption" certificates with their EncryptionMethods, and counts a KeyDescriptor without use for both uses', async () => {
    const signing = await rsaKeys();
    const both = await rsaKeys();
    const parsed = parseSpMetadata(
      metadata(
        keyDescriptor('signing', signing.der) +
          keyDescriptor('encryption', sp.der, [XMLENC.aes128Cbc, XMLENC.rsaOaepMgf1p]) +
          keyDescriptor(null, both.der),
      ),
    );
    expect(parsed.encryptionCertificates).toEqual([
      { certificate: sp.der, methods: [XMLENC.aes128Cbc, XMLENC.rsaOaepMgf1p] },
      { certificate: both.der, methods: [] },
    ]);
    expect(parsed.certificates.map((pem) => pem.replace(/-----[^-]+-----|\s/g, ''))).toEqual([signing.der, both.der]);
  });

  it('refuses an encryption certificate that is not X.509', () => {
    expect(() => parseSpMetadata(metadata(keyDescriptor('encryption', 'bm90IGEgY2VydGlmaWNhdGU=')))).toThrow(
      'an encryption certificate in the metadata is not a valid X.509 certificate',
    );
  });
});
