import { rsaSigner } from '../../../../test/support/sp-keys';
import { certificateBody } from '../metadata/idp-metadata';
import { NS } from '../xml/namespaces';
import { UnsafeXmlError } from '../xml/safe-xml';
import { signElement, verifyEnveloped } from '../xml/signatures';
import { soapBodyElement, soapBodyMessage, soapEnvelope, soapFault } from './soap';

const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';

describe('soapBodyMessage', () => {
  it('extracts the message with the namespaces it borrowed from the envelope, so a signature made in place still verifies', async () => {
    const { key, certificate } = await rsaSigner('sp.example');
    // The SAML prefixes are declared on the Envelope, not on the message: the signer signed it in place.
    const envelope =
      `<s:Envelope xmlns:s="${SOAP}" xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}"><s:Body>` +
      '<samlp:LogoutRequest ID="_soap1" Version="2.0" IssueInstant="2026-11-22T00:00:00Z"><saml:Issuer>https://sp.example</saml:Issuer>' +
      '<saml:NameID>alice</saml:NameID></samlp:LogoutRequest></s:Body></s:Envelope>';
    const signed = signElement(envelope, '_soap1', key, certificateBody(certificate));
    const message = soapBodyMessage(signed);
    expect(message.startsWith('<samlp:LogoutRequest')).toBe(true);
    expect(verifyEnveloped(message, [certificate]).documentElement.getAttribute('ID')).toBe('_soap1');
  });

  it.each([
    ['not a SOAP 1.1 envelope', `<Envelope><Body><x/></Body></Envelope>`],
    ['two messages in the Body', `<s:Envelope xmlns:s="${SOAP}"><s:Body><a/><b/></s:Body></s:Envelope>`],
    ['two Bodies', `<s:Envelope xmlns:s="${SOAP}"><s:Body><a/></s:Body><s:Body><b/></s:Body></s:Envelope>`],
    [
      'a DOCTYPE',
      `<!DOCTYPE s [<!ENTITY e "e">]><s:Envelope xmlns:s="${SOAP}"><s:Body><a>&e;</a></s:Body></s:Envelope>`,
    ],
  ])('refuses %s', (_name, xml) => {
    expect(() => soapBodyMessage(xml)).toThrow(UnsafeXmlError);
  });
});

describe('soapEnvelope', () => {
  it('carries the message byte for byte, so its signature still verifies', () => {
    const message = `<samlp:LogoutResponse xmlns:samlp="${NS.samlp}" ID="_m1">\n  <samlp:Status/>\n</samlp:LogoutResponse>`;
    const envelope = soapEnvelope(message);
    expect(envelope).toContain(`\n${message}\n`);
    expect(soapBodyMessage(envelope)).toBe(message);
  });
});

describe('soapFault', () => {
  it('is a SOAP 1.1 Client fault whose faultstring reads back as given', () => {
    const fault = soapBodyElement(soapFault('bad <request> & "more"'));
    expect(fault.namespaceURI).toBe(SOAP);
    expect(fault.localName).toBe('Fault');
    expect(fault.getElementsByTagName('faultcode')[0].firstChild!.nodeValue).toBe('soap:Client');
    expect(fault.getElementsByTagName('faultstring')[0].firstChild!.nodeValue).toBe('bad <request> & "more"');
  });
});
