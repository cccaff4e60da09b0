import { SignoffError } from '@signoff/core';
import { NS } from '../xml/namespaces';
import { children, descendants, inflateCapped, parseXml, textOf, UnsafeXmlError } from '../xml/safe-xml';
import { verifyEnveloped, verifyRedirectSignature } from '../xml/signatures';
import { parseRedirectQuery, type RedirectQuery } from './redirect';

/** A SAML protocol message as it arrived, before anything in it is trusted. */
export interface IncomingMessage {
  binding: 'redirect' | 'post' | 'soap';
  /** Redirect/POST: the SAMLRequest or SAMLResponse field as received (base64). SOAP: the message element's XML. */
  message: string;
  relayState: string | null;
  /** Redirect binding: the query `message` and `relayState` were read from (redirectMessage), which the signature is checked over. */
  query?: RedirectQuery;
}

/** A message refused for what it says or how it is signed (as opposed to UnsafeXmlError: refused for how it is written). */
export class SamlMessageError extends SignoffError {
  constructor(message: string) {
    super('saml_message_refused', message);
    this.name = 'SamlMessageError';
  }
}

/** Is this a refusal of a SAML message (as opposed to a fault of ours)? */
export function isSamlRefusal(error: unknown): error is SamlMessageError | UnsafeXmlError {
  return error instanceof SamlMessageError || error instanceof UnsafeXmlError;
}

export const MAX_RELAY_STATE = 80;
/** How far an IssueInstant may be from our clock. */
export const MAX_SKEW_MS = 3 * 60_000;

/**
 * An HTTP-Redirect message read from the raw query string (without the `?`), exactly once: the
 * message, its RelayState and, later, its signature all come from the same parsed query, so no second
 * parser can see another message (a duplicate key, or keys past a parser's limit). `kind` says which
 * of SAMLRequest and SAMLResponse it carries; a query with both or neither is refused.
 */
export function redirectMessage(rawQuery: string): {
  kind: 'SAMLRequest' | 'SAMLResponse';
  message: IncomingMessage & { binding: 'redirect' };
} {
  const query = parseRedirectQuery(rawQuery);
  const present = (['SAMLRequest', 'SAMLResponse'] as const).filter((key) => query.values[key]);
  if (present.length !== 1) throw new SamlMessageError('the query must carry one SAMLRequest or one SAMLResponse');
  const kind = present[0];
  return {
    kind,
    message: { binding: 'redirect', message: query.values[kind]!, relayState: query.values.RelayState || null, query },
  };
}

/** The message's XML, inflated (Redirect) or decoded (POST), parsed safely. */
export function decodeMessage(message: IncomingMessage): Document {
  if (message.binding === 'soap') return parseXml(message.message);
  if (!/^[A-Za-z0-9+/=\s]*$/.test(message.message)) throw new UnsafeXmlError('the message is not base64');
  const bytes = Buffer.from(message.message, 'base64');
  return parseXml(message.binding === 'redirect' ? inflateCapped(bytes) : bytes.toString('utf8'));
}

/** Reads the Issuer (to find the SP and its certificates) without trusting anything else yet. */
export function peekIssuer(message: IncomingMessage): string {
  const issuer = children(decodeMessage(message).documentElement, NS.saml, 'Issuer')[0];
  if (!issuer) throw new SamlMessageError('the message has no Issuer');
  return textOf(issuer);
}

/**
 * The message's document, its signature checked with the SP's pinned certificates: always when it is
 * signed and we hold certificates, and a signature is required when `required`. Redirect: over the raw
 * query octets. POST and SOAP: enveloped, and the document returned is re-read from the signed bytes
 * only, so nothing outside the signature can be read by mistake (signature wrapping).
 */
export function authenticatedDocument(
  message: IncomingMessage,
  param: 'SAMLRequest' | 'SAMLResponse',
  certificates: string[],
  required: boolean,
): Document {
  if (message.relayState !== null && Buffer.byteLength(message.relayState) > MAX_RELAY_STATE)
    throw new SamlMessageError(`RelayState is longer than ${MAX_RELAY_STATE} bytes`);
  const doc = decodeMessage(message);
  if (message.binding === 'redirect') {
    // Verify and process the same octets: the message must be the very value the signature covers.
    const query = message.query;
    if (!query || query.values[param] !== message.message || (query.values.RelayState || null) !== message.relayState)
      throw new UnsafeXmlError('the message was not read from its query');
    if (required || (query.raw.Signature !== undefined && certificates.length))
      verifyRedirectSignature(query, certificates, param);
    return doc;
  }
  const signed = descendants(doc, NS.ds, 'Signature').length > 0;
  if (!required && !(signed && certificates.length)) return doc;
  if (!signed) throw new UnsafeXmlError('the message is not signed');
  return verifyEnveloped(
    message.binding === 'soap' ? message.message : Buffer.from(message.message, 'base64').toString('utf8'),
    certificates,
  );
}

/** The checks every SAML protocol message shares (core §3.2.1, §3.2.2): kind, ID, Version, Issuer, Destination, IssueInstant. */
export function checkEnvelope(
  root: Element,
  expected: { localName: string; issuer: string; destination: string; now: Date; destinationRequired: boolean },
): { id: string } {
  if (root.namespaceURI !== NS.samlp || root.localName !== expected.localName)
    throw new SamlMessageError(`the message is not a ${expected.localName}`);
  const id = root.getAttribute('ID') ?? '';
  if (!/^[A-Za-z_][\w.-]{0,127}$/.test(id)) throw new SamlMessageError('the message ID is missing or malformed');
  if (root.getAttribute('Version') !== '2.0') throw new SamlMessageError('only SAML 2.0 messages are accepted');
  const issuer = children(root, NS.saml, 'Issuer')[0];
  if (!issuer || textOf(issuer) !== expected.issuer) throw new SamlMessageError('the Issuer is not the registered SP');
  const destination = root.getAttribute('Destination');
  if ((destination || expected.destinationRequired) && destination !== expected.destination)
    throw new SamlMessageError("the Destination is not this IdP's endpoint");
  const issued = Date.parse(root.getAttribute('IssueInstant') ?? '');
  if (Number.isNaN(issued) || Math.abs(issued - expected.now.getTime()) > MAX_SKEW_MS)
    throw new SamlMessageError('the IssueInstant is missing or too far from now');
  return { id };
}
