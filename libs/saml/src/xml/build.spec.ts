import { el, escapeXml, instant, messageAttributes, raw, samlId, toXml } from './build';
import { NS } from './namespaces';
import { parseXml } from './safe-xml';

const NASTY = `a<b>&"c'd`;

describe('escapeXml', () => {
  it('escapes the five XML specials as character references', () => {
    expect(escapeXml(`<&"'>`)).toBe('&#60;&#38;&#34;&#39;&#62;');
  });

  it('escapes tab, LF and CR, which a parser would otherwise normalise away', () => {
    expect(escapeXml('a\tb\nc\rd')).toBe('a&#9;b&#10;c&#13;d');
  });

  it('escapes NEL and LINE SEPARATOR, which xmldom would turn into LF or a space, and reads them back as they were', () => {
    const value = 'a\u0085b\u2028c';
    expect(escapeXml(value)).toBe('a&#133;b&#8232;c');
    const doc = parseXml(toXml(el('a', { v: value }, [el('b', {}, [value])])));
    expect(doc.documentElement.getAttribute('v')).toBe(value);
    expect(doc.getElementsByTagName('b')[0].firstChild!.nodeValue).toBe(value);
  });

  it('leaves other text alone', () => {
    expect(escapeXml('alice@example.com é 😀 ]]>')).toBe('alice@example.com é 😀 ]]&#62;');
  });
});

describe('toXml', () => {
  it('writes one element per line, indented by level, and a text-only element on one line', () => {
    const tree = el('a', { x: '1' }, [el('b', {}, [el('c', {}, ['text'])]), el('d')]);
    expect(toXml(tree)).toBe(['<a x="1">', '  <b>', '    <c>text</c>', '  </b>', '  <d/>', '</a>'].join('\n'));
  });

  it('adds no whitespace to text, however deep the element', () => {
    const value = '  alice \t@ example ';
    const xml = toXml(el('p:Outer', { 'xmlns:p': 'urn:p' }, [el('p:Middle', {}, [el('p:NameID', {}, [value])])]));
    expect(xml).toContain(`    <p:NameID>${escapeXml(value)}</p:NameID>\n`);
    const nameId = parseXml(xml).getElementsByTagNameNS('urn:p', 'NameID')[0];
    expect(nameId.childNodes.length).toBe(1);
    expect(nameId.firstChild!.nodeValue).toBe(value);
  });

  it('escapes attribute values and text, which read back exactly as given', () => {
    const xml = toXml(el('a', { v: NASTY, w: 'tab\tline\nreturn\r' }, [el('b', {}, [NASTY])]));
    expect(xml).toBe(
      '<a v="a&#60;b&#62;&#38;&#34;c&#39;d" w="tab&#9;line&#10;return&#13;">\n  <b>a&#60;b&#62;&#38;&#34;c&#39;d</b>\n</a>',
    );
    const root = parseXml(xml).documentElement;
    expect(root.getAttribute('v')).toBe(NASTY);
    expect(root.getAttribute('w')).toBe('tab\tline\nreturn\r');
    expect(root.getElementsByTagName('b')[0].firstChild!.nodeValue).toBe(NASTY);
  });

  it('writes attributes in insertion order and skips null and undefined ones (an empty string is a value)', () => {
    expect(toXml(el('a', { z: '1', gone: null, y: '2', absent: undefined, x: '' }))).toBe('<a z="1" y="2" x=""/>');
  });

  it('skips null and undefined children: an element left with none is self-closing', () => {
    expect(toXml(el('a', {}, [null, el('b'), undefined]))).toBe('<a>\n  <b/>\n</a>');
    expect(toXml(el('a', {}, [null, undefined]))).toBe('<a/>');
  });

  it('keeps an empty text child as an empty element with both tags', () => {
    expect(toXml(el('a', {}, [el('b', {}, [''])]))).toBe('<a>\n  <b></b>\n</a>');
  });

  it('writes raw markup on its own lines, byte for byte, without indenting it', () => {
    const signed = '<m:Message xmlns:m="urn:m" ID="_1">\n  <m:Issuer>x</m:Issuer>\n</m:Message>';
    expect(toXml(el('env', {}, [el('body', {}, [raw(signed)])]))).toBe(`<env>\n  <body>\n${signed}\n  </body>\n</env>`);
  });

  it('refuses mixed content (text beside elements), which indentation would alter', () => {
    expect(() => el('a', {}, ['text', el('b')])).toThrow(/both text and elements/);
    expect(() => el('a', {}, [raw('<b/>'), 'text'])).toThrow(/both text and elements/);
  });

  it('writes a SAML message head with the namespaces, ID, Version and IssueInstant, in that order', () => {
    const xml = toXml(
      el('samlp:LogoutResponse', {
        ...messageAttributes('_abc', new Date('2026-03-04T05:06:07.890Z')),
        InResponseTo: '_r',
      }),
    );
    expect(xml).toBe(
      `<samlp:LogoutResponse xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="_abc" Version="2.0" IssueInstant="2026-03-04T05:06:07Z" InResponseTo="_r"/>`,
    );
  });
});

describe('samlId', () => {
  it('is an xs:ID (an NCName: `_` first) with 160 random bits', () => {
    const ids = Array.from({ length: 50 }, samlId);
    for (const id of ids) expect(id).toMatch(/^_[0-9a-f]{40}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('instant', () => {
  it('is UTC to the second', () => {
    expect(instant(new Date('2026-03-04T05:06:07.890Z'))).toBe('2026-03-04T05:06:07Z');
  });
});
