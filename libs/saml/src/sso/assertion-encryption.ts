import { type KeyObject, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import type { EncryptionCertificate } from '@signoff/core';
import { encrypt, type EncryptOptions } from 'xml-encryption';

// Encrypted assertions (SAML core §2.3.4, §6; XML Encryption 1.1) on xml-encryption: no cryptography of
// our own here, only the choice of algorithms and of the SP's certificate.

/** The XML Encryption algorithms Signoff encrypts assertions with (xmlenc-core1 §5). */
export const XMLENC = {
  /** Content encryption, the default: an AEAD, so a tampered ciphertext fails to decrypt (xmlenc-core1 §5.2.4). */
  aes256Gcm: 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  /** Content encryption only for an SP whose metadata lists it and not AES-256-GCM (CBC has no integrity: xmlenc-core1 §6.1.1). */
  aes128Cbc: 'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  /**
   * Key transport: RSA-OAEP with MGF1-SHA1 and, as its DigestMethod says, the SHA-1 OAEP digest
   * (xmlenc-core1 §5.5.2). Every SAML SP decrypts this (samlify's decrypter knows no other digest);
   * OAEP's security does not rest on the digest's collision resistance.
   */
  rsaOaepMgf1p: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
} as const;

export type ContentEncryption = typeof XMLENC.aes256Gcm | typeof XMLENC.aes128Cbc;

/** The block ciphers an SP may list among its EncryptionMethods (xmlenc-core1 §5.2); the others it lists are key transports. */
const BLOCK_CIPHERS = new Set([
  'http://www.w3.org/2001/04/xmlenc#tripledes-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes192-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2009/xmlenc11#aes192-gcm',
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
]);

/** The smallest RSA key an assertion's key is transported to. */
const MIN_RSA_BITS = 2048;

/**
 * The content encryption for an SP that listed `methods` beside its certificate (metadata §2.4.1.1
 * md:EncryptionMethod): AES-256-GCM, unless the SP lists block ciphers, AES-256-GCM is not among them
 * and AES-128-CBC is. Null when it lists block ciphers and neither: nothing it says it reads.
 */
export function contentEncryptionFor(methods: readonly string[]): ContentEncryption | null {
  const ciphers = methods.filter((method) => BLOCK_CIPHERS.has(method));
  if (!ciphers.length || ciphers.includes(XMLENC.aes256Gcm)) return XMLENC.aes256Gcm;
  return ciphers.includes(XMLENC.aes128Cbc) ? XMLENC.aes128Cbc : null;
}

/** Who an assertion is encrypted to: the SP's certificate and the content encryption it reads. */
export interface EncryptionRecipient {
  /** The certificate as PEM (xml-encryption puts it in the EncryptedKey's KeyInfo, so the SP can tell which key). */
  certificatePem: string;
  /** Its RSA public key, SPKI PEM. */
  publicKeyPem: string;
  algorithm: ContentEncryption;
}

/**
 * The certificate an SP's assertions are encrypted to: the first of its encryption certificates with
 * an RSA key of at least 2048 bits (the key is transported with RSA-OAEP) and a content encryption it
 * reads (contentEncryptionFor). Otherwise `problem` says why none fits, as a sentence's end.
 */
export function encryptionRecipient(
  certificates: readonly EncryptionCertificate[],
): { recipient: EncryptionRecipient; problem?: undefined } | { recipient?: undefined; problem: string } {
  if (!certificates.length)
    return { problem: 'its metadata has no encryption certificate (md:KeyDescriptor use="encryption")' };
  const problems = new Set<string>();
  for (const { certificate, methods } of certificates) {
    const certificatePem = pemOf(certificate);
    let key: KeyObject;
    try {
      key = new X509Certificate(certificatePem).publicKey;
    } catch {
      problems.add('an encryption certificate does not parse as X.509');
      continue;
    }
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (key.asymmetricKeyType !== 'rsa' || bits < MIN_RSA_BITS) {
      problems.add(
        `its encryption certificates have no RSA key of at least ${MIN_RSA_BITS} bits (RSA-OAEP key transport)`,
      );
      continue;
    }
    const algorithm = contentEncryptionFor(methods);
    if (!algorithm) {
      problems.add(
        `its metadata lists only content encryption methods Signoff does not send (${methods.filter((method) => BLOCK_CIPHERS.has(method)).join(', ')}); Signoff sends ${XMLENC.aes256Gcm}, or ${XMLENC.aes128Cbc} to an SP that lists it`,
      );
      continue;
    }
    return {
      recipient: {
        certificatePem,
        publicKeyPem: key.export({ type: 'spki', format: 'pem' }) as string,
        algorithm,
      },
    };
  }
  return { problem: [...problems].join('; ') };
}

/**
 * An Assertion (already signed: core §6.2 signs before it encrypts) encrypted to the recipient, as
 * the xenc:EncryptedData of a saml:EncryptedAssertion (core §2.3.4, §6.1): Type Element, a fresh
 * content key transported in a ds:KeyInfo/xenc:EncryptedKey with RSA-OAEP (XMLENC.rsaOaepMgf1p).
 */
export async function encryptAssertion(assertionXml: string, recipient: EncryptionRecipient): Promise<string> {
  const options: EncryptOptions & { keyEncryptionDigest: 'sha1' } = {
    rsa_pub: recipient.publicKeyPem,
    pem: recipient.certificatePem,
    encryptionAlgorithm: recipient.algorithm,
    keyEncryptionAlgorithm: XMLENC.rsaOaepMgf1p,
    keyEncryptionDigest: 'sha1',
    // The library refuses CBC unless told: allowed only where the SP's metadata chose it.
    disallowEncryptionWithInsecureAlgorithm: recipient.algorithm !== XMLENC.aes128Cbc,
    warnInsecureAlgorithm: false,
  };
  const encryptedData = await promisify(encrypt)(assertionXml, options);
  return encryptedData.trim();
}

/** A base64 DER certificate as PEM. */
export const pemOf = (der: string): string =>
  `-----BEGIN CERTIFICATE-----\n${der.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
