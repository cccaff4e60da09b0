import type { SamlServiceProvider } from '@signoff/core';
import { authenticatedDocument, checkEnvelope, type IncomingMessage, SamlMessageError } from '../bindings/incoming';
import { el, instant, messageAttributes, samlId, toXml, type XmlElement } from '../xml/build';
import { NS } from '../xml/namespaces';
import { children, textOf } from '../xml/safe-xml';

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

const REASONS = {
  user: 'urn:oasis:names:tc:SAML:2.0:logout:user',
  admin: 'urn:oasis:names:tc:SAML:2.0:logout:admin',
  'global-timeout': 'urn:oasis:names:tc:SAML:2.0:logout:global-timeout',
};
const LIFETIME_MS = 5 * 60_000;

/** Still exported from here for the library's callers; the one definition is in xml/build. */
export { instant };

/**
 * A LogoutRequest (SAML core §3.7.1) with the NameID exactly as it was issued, and every SessionIndex:
 * as XML, and as the tree signXml signs.
 */
export function logoutRequestXml(input: LogoutRequestInput): { id: string; xml: string; message: XmlElement } {
  const id = samlId();
  const request = el(
    'samlp:LogoutRequest',
    {
      ...messageAttributes(id, input.now),
      Destination: input.destination,
      NotOnOrAfter: instant(new Date(input.now.getTime() + LIFETIME_MS)),
      Reason: REASONS[input.reason],
    },
    [
      el('saml:Issuer', {}, [input.idpEntityId]),
      el(
        'saml:NameID',
        {
          Format: input.nameIdFormat,
          NameQualifier: input.nameQualifier || null,
          SPNameQualifier: input.spNameQualifier || null,
        },
        [input.nameId],
      ),
      ...input.sessionIndexes.map((index) => el('samlp:SessionIndex', {}, [index])),
    ],
  );
  return { id, xml: toXml(request), message: request };
}

/** What an SP's LogoutRequest asks, once its signature, Destination and IssueInstant are checked. */
export interface SpLogoutRequest {
  id: string;
  nameId: string;
  nameIdFormat: string | null;
  spNameQualifier: string | null;
  /** Empty: every session of this NameID at the SP (core §3.7.3.2). */
  sessionIndexes: string[];
  notOnOrAfter: Date | null;
}

/**
 * Whether an SP's logout message must be signed, on every binding. Profiles §4.4.4.1 and §4.4.4.2: a
 * front-channel LogoutRequest or LogoutResponse MUST be signed; a SOAP one must be authenticated, and
 * without TLS client authentication only a signature does that. So: always signed when the SP has a
 * signing certificate (whatever AuthnRequestsSigned says); an SP without one is refused, unless an
 * administrator turned on `allowUnsignedLogoutRequests` for it, the visible exception. The same rule
 * guards LogoutResponses, which settle deliveries: a forged `Success` would report a logout that never
 * happened.
 */
export function logoutSignatureRequired(
  sp: Pick<SamlServiceProvider, 'certificates' | 'allowUnsignedLogoutRequests'>,
  kind: 'request' | 'response' = 'request',
): boolean {
  if (sp.certificates.length) return true;
  if (sp.allowUnsignedLogoutRequests) return false;
  throw new SamlMessageError(
    `the SP has no signing certificate to verify its logout ${kind}s with, and unsigned ones are not allowed for it`,
  );
}

/**
 * Validates an SP's LogoutRequest (core §3.7.1, profiles §4.4.4.1): signature (bindings/incoming),
 * Issuer, Destination, IssueInstant, and a plain NameID (an EncryptedID or BaseID is refused: we never
 * issue them). Session matching and NotOnOrAfter are the caller's: those refusals get a LogoutResponse.
 */
export function validateLogoutRequest(
  message: IncomingMessage,
  sp: SamlServiceProvider,
  sloUrl: string,
  now: Date,
): SpLogoutRequest {
  const signed = logoutSignatureRequired(sp);
  const root = authenticatedDocument(message, 'SAMLRequest', sp.certificates, signed).documentElement;
  const { id } = checkEnvelope(root, {
    localName: 'LogoutRequest',
    issuer: sp.entityId,
    destination: sloUrl,
    now,
    destinationRequired: signed && message.binding !== 'soap',
  });
  const [nameId, ...more] = children(root, NS.saml, 'NameID');
  if (!nameId || more.length) throw new SamlMessageError('the request must carry exactly one NameID');
  const notOnOrAfter = root.getAttribute('NotOnOrAfter');
  const expires = notOnOrAfter ? new Date(Date.parse(notOnOrAfter)) : null;
  if (expires && Number.isNaN(expires.getTime())) throw new SamlMessageError('NotOnOrAfter is not a valid instant');
  return {
    id,
    nameId: textOf(nameId),
    nameIdFormat: nameId.getAttribute('Format'),
    spNameQualifier: nameId.getAttribute('SPNameQualifier'),
    sessionIndexes: children(root, NS.samlp, 'SessionIndex').map(textOf),
    notOnOrAfter: expires,
  };
}
