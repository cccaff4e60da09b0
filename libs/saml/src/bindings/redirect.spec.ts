import { UnsafeXmlError } from '../xml/safe-xml';
import { MAX_REDIRECT_PARAMETERS, parseRedirectQuery } from './redirect';

describe('parseRedirectQuery', () => {
  it("keeps each SAML key's raw octets (for the signature) beside its decoded value (for the message)", () => {
    const query = parseRedirectQuery(
      'SAMLRequest=ab%2Bc%3D&RelayState=a+b%26c&SigAlg=http%3A%2F%2Fx&Signature=s%2F1&other=1&other=2',
    );
    expect(query.raw).toEqual({
      SAMLRequest: 'ab%2Bc%3D',
      RelayState: 'a+b%26c',
      SigAlg: 'http%3A%2F%2Fx',
      Signature: 's%2F1',
    });
    expect(query.values).toEqual({ SAMLRequest: 'ab+c=', RelayState: 'a b&c', SigAlg: 'http://x', Signature: 's/1' });
  });

  it.each([
    ['a SAML key given twice', 'SAMLRequest=a&SAMLRequest=b', 'SAMLRequest is given more than once'],
    [
      'a SAML key given twice in another spelling',
      'SAMLRequest=a&SAMLReques%74=b',
      'SAMLRequest is given more than once',
    ],
    ['a SAML key without a value, then with one', 'Signature&Signature=x', 'Signature is given more than once'],
    [
      'too many parameters',
      Array.from({ length: MAX_REDIRECT_PARAMETERS + 1 }, (_, i) => `p${i}=`).join('&'),
      `more than ${MAX_REDIRECT_PARAMETERS} parameters`,
    ],
    ['bad percent-encoding', 'SAMLRequest=%ZZ', 'not valid percent-encoding'],
  ])('refuses %s', (_name, raw, message) => {
    expect(() => parseRedirectQuery(raw)).toThrow(UnsafeXmlError);
    expect(() => parseRedirectQuery(raw)).toThrow(message);
  });

  it('accepts exactly the limit, and empty segments do not count', () => {
    expect(() =>
      parseRedirectQuery(Array.from({ length: MAX_REDIRECT_PARAMETERS }, (_, i) => `p${i}=`).join('&') + '&&&'),
    ).not.toThrow();
  });
});
