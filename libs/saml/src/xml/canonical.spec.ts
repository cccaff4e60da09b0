import { ExclusiveCanonicalization } from 'xml-crypto';
import { compact, el, raw, toXml, type XmlElement } from './build';
import { exclusiveCanonical } from './canonical';
import { NS } from './namespaces';
import { parseXml } from './safe-xml';

/**
 * The reference: xml-crypto's exclusive c14n (what node-saml and samlify verify with) of the element
 * with this ID in the document toXml writes, parsed, with `omitId`'s element removed (the enveloped
 * transform) and the whitespace around it kept.
 */
function reference(root: XmlElement, id: string, omitName?: string, inclusiveNamespacesPrefixList?: string[]): string {
  const doc = parseXml(toXml(root));
  const all = Array.from(doc.getElementsByTagName('*') as ArrayLike<Element>);
  const target = all.find((element) => element.getAttribute('ID') === id)!;
  if (omitName) {
    const omitted = Array.from(target.childNodes as ArrayLike<Node>).find((node) => node.nodeName === omitName)!;
    target.removeChild(omitted);
  }
  return new ExclusiveCanonicalization().process(target, { inclusiveNamespacesPrefixList });
}

const NASTY = `a<b>&"c'd\te\nf\rg ]]> é 😀 \u0085\u2028 \uE000\uFFFD`;
const xsString = {
  'xmlns:xs': 'http://www.w3.org/2001/XMLSchema',
  'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
  'xsi:type': 'xs:string',
};

const assertion = (id: string, value = 'alice') =>
  el('saml:Assertion', { 'xmlns:saml': NS.saml, ID: id, Version: '2.0', IssueInstant: '2026-01-01T00:00:00Z' }, [
    el('saml:Issuer', {}, ['https://idp.example']),
    el('saml:Subject', {}, [
      el('saml:NameID', { SPNameQualifier: 'sp', Format: 'urn:f', NameQualifier: NASTY }, [value]),
    ]),
    el('saml:Conditions', { NotOnOrAfter: 'b', NotBefore: 'a' }, [el('saml:AudienceRestriction')]),
    el('saml:AttributeStatement', {}, [
      el('saml:Attribute', { Name: 'mail', FriendlyName: 'mail' }, [
        el('saml:AttributeValue', xsString, [NASTY]),
        el('saml:AttributeValue', xsString, ['']),
      ]),
    ]),
  ]);

const response = (body: XmlElement) =>
  el('samlp:Response', { 'xmlns:samlp': NS.samlp, 'xmlns:saml': NS.saml, ID: '_r', Version: '2.0' }, [
    el('saml:Issuer', {}, ['https://idp.example']),
    el('samlp:Status', {}, [el('samlp:StatusCode', { Value: 'urn:success' })]),
    body,
  ]);

const signatureLike = compact(
  el('ds:Signature', { 'xmlns:ds': NS.ds }, [
    el('ds:SignedInfo', {}, [el('ds:CanonicalizationMethod', { Algorithm: 'urn:c' }), el('ds:DigestValue', {}, ['x'])]),
    el('ds:SignatureValue', {}, ['abc']),
  ]),
);

describe('exclusiveCanonical', () => {
  it.each([
    ['a message at the root', () => ({ root: assertion('_a'), target: '_a' })],
    [
      'an element nested in another, its namespaces declared by an ancestor',
      () => ({ root: response(assertion('_a')), target: '_a' }),
    ],
    ['the root around a nested element', () => ({ root: response(assertion('_a')), target: '_r' })],
    [
      'an element whose child is a compact signature of another',
      () => ({
        root: response(
          el('saml:Assertion', { ...assertion('_a').attributes }, [
            ...assertion('_a').children.slice(0, 1),
            signatureLike,
            ...assertion('_a').children.slice(1),
          ]),
        ),
        target: '_r',
      }),
    ],
    [
      'prefixed attributes sorted by namespace URI, then local name, after unprefixed ones',
      () => ({
        root: el('p:a', { 'xmlns:p': 'urn:z', 'xmlns:q': 'urn:a', 'q:y': '1', 'p:x': '2', b: '3', a: '4', ID: '_x' }, [
          el('p:b'),
        ]),
        target: '_x',
      }),
    ],
    [
      'a default namespace, and one undone by xmlns=""',
      () => ({
        root: el('a', { xmlns: 'urn:d', ID: '_d' }, [
          el('b', {}, [el('c', { xmlns: '' }, ['t'])]),
          el('p:e', { 'xmlns:p': 'urn:p' }),
        ]),
        target: '_d',
      }),
    ],
    [
      'a prefix declared again with another value deeper down',
      () => ({
        root: el('p:a', { 'xmlns:p': 'urn:one', ID: '_p' }, [
          el('p:b', { 'xmlns:p': 'urn:two' }, [el('p:c', {}, ['t'])]),
        ]),
        target: '_p',
      }),
    ],
    [
      'an xml: attribute, never declared',
      () => ({ root: el('a', { 'xml:lang': 'en', ID: '_l' }, ['t']), target: '_l' }),
    ],
  ])('is what xml-crypto computes from the document for %s', (_, make) => {
    const { root, target } = make();
    const element = find(root, target);
    expect(exclusiveCanonical(root, element)).toBe(reference(root, target));
  });

  it.each([
    ['the assertion, xs declared on each value', () => ({ root: response(assertion('_a')), target: '_a' })],
    ['the response around it', () => ({ root: response(assertion('_a')), target: '_r' })],
    [
      'an element declaring xs itself, used only below it',
      () => ({
        root: el('saml:Attribute', { 'xmlns:saml': NS.saml, 'xmlns:xs': xsString['xmlns:xs'], ID: '_x' }, [
          el('saml:AttributeValue', { 'xmlns:xsi': xsString['xmlns:xsi'], 'xsi:type': 'xs:string' }, ['v']),
        ]),
        target: '_x',
      }),
    ],
  ])('with an InclusiveNamespaces PrefixList, is what xml-crypto computes with it for %s', (_, make) => {
    const { root, target } = make();
    const canonical = exclusiveCanonical(root, find(root, target), undefined, ['xs']);
    expect(canonical).toBe(reference(root, target, undefined, ['xs']));
    // Control: the list is what brings xs's binding into the form.
    expect(canonical).toContain('xmlns:xs="http://www.w3.org/2001/XMLSchema"');
    expect(exclusiveCanonical(root, find(root, target))).not.toContain('xmlns:xs=');
  });

  it('renders a listed prefix where it is in scope, declared above the element or again below it (as libxml2 does)', () => {
    // Expected forms: libxml2's exclusive c14n (lxml, inclusive_ns_prefixes=['xs']) of toXml's document.
    const root = el('r', { 'xmlns:xs': 'urn:one', ID: '_r' }, [
      el('a', { ID: '_a' }, [el('b', { 'xmlns:xs': 'urn:one' }, [el('c', { 'xmlns:xs': 'urn:two' }, ['t'])])]),
    ]);
    expect(exclusiveCanonical(root, find(root, '_a'), undefined, ['xs'])).toBe(
      '<a xmlns:xs="urn:one" ID="_a">\n    <b>\n      <c xmlns:xs="urn:two">t</c>\n    </b>\n  </a>',
    );
    // A listed prefix not in scope renders nothing.
    expect(exclusiveCanonical(root, find(root, '_a'), undefined, ['zz'])).not.toContain('xmlns');
  });

  it('leaves out the omitted element and keeps the whitespace around it', () => {
    const signed = el('saml:Assertion', { ...assertion('_a').attributes }, [
      ...assertion('_a').children.slice(0, 1),
      signatureLike,
      ...assertion('_a').children.slice(1),
    ]);
    const root = response(signed);
    const canonical = exclusiveCanonical(root, signed, signatureLike);
    expect(canonical).toBe(reference(root, '_a', 'ds:Signature'));
    expect(canonical).toContain('</saml:Issuer>\n    \n    <saml:Subject>');
    expect(canonical).not.toContain('Signature');
  });

  it('control: the reference tells a different form apart (one attribute value changed)', () => {
    const root = assertion('_a');
    expect(exclusiveCanonical(root, root)).not.toBe(reference(assertion('_a', 'bob'), '_a'));
  });

  it('refuses raw markup, which it does not read, and characters XML cannot carry', () => {
    const withRaw = el('a', { ID: '_r' }, [raw('<b/>')]);
    expect(() => exclusiveCanonical(withRaw, withRaw)).toThrow(/raw markup/);
    const control = el('a', { ID: '_c' }, ['a\u0001b']);
    expect(() => exclusiveCanonical(control, control)).toThrow(/U\+0001/);
  });

  it('refuses an element that is not in the tree, and an undeclared prefix', () => {
    expect(() => exclusiveCanonical(assertion('_a'), assertion('_a'))).toThrow(/not in the tree/);
    const undeclared = el('p:a');
    expect(() => exclusiveCanonical(undeclared, undeclared)).toThrow(/prefix p/);
  });
});

function find(node: XmlElement, id: string): XmlElement {
  if (node.attributes.ID === id) return node;
  for (const child of node.children)
    if (typeof child !== 'string' && child.kind === 'element') {
      try {
        return find(child, id);
      } catch {
        // not under this child
      }
    }
  throw new Error(`no ${id}`);
}
