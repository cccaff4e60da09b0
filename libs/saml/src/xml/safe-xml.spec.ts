import { deflateRawSync } from 'node:zlib';
import { inflateCapped, parseXml, textOf, UnsafeXmlError } from './safe-xml';

describe('parseXml', () => {
  it('reads well-formed XML', () => {
    expect(parseXml('<a xmlns="urn:x"><b>hi</b></a>').documentElement.localName).toBe('a');
  });

  it.each([
    ['a DOCTYPE', '<!DOCTYPE a><a/>'],
    ['an external entity', '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'],
    ['entity expansion', '<!DOCTYPE a [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;">]><a>&l2;</a>'],
    ['malformed XML', '<a><b></a>'],
    ['an empty document', ''],
  ])('refuses %s', (_name, xml) => {
    expect(() => parseXml(xml)).toThrow(UnsafeXmlError);
  });

  it('refuses documents over the size cap', () => {
    expect(() => parseXml(`<a>${'x'.repeat(2048)}</a>`, 1024)).toThrow(/larger than 1024 bytes/);
  });
});

describe('textOf', () => {
  it('ignores comments, so a comment cannot truncate or change a value', () => {
    const doc = parseXml('<NameID>admin@example.com<!---->.evil.example</NameID>');
    expect(textOf(doc.documentElement)).toBe('admin@example.com.evil.example');
  });
});

describe('inflateCapped', () => {
  it('inflates a Redirect-binding message', () => {
    expect(inflateCapped(deflateRawSync(Buffer.from('<a/>')))).toBe('<a/>');
  });

  it('refuses a DEFLATE bomb instead of inflating it', () => {
    const bomb = deflateRawSync(Buffer.alloc(50 * 1024 * 1024, 0x41));
    expect(bomb.length).toBeLessThan(100 * 1024);
    expect(() => inflateCapped(bomb)).toThrow(/inflates to more than 262144 bytes/);
  });

  it('refuses data that is not DEFLATE', () => {
    expect(() => inflateCapped(Buffer.from('not deflate at all'))).toThrow(UnsafeXmlError);
  });
});
