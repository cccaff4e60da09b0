import { SignoffError } from '@signoff/core';
import { DOMParser } from '@xmldom/xmldom';
import { inflateRawSync } from 'node:zlib';

/** A SAML message or metadata document we refuse to read (for how it is written: DOCTYPE, encoding, size). */
export class UnsafeXmlError extends SignoffError {
  constructor(message: string) {
    super('unsafe_xml', message);
    this.name = 'UnsafeXmlError';
  }
}

/** Largest XML document read: messages are a few KiB, metadata with several certificates tens of KiB. */
export const MAX_XML_BYTES = 256 * 1024;

/**
 * Parses XML from an untrusted party. No DOCTYPE at all (so no external entities and no entity
 * expansion), no processing beyond well-formed elements, a size cap, and parser warnings are errors.
 */
export function parseXml(text: string, maxBytes = MAX_XML_BYTES): Document {
  if (Buffer.byteLength(text, 'utf8') > maxBytes)
    throw new UnsafeXmlError(`the XML document is larger than ${maxBytes} bytes`);
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new UnsafeXmlError('XML with a DOCTYPE or entity declaration is refused');
  const problems: string[] = [];
  const doc = new DOMParser({
    locator: {},
    errorHandler: {
      warning: (message) => problems.push(message),
      error: (message) => problems.push(message),
      fatalError: (message) => problems.push(message),
    },
  }).parseFromString(text, 'application/xml');
  if (problems.length || !doc?.documentElement)
    throw new UnsafeXmlError(`the XML is not well formed: ${problems[0] ?? 'no root element'}`);
  return doc as unknown as Document;
}

/** Inflates a DEFLATE'd SAML Redirect-binding message, refusing to produce more than `maxBytes`. */
export function inflateCapped(data: Buffer, maxBytes = MAX_XML_BYTES): string {
  try {
    return inflateRawSync(data, { maxOutputLength: maxBytes }).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new UnsafeXmlError(`the message inflates to more than ${maxBytes} bytes`);
    }
    throw new UnsafeXmlError('the message is not valid DEFLATE data');
  }
}

/** Child elements of `parent` with this namespace and local name, in document order. */
export function children(parent: Element, namespace: string, localName: string): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (
      node.nodeType === 1 &&
      (node as Element).namespaceURI === namespace &&
      (node as Element).localName === localName
    )
      found.push(node as Element);
  }
  return found;
}

/** Descendant elements with this namespace and local name, in document order (xmldom's NodeList is not iterable). */
export function descendants(parent: Element | Document, namespace: string, localName: string): Element[] {
  return Array.from(parent.getElementsByTagNameNS(namespace, localName) as ArrayLike<Element>);
}

/** The element's text with every comment and other markup ignored: only text and CDATA nodes count. */
export function textOf(element: Element): string {
  let text = '';
  for (let node = element.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 3 || node.nodeType === 4) text += node.nodeValue ?? '';
  }
  return text.trim();
}
