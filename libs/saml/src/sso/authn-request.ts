import type { SamlServiceProvider } from '@signoff/core';
import { authenticatedDocument, checkEnvelope, type IncomingMessage, SamlMessageError } from '../bindings/incoming';

/** What the IdP keeps of a validated AuthnRequest while the user signs in. */
export interface AuthnRequestInfo {
  id: string;
  issuer: string;
  acsUrl: string;
  forceAuthn: boolean;
  isPassive: boolean;
  relayState: string | null;
}

/**
 * Validates an AuthnRequest (SAML core §3.4.1, profiles §4.1.4.1) for a registered SP: the signature
 * (bindings/incoming), Destination, IssueInstant within 3 minutes, and an ACS URL from the SP's metadata.
 */
export function validateAuthnRequest(
  message: IncomingMessage,
  sp: SamlServiceProvider,
  ssoUrl: string,
  now: Date,
): AuthnRequestInfo {
  const root = authenticatedDocument(message, 'SAMLRequest', sp.certificates, sp.requireSignedRequests).documentElement;
  const { id } = checkEnvelope(root, {
    localName: 'AuthnRequest',
    issuer: sp.entityId,
    destination: ssoUrl,
    now,
    destinationRequired: sp.requireSignedRequests,
  });
  const binding = root.getAttribute('ProtocolBinding');
  if (binding && binding !== 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST')
    throw new SamlMessageError('responses can only be sent with the HTTP-POST binding');
  const posts = sp.acsEndpoints.filter((endpoint) => endpoint.binding === 'post');
  const askedUrl = root.getAttribute('AssertionConsumerServiceURL');
  const askedIndex = root.getAttribute('AssertionConsumerServiceIndex');
  const acs =
    askedUrl !== null
      ? posts.find((endpoint) => endpoint.url === askedUrl)
      : askedIndex !== null
        ? posts.find((endpoint) => endpoint.index === Number(askedIndex))
        : (posts.find((endpoint) => endpoint.isDefault) ?? posts[0]);
  if (!acs) throw new SamlMessageError("the AssertionConsumerService is not in the SP's metadata");
  return {
    id,
    issuer: sp.entityId,
    acsUrl: acs.url,
    relayState: message.relayState,
    forceAuthn: isTrue(root.getAttribute('ForceAuthn')),
    isPassive: isTrue(root.getAttribute('IsPassive')),
  };
}

/** An xs:boolean attribute (XML Schema §3.2.2): `true` or `1`. */
function isTrue(value: string | null): boolean {
  return value === 'true' || value === '1';
}
