import { createSign, type KeyObject } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { rsaSigner } from '../../../../test/support/sp-keys';
import { UnsafeXmlError } from '../xml/safe-xml';
import { RSA_SHA256, verifyRedirectSignature } from '../xml/signatures';
import { MAX_REDIRECT_PARAMETERS, parseRedirectQuery, redirectUrl } from './redirect';

describe('redirectUrl', () => {
  let key: KeyObject;
  let certificate: string;
  beforeAll(async () => {
    ({ key, certificate } = await rsaSigner('idp.example'));
  });
  const xml = '<samlp:LogoutRequest ID="_r1">a & b</samlp:LogoutRequest>';
  const queryOf = (url: string) => url.slice(url.indexOf('?') + 1);

  it('signs the query as sent (bindings §3.4.4.1): it verifies, with the bytes a signature made on the calling thread has', async () => {
    const url = await redirectUrl('https://sp.example/slo?tenant=1', 'SAMLRequest', xml, key, 'state &1');
    expect(url.startsWith('https://sp.example/slo?tenant=1&SAMLRequest=')).toBe(true);
    const query = parseRedirectQuery(queryOf(url));
    expect(inflateRawSync(Buffer.from(query.values.SAMLRequest!, 'base64')).toString()).toBe(xml);
    expect(query.values.RelayState).toBe('state &1');
    expect(query.values.SigAlg).toBe(RSA_SHA256);
    expect(() => verifyRedirectSignature(query, [certificate], 'SAMLRequest')).not.toThrow();
    // RSASSA-PKCS1-v1_5 is deterministic: the same signature as node:crypto's synchronous form.
    const signed = `SAMLRequest=${query.raw.SAMLRequest}&RelayState=${query.raw.RelayState}&SigAlg=${query.raw.SigAlg}`;
    expect(query.values.Signature).toBe(createSign('RSA-SHA256').update(signed).sign(key, 'base64'));
  });

  it('does not verify once the RelayState is changed', async () => {
    const url = await redirectUrl('https://sp.example/slo', 'SAMLResponse', xml, key, 'state');
    const tampered = parseRedirectQuery(queryOf(url).replace('RelayState=state', 'RelayState=other'));
    expect(tampered.values.RelayState).toBe('other');
    expect(() => verifyRedirectSignature(tampered, [certificate], 'SAMLResponse')).toThrow(/does not verify/);
  });

  it('is unsigned without a key', async () => {
    const query = parseRedirectQuery(queryOf(await redirectUrl('https://sp.example/slo', 'SAMLRequest', xml, null)));
    expect(Object.keys(query.raw)).toEqual(['SAMLRequest']);
  });
});

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
