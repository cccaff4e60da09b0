import type { SamlServiceProvider } from '@signoff/core';
import { authenticatedDocument, checkEnvelope, type IncomingMessage, SamlMessageError } from '../bindings/incoming';
import { el, messageAttributes, samlId, toXml, type XmlElement } from '../xml/build';
import { NS } from '../xml/namespaces';
import { children } from '../xml/safe-xml';
import { soapBodyElement } from '../bindings/soap';
import { logoutSignatureRequired } from './logout-request';

export const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  partialLogout: 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout',
  unknownPrincipal: 'urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal',
  requestDenied: 'urn:oasis:names:tc:SAML:2.0:status:RequestDenied',
} as const;

export interface LogoutStatus {
  code: string;
  /** The second-level StatusCode (e.g. PartialLogout under Success). */
  detail?: string;
  message?: string;
}

/**
 * A LogoutResponse (core §3.7.2): Destination for the front-channel bindings only, InResponseTo, and a
 * nested status; as XML, and as the tree signXml signs.
 */
export function logoutResponseXml(input: {
  idpEntityId: string;
  destination: string | null;
  inResponseTo: string;
  status: LogoutStatus;
  now: Date;
}): { id: string; xml: string; message: XmlElement } {
  const id = samlId();
  const { code, detail, message } = input.status;
  const response = el(
    'samlp:LogoutResponse',
    {
      ...messageAttributes(id, input.now),
      Destination: input.destination || null,
      InResponseTo: input.inResponseTo,
    },
    [
      el('saml:Issuer', {}, [input.idpEntityId]),
      el('samlp:Status', {}, [
        el('samlp:StatusCode', { Value: code }, [detail ? el('samlp:StatusCode', { Value: detail }) : null]),
        message ? el('samlp:StatusMessage', {}, [message]) : null,
      ]),
    ],
  );
  return { id, xml: toXml(response), message: response };
}

export interface SpLogoutResponse {
  id: string;
  inResponseTo: string;
  status: string;
  detail: string | null;
}

/**
 * Validates an SP's LogoutResponse to one of our LogoutRequests: signature (required as for its
 * LogoutRequests, profiles §4.4.4.2), Issuer, Destination, IssueInstant, InResponseTo, Status.
 */
export function validateLogoutResponse(
  message: IncomingMessage,
  sp: SamlServiceProvider,
  sloUrl: string,
  now: Date,
): SpLogoutResponse {
  const signed = logoutSignatureRequired(sp, 'response');
  const root = authenticatedDocument(message, 'SAMLResponse', sp.certificates, signed).documentElement;
  const { id } = checkEnvelope(root, {
    localName: 'LogoutResponse',
    issuer: sp.entityId,
    destination: sloUrl,
    now,
    destinationRequired: signed && message.binding !== 'soap',
  });
  const inResponseTo = root.getAttribute('InResponseTo');
  if (!inResponseTo) throw new SamlMessageError('the LogoutResponse has no InResponseTo');
  return { id, inResponseTo, ...statusOf(root) };
}

/** The top-level and second-level StatusCode of a LogoutResponse. */
function statusOf(root: Element): { status: string; detail: string | null } {
  const status = children(root, NS.samlp, 'Status')[0];
  const code = status && children(status, NS.samlp, 'StatusCode')[0];
  if (!code?.getAttribute('Value')) throw new SamlMessageError('the LogoutResponse has no StatusCode');
  const inner = children(code, NS.samlp, 'StatusCode')[0];
  return { status: code.getAttribute('Value')!, detail: inner?.getAttribute('Value') ?? null };
}

/**
 * The LogoutResponse an SP sent back over SOAP to our back-channel LogoutRequest: its status and
 * InResponseTo, or null when the reply holds none. The request went over a connection we opened to
 * the SP's registered URL, so the reply is read as the answer of that endpoint.
 */
export function soapReplyStatus(soapBody: string): { status: string; inResponseTo: string | null } | null {
  try {
    const root = soapBodyElement(soapBody);
    if (root.namespaceURI !== NS.samlp || root.localName !== 'LogoutResponse') return null;
    return { status: statusOf(root).status, inResponseTo: root.getAttribute('InResponseTo') };
  } catch {
    return null;
  }
}
