import type { KeyObject } from 'node:crypto';
import { el, instant, samlId, toXml } from '../xml/build';
import { BINDINGS, NAMEID_FORMATS, NS } from '../xml/namespaces';
import { signXml } from '../xml/signatures';

/** The base64 body of a PEM certificate, as KeyInfo/X509Certificate carries it. */
export const certificateBody = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');

const keyInfo = (body: string) => el('ds:KeyInfo', {}, [el('ds:X509Data', {}, [el('ds:X509Certificate', {}, [body])])]);

/**
 * The IdP's SAML metadata: entityID, the scope of its scoped attributes, every signing certificate
 * SPs should trust (active and next, so an SP that refreshes metadata is ready before a rotation),
 * SSO over Redirect and POST, SLO over Redirect, POST and SOAP, and the NameID formats on offer.
 * Signed by signXml (the RSA signature off the event loop): the document is served to anyone who asks.
 */
export async function idpMetadata(options: {
  entityId: string;
  baseUrl: string;
  certificates: string[];
  /** SAML_SCOPE: SPs such as Shibboleth accept a scoped attribute (subject-id, ePPN) only in a scope the IdP's metadata lists. */
  scope: string;
  /** When SPs and federations must stop relying on this document (metadata §2.3.2 validUntil). */
  validUntil?: Date;
  /** How long a consumer may cache it before fetching it again (metadata §2.3.2 cacheDuration). */
  cacheDurationMs?: number;
  /**
   * Signs the EntityDescriptor (enveloped, RSA-SHA256, the Signature first, metadata §2.3.2), as
   * federations require of the metadata they aggregate. No KeyInfo: a verifier pins one of the
   * certificates the document publishes, and the document lists only the ones SPs should trust.
   */
  signingKey?: KeyObject;
}): Promise<string> {
  const endpoint = (service: string, binding: string, path: string) =>
    el(`md:${service}`, { Binding: binding, Location: `${options.baseUrl}${path}` });
  const id = options.signingKey ? samlId() : undefined;
  const attributes = {
    'xmlns:md': NS.md,
    'xmlns:ds': NS.ds,
    ID: id,
    entityID: options.entityId,
    validUntil: options.validUntil ? instant(options.validUntil) : undefined,
    cacheDuration: options.cacheDurationMs === undefined ? undefined : xsDurationOf(options.cacheDurationMs),
  };
  const descriptor = el('md:EntityDescriptor', attributes, [
    el('md:IDPSSODescriptor', { protocolSupportEnumeration: NS.samlp, WantAuthnRequestsSigned: 'false' }, [
      // Extensions come first in a role descriptor (metadata §2.4.1); a literal scope, not a regexp.
      el('md:Extensions', {}, [el('shibmd:Scope', { 'xmlns:shibmd': NS.shibmd, regexp: 'false' }, [options.scope])]),
      ...options.certificates.map((pem) => el('md:KeyDescriptor', { use: 'signing' }, [keyInfo(certificateBody(pem))])),
      endpoint('SingleLogoutService', BINDINGS.redirect, '/saml/slo'),
      endpoint('SingleLogoutService', BINDINGS.post, '/saml/slo'),
      endpoint('SingleLogoutService', BINDINGS.soap, '/saml/slo/soap'),
      ...Object.values(NAMEID_FORMATS).map((format) => el('md:NameIDFormat', {}, [format])),
      endpoint('SingleSignOnService', BINDINGS.redirect, '/saml/sso'),
      endpoint('SingleSignOnService', BINDINGS.post, '/saml/sso'),
    ]),
  ]);
  const signed = toXml(
    options.signingKey && id ? await signXml(descriptor, id, options.signingKey, null, 'first-child') : descriptor,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n${signed}\n`;
}

/** Milliseconds as an xs:duration: whole hours as PT6H, else whole seconds (PT90S). */
export function xsDurationOf(ms: number): string {
  return ms % 3_600_000 === 0 ? `PT${ms / 3_600_000}H` : `PT${Math.round(ms / 1000)}S`;
}
