import { BINDINGS, NAMEID_FORMATS, NS } from '../xml/namespaces';

const escape = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The base64 body of a PEM certificate, as KeyInfo/X509Certificate carries it. */
export const certificateBody = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');

/**
 * The IdP's SAML metadata: entityID, every signing certificate SPs should trust (active and next,
 * so an SP that refreshes metadata is ready before a rotation), SSO over Redirect and POST, SLO over
 * Redirect, POST and SOAP, and the NameID formats on offer.
 */
export function idpMetadata(options: { entityId: string; baseUrl: string; certificates: string[] }): string {
  const { baseUrl } = options;
  const keys = options.certificates.map((pem) => `    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificateBody(pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>`).join('\n');
  const endpoint = (element: string, binding: string, location: string) => `    <md:${element} Binding="${binding}" Location="${escape(location)}"/>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="${NS.md}" xmlns:ds="${NS.ds}" entityID="${escape(options.entityId)}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="false">
${keys}
${endpoint('SingleLogoutService', BINDINGS.redirect, `${baseUrl}/saml/slo`)}
${endpoint('SingleLogoutService', BINDINGS.post, `${baseUrl}/saml/slo`)}
${endpoint('SingleLogoutService', BINDINGS.soap, `${baseUrl}/saml/slo/soap`)}
${Object.values(NAMEID_FORMATS).map((format) => `    <md:NameIDFormat>${format}</md:NameIDFormat>`).join('\n')}
${endpoint('SingleSignOnService', BINDINGS.redirect, `${baseUrl}/saml/sso`)}
${endpoint('SingleSignOnService', BINDINGS.post, `${baseUrl}/saml/sso`)}
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`;
}
