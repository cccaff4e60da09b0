import { attributesOf, childIndent, type XmlElement, type XmlNode } from './build';

/** The namespace the `xml` prefix is bound to by definition (Namespaces in XML §3): never declared, never rendered. */
const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';

/** Characters XML 1.0 can carry (§2.2 Char): a signature over any other could not be verified by anyone. */
const NOT_XML_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/**
 * Exclusive XML Canonicalization 1.0, without comments (https://www.w3.org/TR/xml-exc-c14n/), of
 * `target`, an element of the tree `root`, exactly as a verifier computes it from the document
 * `toXml(root)` writes: the whitespace toXml puts between elements is part of the document, so it is
 * part of the form. `omit` (the enveloped ds:Signature, XML-DSig §6.6.4) is left out, the whitespace
 * around it kept, as the enveloped-signature transform removes the element alone. `inclusivePrefixes`
 * is the transform's InclusiveNamespaces PrefixList (exc-c14n §3): those prefixes are rendered as
 * Canonical XML renders every namespace, wherever they are in scope and an output ancestor has not
 * rendered them with the same value, used or not (the `xs` of xsi:type="xs:string", which nothing
 * else would bring into the form, so that the signature covers what it is bound to).
 *
 * What the form is (Canonical XML 1.0 §2.3, exc-c14n §3): every element written as a start and an end
 * tag; namespace declarations first, sorted by prefix, and only those the element visibly uses (its
 * own prefix, its attributes' prefixes) that an output ancestor has not already rendered with the
 * same value (a prefix used only inside an attribute's value, such as xsi:type="xs:string", does not
 * count); then the attributes sorted by namespace URI and local name; text and attribute values with
 * their own, fixed escapes. The signer computes it from the tree it built, without parsing anything.
 * Raw markup (XmlRaw) is not read: an element holding some is signed by signElementOffThread.
 *
 * xml-crypto, which node-saml and samlify verify with, departs from the specification in three places
 * this library's vocabulary never reaches: it orders prefixes with localeCompare (`B` before `a` differs),
 * sorts attributes by namespace URI and local name run together (`urn:a` + `b` against `urn:ab`), and
 * leaves namespace URIs unescaped. A new prefix or prefixed attribute should be checked against it
 * (canonical.spec.ts compares the two).
 */
export function exclusiveCanonical(
  root: XmlElement,
  target: XmlElement,
  omit?: XmlElement,
  inclusivePrefixes: readonly string[] = [],
): string {
  const place = placeOf(root, target);
  if (!place) throw new Error('the element to canonicalize is not in the tree');
  const out: string[] = [];
  writeElement(target, { ...place, rendered: new Map(), omit, inclusivePrefixes, out });
  return out.join('');
}

/** Where an element is in its tree: what is in scope there, and how toXml lays it out. */
interface Place {
  /** The namespaces declared by its ancestors, nearest last: prefix ('' for the default namespace) to URI. */
  inScope: ReadonlyMap<string, string>;
  indent: string;
  /** Inside a compact element: no whitespace between elements. */
  compact: boolean;
}

interface Writing extends Place {
  /** The namespaces its output ancestors rendered, and their values. */
  rendered: ReadonlyMap<string, string>;
  omit: XmlElement | undefined;
  /** The InclusiveNamespaces PrefixList: rendered wherever in scope, used or not. */
  inclusivePrefixes: readonly string[];
  out: string[];
}

function placeOf(
  node: XmlElement,
  target: XmlElement,
  place: Place = { inScope: new Map(), indent: '', compact: false },
): Place | null {
  if (node === target) return place;
  const inner: Place = {
    inScope: withDeclarations(place.inScope, node),
    indent: childIndent(place.indent),
    compact: place.compact || Boolean(node.compact),
  };
  for (const child of node.children)
    if (typeof child !== 'string' && child.kind === 'element') {
      const found = placeOf(child, target, inner);
      if (found) return found;
    }
  return null;
}

function writeElement(element: XmlElement, at: Writing): void {
  const inScope = withDeclarations(at.inScope, element);
  const attributes = attributesOf(element).filter(([name]) => !isDeclaration(name));
  const used = new Set([
    prefixOf(element.name),
    ...attributes.filter(([name]) => name.includes(':')).map(([name]) => prefixOf(name)),
    ...at.inclusivePrefixes.filter((prefix) => inScope.has(prefix)),
  ]);
  const rendered = new Map(at.rendered);
  const declarations: Array<[string, string]> = [];
  for (const prefix of used) {
    if (prefix === 'xml') continue;
    const uri = prefix === '' ? (inScope.get('') ?? '') : namespaceOf(prefix, inScope);
    // Already rendered with this value by an output ancestor. No default namespace counts as the empty
    // one: an unprefixed element renders xmlns="" only to undo an ancestor's default (exc-c14n §3).
    if ((rendered.get(prefix) ?? (prefix === '' ? '' : undefined)) === uri) continue;
    declarations.push([prefix, uri]);
    rendered.set(prefix, uri);
  }
  declarations.sort(([a], [b]) => byCodePoint(a, b));
  const sorted = attributes
    .map(([name, value]) => ({
      uri: name.includes(':') ? namespaceOf(prefixOf(name), inScope) : '',
      local: localOf(name),
      name,
      value,
    }))
    .sort((a, b) => byCodePoint(a.uri, b.uri) || byCodePoint(a.local, b.local));
  const { out } = at;
  out.push('<', element.name);
  for (const [prefix, uri] of declarations)
    out.push(prefix ? ` xmlns:${prefix}="` : ' xmlns="', escapeAttribute(uri), '"');
  for (const { name, value } of sorted) out.push(' ', name, '="', escapeAttribute(value), '"');
  out.push('>');
  const children = element.children;
  if (children.length && typeof children[0] === 'string') out.push(escapeText((children as string[]).join('')));
  else if (children.length) {
    const compact = at.compact || Boolean(element.compact);
    const indent = childIndent(at.indent);
    for (const child of children) {
      if (!compact) out.push('\n', indent);
      if (child === at.omit) continue;
      writeChild(child, { ...at, inScope, rendered, indent, compact });
    }
    if (!compact) out.push('\n', at.indent);
  }
  out.push('</', element.name, '>');
}

function writeChild(child: XmlNode, at: Writing): void {
  if (typeof child === 'string') throw new Error('text beside elements: SAML uses no mixed content');
  if (child.kind === 'raw') throw new Error('raw markup is not canonicalized here: sign it with signElementOffThread');
  writeElement(child, at);
}

/** The scope inside `element`: `inScope` and the namespaces it declares (xmlns, xmlns:p). */
function withDeclarations(inScope: ReadonlyMap<string, string>, element: XmlElement): ReadonlyMap<string, string> {
  const declared = attributesOf(element).filter(([name]) => isDeclaration(name));
  if (!declared.length) return inScope;
  const scope = new Map(inScope);
  for (const [name, uri] of declared) scope.set(name === 'xmlns' ? '' : name.slice('xmlns:'.length), uri);
  return scope;
}

const isDeclaration = (name: string) => name === 'xmlns' || name.startsWith('xmlns:');
const prefixOf = (name: string) => (name.includes(':') ? name.slice(0, name.indexOf(':')) : '');
const localOf = (name: string) => name.slice(name.indexOf(':') + 1);

function namespaceOf(prefix: string, inScope: ReadonlyMap<string, string>): string {
  if (prefix === 'xml') return XML_NAMESPACE;
  const uri = inScope.get(prefix);
  if (uri === undefined) throw new Error(`the prefix ${prefix} is not declared`);
  return uri;
}

/** Canonical XML §2.3 sorts by code point; JavaScript's `<` compares UTF-16 units, which differ above U+FFFF. */
function byCodePoint(a: string, b: string): number {
  if (a === b) return 0;
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** Canonical XML §2.3: in attribute values & < " and tab, LF, CR as references; nothing else. */
function escapeAttribute(value: string): string {
  assertXmlCharacters(value);
  return value.replace(/[&<"\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c]);
}

/** Canonical XML §2.3: in text & < > and CR as references; nothing else. */
function escapeText(value: string): string {
  assertXmlCharacters(value);
  return value.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c]);
}

const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '"': '&quot;',
  '\t': '&#x9;',
  '\n': '&#xA;',
  '\r': '&#xD;',
};
const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' };

function assertXmlCharacters(value: string): void {
  const found = NOT_XML_CHARACTER.exec(value);
  if (found)
    throw new Error(
      `XML cannot carry the character U+${found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}: nothing could verify a signature over it`,
    );
}
