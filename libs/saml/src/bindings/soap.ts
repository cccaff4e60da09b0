import { XMLSerializer } from '@xmldom/xmldom';
import { el, raw, toXml, type XmlNode } from '../xml/build';
import { children, parseXml, UnsafeXmlError } from '../xml/safe-xml';

// SAML SOAP binding (bindings §3.2): SOAP 1.1, one SAML message in the Body.
const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';

const envelope = (message: XmlNode) =>
  toXml(el('soap:Envelope', { 'xmlns:soap': SOAP_ENV }, [el('soap:Body', {}, [message])]));

/** The message (XML text, often signed) in a SOAP envelope, byte for byte as given. */
export function soapEnvelope(xml: string): string {
  return envelope(raw(xml));
}

/** A SOAP fault: the answer to a request that cannot be read or trusted (bindings §3.2.3.3). */
export function soapFault(reason: string): string {
  return envelope(el('soap:Fault', {}, [el('faultcode', {}, ['soap:Client']), el('faultstring', {}, [reason])]));
}

/**
 * The one SAML message in a SOAP envelope, as its own XML text: its signature is then checked over
 * exactly the element it signs. Exclusive c14n makes that independent of the envelope's namespaces.
 */
export function soapBodyMessage(body: string): string {
  return new XMLSerializer().serializeToString(soapBodyElement(body) as never);
}

/** The one element in a SOAP envelope's Body (refused unless the envelope is exactly that). */
export function soapBodyElement(body: string): Element {
  const root = parseXml(body).documentElement;
  if (root.namespaceURI !== SOAP_ENV || root.localName !== 'Envelope')
    throw new UnsafeXmlError('the request is not a SOAP 1.1 envelope');
  const [soapBody, ...more] = children(root, SOAP_ENV, 'Body');
  if (!soapBody || more.length) throw new UnsafeXmlError('the SOAP envelope must have one Body');
  const elements: Element[] = [];
  for (let node = soapBody.firstChild; node; node = node.nextSibling)
    if (node.nodeType === 1) elements.push(node as Element);
  if (elements.length !== 1) throw new UnsafeXmlError('the SOAP Body must hold exactly one SAML message');
  return elements[0];
}
