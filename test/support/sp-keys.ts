import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { selfSignedCertificate } from '@signoff/core';

/** A service provider's own RSA key and self-signed certificate, as an SP operator would make them. */
export async function spKeys(name: string): Promise<{ privateKey: string; certificate: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const certificate = await selfSignedCertificate(
    privatePem,
    publicKey.export({ type: 'spki', format: 'pem' }) as string,
    name,
    365,
  );
  return { privateKey: privatePem, certificate };
}

/** A party that signs SAML messages in a test (an IdP, an SP, a federation): spKeys, the key as a KeyObject. */
export async function rsaSigner(name: string): Promise<{ key: KeyObject; certificate: string }> {
  const { privateKey, certificate } = await spKeys(name);
  return { key: createPrivateKey(privateKey), certificate };
}
