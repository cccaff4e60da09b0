import { createSign, type KeyObject } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { NS } from '../xml/namespaces';
import { children, parseXml } from '../xml/safe-xml';
import { RSA_SHA256 } from '../xml/signatures';
import { samlId } from '../sso/response';

export interface LogoutRequestInput {
  idpEntityId: string;
  destination: string;
  nameId: string;
  nameIdFormat: string;
  nameQualifier: string | null;
  spNameQualifier: string | null;
  sessionIndexes: string[];
  reason: 'user' | 'admin' | 'global-timeout';
  now: Date;
}

const REASONS = { user: 'urn:oasis:names:tc:SAML:2.0:logout:user', admin: 'urn:oasis:names:tc:SAML:2.0:logout:admin', 'global-timeout': 'urn:oasis:names:tc:SAML:2.0:logout:global-timeout' };
const LIFETIME_MS = 5 * 60_000;
const x = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const instant = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A LogoutRequest (SAML core §3.7.1) with the NameID exactly as it was issued, and every SessionIndex. */
export function logoutRequestXml(input: LogoutRequestInput): { id: string; xml: string } {
  const id = samlId();
  const qualifiers = `${input.nameQualifier ? ` NameQualifier="${x(input.nameQualifier)}"` : ''}${input.spNameQualifier ? ` SPNameQualifier="${x(input.spNameQualifier)}"` : ''}`;
  const xml = `<samlp:LogoutRequest xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${id}" Version="2.0" IssueInstant="${instant(input.now)}"`
    + ` Destination="${x(input.destination)}" NotOnOrAfter="${instant(new Date(input.now.getTime() + LIFETIME_MS))}" Reason="${REASONS[input.reason]}">`
    + `<saml:Issuer>${x(input.idpEntityId)}</saml:Issuer>`
    + `<saml:NameID Format="${x(input.nameIdFormat)}"${qualifiers}>${x(input.nameId)}</saml:NameID>`
    + input.sessionIndexes.map((index) => `<samlp:SessionIndex>${x(index)}</samlp:SessionIndex>`).join('')
    + '</samlp:LogoutRequest>';
  return { id, xml };
}

/** HTTP-Redirect binding (bindings §3.4.4.1): DEFLATE, base64, and a query signature when `key` is given. */
export function redirectUrl(location: string, xml: string, key: KeyObject | null, relayState?: string): string {
  let query = `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}`;
  if (relayState) query += `&RelayState=${encodeURIComponent(relayState)}`;
  if (key) {
    query += `&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
    query += `&Signature=${encodeURIComponent(createSign('RSA-SHA256').update(query).sign(key, 'base64'))}`;
  }
  return `${location}${location.includes('?') ? '&' : '?'}${query}`;
}

export function soapEnvelope(xml: string): string {
  return `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${xml}</soap:Body></soap:Envelope>`;
}

/** The top-level StatusCode of the LogoutResponse in a SOAP reply, and its InResponseTo, or null. */
export function soapLogoutResponseStatus(body: string): { status: string; inResponseTo: string | null } | null {
  try {
    const responses = parseXml(body).getElementsByTagNameNS(NS.samlp, 'LogoutResponse');
    if (responses.length !== 1) return null;
    const response = responses[0] as Element;
    const status = children(response, NS.samlp, 'Status')[0];
    const code = status && children(status, NS.samlp, 'StatusCode')[0];
    return code ? { status: code.getAttribute('Value') ?? '', inResponseTo: response.getAttribute('InResponseTo') } : null;
  } catch {
    return null;
  }
}

