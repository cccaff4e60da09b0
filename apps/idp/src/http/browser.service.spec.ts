import { loadConfig } from '@signoff/core';
import type { Request, Response } from 'express';
import { BrowserService } from './browser.service';
import { safeReturnTo } from './return-to';

const secret = 's'.repeat(43);
const withCookie = (cookie: string) => ({ headers: { cookie } }) as unknown as Request;

function issue(service: BrowserService): string {
  let value = '';
  service.ensure(withCookie(''), {
    cookie: (_name: string, v: string) => {
      value = v;
    },
  } as unknown as Response);
  return value;
}

describe('BrowserService', () => {
  const service = new BrowserService(loadConfig({}), secret);

  it('reads back the id it issued, and nothing else', () => {
    const value = issue(service);
    const [id] = value.split('.');
    expect(service.read(withCookie(`other=1; signoff_browser=${value}`))).toBe(id);
    expect(service.read(withCookie(`signoff_browser=${id}.${'A'.repeat(43)}`))).toBeNull();
    expect(service.read(withCookie(`signoff_browser=${value}x`))).toBeNull();
    expect(new BrowserService(loadConfig({}), 't'.repeat(43)).read(withCookie(`signoff_browser=${value}`))).toBeNull();
  });

  it('uses the __Host- prefix and Secure over https', () => {
    const https = new BrowserService(loadConfig({ PUBLIC_URL: 'https://idp.example.com' }), secret);
    let options: Record<string, unknown> = {};
    https.setCookie(
      {
        cookie: (name: string, _v: string, o: Record<string, unknown>) => {
          options = { name, ...o };
        },
      } as unknown as Response,
      'id',
    );
    expect(options).toMatchObject({
      name: '__Host-signoff_browser',
      secure: true,
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
    });
  });

  it('accepts a CSRF token only from the browser it was issued to', () => {
    const [a] = issue(service).split('.');
    const [b] = issue(service).split('.');
    expect(() => service.checkCsrf(a, service.csrfToken(a))).not.toThrow();
    expect(() => service.checkCsrf(a, service.csrfToken(b))).toThrow(/did not come from Signoff/);
    expect(() => service.checkCsrf(a, undefined)).toThrow();
    expect(() => service.checkCsrf(null, service.csrfToken(a))).toThrow(/cookie/);
  });
});

describe('safeReturnTo', () => {
  it.each([
    ['/accounts', '/accounts'],
    ['/a?b=c', '/a?b=c'],
    ['//evil.example', '/'],
    ['/\\evil.example', '/'],
    ['https://evil.example', '/'],
    ['javascript:alert(1)', '/'],
    ['/a\r\nSet-Cookie: x', '/'],
    [undefined, '/'],
    [['/a'], '/'],
  ])('%j -> %s', (input, expected) => {
    expect(safeReturnTo(input)).toBe(expected);
  });
});
