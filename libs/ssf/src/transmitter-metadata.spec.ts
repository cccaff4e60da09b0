import { metadataPathOf, transmitterMetadata } from './transmitter-metadata';
import { pushVerdict } from './ssf-transmitter';

describe('transmitter metadata (SSF 1.0 §7)', () => {
  it('is served where §7.2.1 puts it: between the host and the issuer path', () => {
    expect(metadataPathOf('https://idp.example.com')).toBe('/.well-known/ssf-configuration');
    expect(metadataPathOf('https://idp.example.com/')).toBe('/.well-known/ssf-configuration');
    expect(metadataPathOf('https://idp.example.com/tenant1/')).toBe('/.well-known/ssf-configuration/tenant1');
  });

  it('names the issuer exactly, every endpoint under it, and has no empty array (§7.2.3)', () => {
    const metadata = transmitterMetadata('https://idp.example.com/t');
    expect(metadata.issuer).toBe('https://idp.example.com/t');
    for (const [name, value] of Object.entries(metadata)) {
      if (name.endsWith('_endpoint') || name === 'jwks_uri') expect(value).toMatch(/^https:\/\/idp\.example\.com\/t\//);
      if (Array.isArray(value)) expect(value.length).toBeGreaterThan(0);
    }
    expect(metadata.authorization_schemes).toEqual([{ spec_urn: 'urn:ietf:rfc:6749' }]);
  });
});

describe('pushVerdict (RFC 8935 §2.2, §2.3, §4)', () => {
  it('takes 202 (and any 2xx) as delivered', () => {
    expect(pushVerdict({ status: 202, body: '' })).toEqual({ ok: true, retryable: false });
    expect(pushVerdict({ status: 204, body: '' }).ok).toBe(true);
  });

  it('does not retry a SET the receiver refused, and records its err and description', () => {
    expect(pushVerdict({ status: 400, body: '{"err":"invalid_audience","description":"not us"}' })).toEqual({
      ok: false,
      retryable: false,
      error: 'HTTP 400: invalid_audience: not us',
    });
    expect(pushVerdict({ status: 400, body: 'oops' }).error).toBe('HTTP 400: the receiver refused the SET');
    expect(pushVerdict({ status: 401, body: '' }).retryable).toBe(false);
    expect(pushVerdict({ status: 302, body: '' }).retryable).toBe(false);
  });

  it('retries what the receiver may take later: 408, 429, 5xx', () => {
    for (const status of [408, 429, 500, 503]) expect(pushVerdict({ status, body: '' }).retryable).toBe(true);
  });
});
