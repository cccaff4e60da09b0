import { el, toXml } from '../xml/build';
import { BINDINGS, NAMEID_FORMATS, NS } from '../xml/namespaces';

/** The base64 body of a PEM certificate, as KeyInfo/X509Certificate carries it. */
export const certificateBody = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');

const keyInfo = (body: string) => el('ds:KeyInfo', {}, [el('ds:X509Data', {}, [el('ds:X509Certificate', {}, [body])])]);

/**
 * The IdP's SAML metadata: entityID, every signing certificate SPs should trust (active and next,
 * so an SP that refreshes metadata is ready before a rotation), SSO over Redirect and POST, SLO over
 * Redirect, POST and SOAP, and the NameID formats on offer.
 */
export function idpMetadata(options: { entityId: string; baseUrl: string; certificates: string[] }): string {
  const endpoint = (service: string, binding: string, path: string) =>
    el(`md:${service}`, { Binding: binding, Location: `${options.baseUrl}${path}` });
  const descriptor = el('md:EntityDescriptor', { 'xmlns:md': NS.md, 'xmlns:ds': NS.ds, entityID: options.entityId }, [
    el('md:IDPSSODescriptor', { protocolSupportEnumeration: NS.samlp, WantAuthnRequestsSigned: 'false' }, [
      ...options.certificates.map((pem) => el('md:KeyDescriptor', { use: 'signing' }, [keyInfo(certificateBody(pem))])),
      endpoint('SingleLogoutService', BINDINGS.redirect, '/saml/slo'),
      endpoint('SingleLogoutService', BINDINGS.post, '/saml/slo'),
      endpoint('SingleLogoutService', BINDINGS.soap, '/saml/slo/soap'),
      ...Object.values(NAMEID_FORMATS).map((format) => el('md:NameIDFormat', {}, [format])),
      endpoint('SingleSignOnService', BINDINGS.redirect, '/saml/sso'),
      endpoint('SingleSignOnService', BINDINGS.post, '/saml/sso'),
    ]),
  ]);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${toXml(descriptor)}\n`;
}
