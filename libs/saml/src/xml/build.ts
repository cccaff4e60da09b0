import { randomBytes } from 'node:crypto';
import { NS } from './namespaces';

// How the SAML library writes XML: a tree of el(...) nodes, serialised one element per line by
// toXml. Every text and attribute value goes through escapeXml; every SAML ID comes from samlId.

/**
 * Text or an attribute value, escaped: the five XML specials, and tab, LF and CR, which a parser would
 * otherwise turn into spaces (attribute-value normalisation) or LF (end-of-line handling); also NEL
 * and LINE SEPARATOR (U+0085, U+2028), which xmldom, the parser of node-saml, samlify and Signoff,
 * turns into LF or a space as XML 1.1 does. A reference is read back as the character itself.
 */
export const escapeXml = (value: string): string =>
  value.replace(/[&<>"'\t\n\r\u0085\u2028]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A SAML ID (core §1.3.4): an xs:ID, so `_` first (an NCName never starts with a digit), then 160 random bits. */
export const samlId = (): string => `_${randomBytes(20).toString('hex')}`;

/** A SAML instant: UTC xs:dateTime to the second (core §1.3.3). */
export const instant = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Attributes in the order written; a null or undefined value leaves the attribute out. */
export type XmlAttributes = Record<string, string | null | undefined>;

export interface XmlElement {
  readonly kind: 'element';
  readonly name: string;
  readonly attributes: XmlAttributes;
  /** Either text only (strings) or markup only (elements, raw): never mixed content. */
  readonly children: readonly XmlNode[];
  /**
   * Written on one line, without whitespace between the elements inside (see `compact`): a
   * ds:Signature, as signers write it, whatever its depth.
   */
  readonly compact?: boolean;
}

/** Markup written verbatim, e.g. a message already signed, whose bytes must not change. */
export interface XmlRaw {
  readonly kind: 'raw';
  readonly xml: string;
}

/** A string child is text. */
export type XmlNode = XmlElement | XmlRaw | string;

/** An element; null and undefined children are left out, so optional parts can be written inline. */
export function el(
  name: string,
  attributes: XmlAttributes = {},
  children: ReadonlyArray<XmlNode | null | undefined> = [],
): XmlElement {
  const kept = children.filter((child): child is XmlNode => child !== null && child !== undefined);
  const texts = kept.filter((child) => typeof child === 'string').length;
  if (texts && texts !== kept.length)
    throw new Error(`<${name}> would hold both text and elements: SAML uses no mixed content`);
  return { kind: 'element', name, attributes, children: kept };
}

/** The element written on one line, with no whitespace between the elements inside it, at any depth. */
export const compact = (element: XmlElement): XmlElement => ({ ...element, compact: true });

/** Markup to insert as it is (see XmlRaw). */
export const raw = (xml: string): XmlRaw => ({ kind: 'raw', xml });

/** The attributes every SAML protocol message of ours opens with (core §3.2.1), in this order. */
export const messageAttributes = (id: string, now: Date): XmlAttributes => ({
  'xmlns:samlp': NS.samlp,
  'xmlns:saml': NS.saml,
  ID: id,
  Version: '2.0',
  IssueInstant: instant(now),
});

/**
 * The node as XML, one element per line, indented by two spaces a level. A text-only element stays
 * on one line (`<saml:NameID ...>value</saml:NameID>`): no whitespace is ever added to text, which
 * is compared byte-wise (NameID, SessionIndex, signature values). Indentation only goes between
 * elements. Raw markup is written on lines of its own, not indented, exactly as given.
 */
export function toXml(node: XmlNode, indent = ''): string {
  if (typeof node === 'string') return escapeXml(node);
  if (node.kind === 'raw') return node.xml;
  const attributes = attributesOf(node)
    .map(([name, value]) => ` ${name}="${escapeXml(value)}"`)
    .join('');
  const open = `${indent}<${node.name}${attributes}`;
  const close = `</${node.name}>`;
  if (!node.children.length) return `${open}/>`;
  if (typeof node.children[0] === 'string')
    return `${open}>${node.children.map((text) => toXml(text)).join('')}${close}`;
  if (node.compact) return `${open}>${node.children.map((child) => toXml(inline(child))).join('')}${close}`;
  const lines = node.children.map((child) => toXml(child, childIndent(indent)));
  return [`${open}>`, ...lines, `${indent}${close}`].join('\n');
}

/** The attributes that are written (those with a value), in the order given. */
export const attributesOf = (element: XmlElement): Array<[string, string]> =>
  Object.entries(element.attributes).filter(
    (entry): entry is [string, string] => entry[1] !== null && entry[1] !== undefined,
  );

/** The indentation of an element's children (toXml). */
export const childIndent = (indent: string): string => `${indent}  `;

/** A child of a compact element: compact itself. */
export const inline = (node: XmlNode): XmlNode =>
  typeof node === 'string' || node.kind === 'raw' || node.compact ? node : compact(node);
