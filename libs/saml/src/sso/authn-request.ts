import type { SamlServiceProvider } from '@signoff/core';
import { NS } from '../xml/namespaces';
import { children, inflateCapped, parseXml, textOf, UnsafeXmlError } from '../xml/safe-xml';
import { verifyEnveloped, verifyRedirectSignature } from '../xml/signatures';

/** What the IdP keeps of a validated AuthnRequest while the user signs in. */
export interface AuthnRequestInfo {
  id: string;
  issuer: string;
  acsUrl: string;
  forceAuthn: boolean;
  isPassive: boolean;
  relayState: string | null;
}

export class AuthnRequestError extends Error {}

const MAX_SKEW_MS = 3 * 60_000;
export const MAX_RELAY_STATE = 80;

/** The message as it arrived, before anything in it is trusted. */
export interface IncomingAuthnRequest {
  binding: 'redirect' | 'post';
  samlRequest: string;
  relayState: string | null;
  /** Redirect binding: the raw query string, for the signature over the octets as received. */
  rawQuery?: string;
}

/** Reads the Issuer (to find the SP and its certificates) without trusting anything else yet. */
export function peekIssuer(message: IncomingAuthnRequest): string {
  return textOf(children(decode(message).documentElement, NS.saml, 'Issuer')[0] ?? fail('the request has no Issuer'));
}

/**
 * Validates an AuthnRequest (SAML core §3.4.1, profiles §4.1.4.1) for a registered SP: the signature
 * when the SP must sign (Redirect: over the raw query; POST: enveloped, then read from the signed
 * bytes only), Destination, IssueInstant within 3 minutes, and an ACS URL from the SP's metadata.
 */
export function validateAuthnRequest(message: IncomingAuthnRequest, sp: SamlServiceProvider, ssoUrl: string, now: Date): AuthnRequestInfo {
  if (message.relayState !== null && message.relayState.length > MAX_RELAY_STATE) throw new AuthnRequestError(`RelayState is longer than ${MAX_RELAY_STATE} bytes`);
  let doc = decode(message);
  if (sp.requireSignedRequests) {
    if (message.binding === 'redirect') verifyRedirectSignature(message.rawQuery ?? '', sp.certificates, 'SAMLRequest');
    else doc = verifyEnveloped(Buffer.from(message.samlRequest, 'base64').toString('utf8'), sp.certificates);
  }
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.samlp || root.localName !== 'AuthnRequest') throw new AuthnRequestError('the message is not an AuthnRequest');
  const id = root.getAttribute('ID') ?? '';
  if (!/^[A-Za-z_][\w.-]{0,127}$/.test(id)) throw new AuthnRequestError('the request ID is missing or malformed');
  if (root.getAttribute('Version') !== '2.0') throw new AuthnRequestError('only SAML 2.0 requests are accepted');
  const issuer = textOf(children(root, NS.saml, 'Issuer')[0] ?? fail('the request has no Issuer'));
  if (issuer !== sp.entityId) throw new AuthnRequestError('the Issuer is not the registered SP');
  const destination = root.getAttribute('Destination');
  if ((destination || sp.requireSignedRequests) && destination !== ssoUrl) throw new AuthnRequestError('the Destination is not this IdP\'s SSO endpoint');
  const issued = Date.parse(root.getAttribute('IssueInstant') ?? '');
  if (Number.isNaN(issued) || Math.abs(issued - now.getTime()) > MAX_SKEW_MS) throw new AuthnRequestError('the IssueInstant is missing or too far from now');

  const binding = root.getAttribute('ProtocolBinding');
  if (binding && binding !== 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST') throw new AuthnRequestError('responses can only be sent with the HTTP-POST binding');
  const posts = sp.acsEndpoints.filter((endpoint) => endpoint.binding === 'post');
  const askedUrl = root.getAttribute('AssertionConsumerServiceURL');
  const askedIndex = root.getAttribute('AssertionConsumerServiceIndex');
  const acs = askedUrl !== null ? posts.find((endpoint) => endpoint.url === askedUrl)
    : askedIndex !== null ? posts.find((endpoint) => endpoint.index === Number(askedIndex))
      : posts.find((endpoint) => endpoint.isDefault) ?? posts[0];
  if (!acs) throw new AuthnRequestError('the AssertionConsumerService is not in the SP\'s metadata');
  return {
    id, issuer, acsUrl: acs.url, relayState: message.relayState,
    forceAuthn: root.getAttribute('ForceAuthn') === 'true', isPassive: root.getAttribute('IsPassive') === 'true',
  };
}

function decode(message: IncomingAuthnRequest): Document {
  let bytes: Buffer;
  try {
    bytes = Buffer.from(message.samlRequest, 'base64');
  } catch {
    throw new UnsafeXmlError('SAMLRequest is not base64');
  }
  return parseXml(message.binding === 'redirect' ? inflateCapped(bytes) : bytes.toString('utf8'));
}

function fail(message: string): never {
  throw new AuthnRequestError(message);
}
