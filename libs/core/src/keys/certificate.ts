import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as never); // Node's webcrypto is the WebCrypto the library expects

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };

/** A self-signed X.509 certificate (PEM) for an RSA key, as SAML metadata publishes it. */
export async function selfSignedCertificate(
  privateKeyPem: string,
  publicKeyPem: string,
  commonName: string,
  validDays: number,
): Promise<string> {
  const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const subtle = webcrypto.subtle;
  const keys = {
    privateKey: await subtle.importKey('pkcs8', der(privateKeyPem), RSA, false, ['sign']),
    publicKey: await subtle.importKey('spki', der(publicKeyPem), RSA, true, ['verify']),
  };
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${randomBytes(15).toString('hex')}`,
    name: `CN=${commonName.replace(/[,+="\\<>;#]/g, '')}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + validDays * 86_400_000),
    signingAlgorithm: RSA,
    keys: keys as unknown as x509.X509CertificateCreateSelfSignedParams['keys'],
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  });
  return cert.toString('pem');
}
