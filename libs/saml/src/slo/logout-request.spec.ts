import { NS } from '../xml/namespaces';
import { children, parseXml } from '../xml/safe-xml';
import { logoutRequestXml } from './logout-request';

const now = new Date('2026-03-04T05:06:07.890Z');
const input = {
  idpEntityId: 'https://idp.example/saml/metadata',
  destination: 'https://sp.example/slo?a=1&b=2',
  nameId: ' bob<&>"\' ',
  nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  nameQualifier: 'https://idp.example/saml/metadata',
  spNameQualifier: 'https://sp.example/metadata',
  sessionIndexes: ['_s1', '_s2&'],
  reason: 'admin' as const,
  now,
};

describe('logoutRequestXml', () => {
  it('writes the NameID exactly as issued, every SessionIndex, and the envelope attributes', () => {
    const { id, xml } = logoutRequestXml(input);
    const root = parseXml(xml).documentElement;
    expect(root.getAttribute('ID')).toBe(id);
    expect(id).toMatch(/^_[0-9a-f]{40}$/);
    expect(root.getAttribute('Destination')).toBe(input.destination);
    expect(root.getAttribute('IssueInstant')).toBe('2026-03-04T05:06:07Z');
    expect(root.getAttribute('NotOnOrAfter')).toBe('2026-03-04T05:11:07Z');
    expect(root.getAttribute('Reason')).toBe('urn:oasis:names:tc:SAML:2.0:logout:admin');
    const [nameId] = children(root, NS.saml, 'NameID');
    expect(nameId.firstChild!.nodeValue).toBe(input.nameId);
    expect(nameId.getAttribute('NameQualifier')).toBe(input.nameQualifier);
    expect(nameId.getAttribute('SPNameQualifier')).toBe(input.spNameQualifier);
    expect(children(root, NS.samlp, 'SessionIndex').map((index) => index.firstChild!.nodeValue)).toEqual(
      input.sessionIndexes,
    );
    expect(xml.split('\n')).toHaveLength(6);
  });

  it('leaves out the qualifiers the NameID was issued without', () => {
    const { xml } = logoutRequestXml({ ...input, nameQualifier: null, spNameQualifier: null, sessionIndexes: [] });
    expect(xml).not.toContain('Qualifier');
    expect(xml).not.toContain('SessionIndex');
  });
});
