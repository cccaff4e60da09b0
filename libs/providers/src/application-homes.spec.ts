import { oidcApplicationHome, samlApplicationHome } from './application-homes';

const oidc = (
  redirectUris: string[],
  clientUri: string | null = null,
  tokenEndpointAuthMethod = 'client_secret_basic',
) => ({
  redirectUris,
  clientUri,
  tokenEndpointAuthMethod,
});
const acs = (...urls: string[]) => ({
  acsEndpoints: urls.map((url, index) => ({ url, binding: 'post' as const, index, isDefault: false })),
});

describe('where an application lives', () => {
  it("OIDC: the client's client_uri when it registered one", () => {
    expect(oidcApplicationHome(oidc(['https://rp.example/cb'], 'https://www.rp.example/about'))).toBe(
      'https://www.rp.example/about',
    );
  });

  it('OIDC: else the origin of its first http(s) redirect_uri', () => {
    expect(oidcApplicationHome(oidc(['https://rp.example:8443/auth/cb?x=1', 'https://other.example/cb']))).toBe(
      'https://rp.example:8443',
    );
    expect(oidcApplicationHome(oidc(['com.example.app:/cb', 'https://rp.example/cb'], null, 'none'))).toBe(
      'https://rp.example',
    );
  });

  it("OIDC: no link to a native app's private-use scheme or a public client's loopback listener (RFC 8252)", () => {
    expect(oidcApplicationHome(oidc(['com.example.app:/cb'], null, 'none'))).toBeNull();
    expect(oidcApplicationHome(oidc(['http://127.0.0.1:51234/cb'], null, 'none'))).toBeNull();
    // A confidential client on loopback is a web application run locally (development): its page is there.
    expect(oidcApplicationHome(oidc(['http://127.0.0.1:3000/cb']))).toBe('http://127.0.0.1:3000');
  });

  it('SAML: the origin of its first AssertionConsumerService URL', () => {
    expect(samlApplicationHome(acs('https://sp.example/saml/acs', 'https://other.example/acs'))).toBe(
      'https://sp.example',
    );
    expect(samlApplicationHome(acs())).toBeNull();
  });

  it('never yields anything but an http(s) URL', () => {
    expect(oidcApplicationHome(oidc(['https://rp.example/cb'], 'javascript:alert(1)'))).toBeNull();
    expect(samlApplicationHome(acs('javascript:alert(1)'))).toBeNull();
    expect(samlApplicationHome(acs('not a url'))).toBeNull();
  });
});
