import { NS } from '../xml/namespaces';
import { children, parseXml } from '../xml/safe-xml';
import { logoutResponseXml, STATUS } from './logout-response';

const now = new Date('2026-03-04T05:06:07.890Z');
const base = { idpEntityId: 'https://idp.example/saml/metadata', inResponseTo: '_req&1', now };

describe('logoutResponseXml', () => {
  it('writes Destination, InResponseTo and the nested status with its message', () => {
    const { id, xml } = logoutResponseXml({
      ...base,
      destination: 'https://sp.example/slo',
      status: { code: STATUS.success, detail: STATUS.partialLogout, message: 'one <app> & "another" did not answer' },
    });
    const root = parseXml(xml).documentElement;
    expect(root.getAttribute('ID')).toBe(id);
    expect(root.getAttribute('Destination')).toBe('https://sp.example/slo');
    expect(root.getAttribute('InResponseTo')).toBe('_req&1');
    const status = children(root, NS.samlp, 'Status')[0];
    const code = children(status, NS.samlp, 'StatusCode')[0];
    expect(code.getAttribute('Value')).toBe(STATUS.success);
    expect(children(code, NS.samlp, 'StatusCode')[0].getAttribute('Value')).toBe(STATUS.partialLogout);
    expect(children(status, NS.samlp, 'StatusMessage')[0].firstChild!.nodeValue).toBe(
      'one <app> & "another" did not answer',
    );
  });

  it('leaves out Destination (SOAP), the second-level code and the message when there are none', () => {
    const { xml } = logoutResponseXml({ ...base, destination: null, status: { code: STATUS.success } });
    expect(xml).not.toContain('Destination');
    expect(xml).not.toContain('StatusMessage');
    expect(xml).toContain(`\n  <samlp:Status>\n    <samlp:StatusCode Value="${STATUS.success}"/>\n  </samlp:Status>\n`);
  });
});
