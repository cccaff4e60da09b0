import { allowedReturnUrl, matchReturnUrl, returnUrlProblem } from './return-urls';

describe('matchReturnUrl', () => {
  const exact = 'https://app.example.com/bye';
  const wildcard = 'https://*.example.com/bye';

  it.each<[string, string, string, string | null]>([
    // entry, candidate, why, where the browser goes (null: refused)
    [exact, 'https://app.example.com/bye', 'the same URL', 'https://app.example.com/bye'],
    [
      exact,
      'https://APP.Example.COM/bye',
      'an upper-case host (hosts are case-insensitive)',
      'https://app.example.com/bye',
    ],
    [exact, 'HTTPS://app.example.com/bye', 'an upper-case scheme', 'https://app.example.com/bye'],
    [exact, 'https://app.example.com:443/bye', 'the default port written out', 'https://app.example.com/bye'],
    [exact, 'https://app.example.com/Bye', 'a path in another case', null],
    [exact, 'https://app.example.com/bye/', 'a trailing slash', null],
    [exact, 'https://app.example.com/bye?x=1', 'a query the entry does not have', null],
    [exact, 'https://app.example.com:8443/bye', 'a different port', null],
    [exact, 'http://app.example.com/bye', 'http for https', null],
    [exact, 'https://app.example.com./bye', 'a trailing dot', null],
    [exact, 'https://app.example.com/x/../bye', 'a dot segment (the parser would rewrite it)', null],
    [exact, 'https://app.example.com/%2e%2e/bye', 'an encoded dot segment', null],
    [exact, 'https://app%2Eexample.com/bye', 'an encoded dot in the host', null],
    [exact, 'https://app.example.com@evil.com/bye', 'userinfo: a URL of evil.com', null],
    [exact, 'https://evil.com\\@app.example.com/bye', 'a backslash', null],
    [exact, 'https:\\\\app.example.com/bye', 'backslashes for slashes', null],
    [exact, 'https://app.example.com/bye#x', 'a fragment', null],
    [exact, ' https://app.example.com/bye', 'a leading space', null],
    [exact, 'https://app.example.com/bye\n', 'a trailing newline', null],
    [exact, '//app.example.com/bye', 'a scheme-relative URL', null],
    [exact, '/bye', 'a path only', null],
    [wildcard, 'https://a.example.com/bye', 'one label for the wildcard', 'https://a.example.com/bye'],
    [wildcard, 'https://A.EXAMPLE.COM/bye', 'upper case, under a wildcard', 'https://a.example.com/bye'],
    [
      wildcard,
      'https://xn--bcher-kva.example.com/bye',
      'an IDN label in punycode',
      'https://xn--bcher-kva.example.com/bye',
    ],
    [wildcard, 'https://bücher.example.com/bye', 'an IDN label in Unicode (only punycode is compared)', null],
    [wildcard, 'https://a.b.example.com/bye', 'two labels for a one-label wildcard', null],
    [wildcard, 'https://example.com/bye', 'no label for the wildcard', null],
    [wildcard, 'https://.example.com/bye', 'an empty label', null],
    [wildcard, 'https://*.example.com/bye', 'a wildcard asked for', null],
    [wildcard, 'https://-a.example.com/bye', 'a label starting with a hyphen', null],
    [wildcard, 'https://evil.com#.example.com/bye', 'a fragment that looks like the domain', null],
    [wildcard, 'https://evil.com/?.example.com/bye', 'a query that looks like the domain', null],
    [wildcard, 'https://evil.com/.example.com/bye', 'a path that looks like the domain', null],
    [wildcard, 'https://a.example.com@evil.com/bye', 'userinfo that looks like the domain', null],
    [wildcard, 'https://a.example.com%2F@evil.com/bye', 'encoded userinfo', null],
    [wildcard, 'https://evil.com\\.example.com/bye', 'a backslash before the domain', null],
    [wildcard, 'https://a.example.com.evil.com/bye', 'the domain as a prefix of another', null],
    [wildcard, 'https://aexample.com/bye', 'the domain without its dot', null],
    [wildcard, 'https://a.example.com./bye', 'a trailing dot', null],
    [wildcard, 'https://a.example.com:444/bye', 'a different port', null],
    [wildcard, 'https://a.example.com/bye/../bye', 'a dot segment', null],
    [wildcard, 'https://a%2Eexample.com/bye', 'an encoded dot', null],
    [wildcard, 'https://a.example%2Ecom/bye', 'an encoded dot in the domain', null],
    [wildcard, 'http://a.example.com/bye', 'http for https', null],
    [
      'https://app.example.com/?from=signoff',
      'https://app.example.com/?from=signoff',
      'a query, exactly',
      'https://app.example.com/?from=signoff',
    ],
    ['https://app.example.com/?from=signoff', 'https://app.example.com/?from=Signoff', 'a query in another case', null],
    ['https://app.example.com', 'https://app.example.com/', 'an empty path is /', 'https://app.example.com/'],
    ['http://127.0.0.1:8080/bye', 'http://127.0.0.1:8080/bye', 'loopback http', 'http://127.0.0.1:8080/bye'],
    ['http://127.0.0.1:8080/bye', 'http://0x7f.0.0.1:8080/bye', 'a loopback address in another notation', null],
    ['http://localhost:8080/bye', 'http://localhost:8081/bye', 'another loopback port', null],
  ])('%p vs %p: %s', (entry, candidate, _why, expected) => {
    expect(matchReturnUrl(entry, candidate)).toBe(expected);
  });

  it('never matches with an entry that is not valid', () => {
    expect(matchReturnUrl('https://*.*.example.com/bye', 'https://a.b.example.com/bye')).toBeNull();
    expect(matchReturnUrl('https://a.example.com/bye#x', 'https://a.example.com/bye')).toBeNull();
  });
});

describe('allowedReturnUrl', () => {
  it('takes the first entry that matches, and only a single string', () => {
    const allowed = ['https://one.example/bye', 'https://*.two.example/bye'];
    expect(allowedReturnUrl('https://x.two.example/bye', allowed)).toBe('https://x.two.example/bye');
    expect(allowedReturnUrl('https://one.example/bye', allowed)).toBe('https://one.example/bye');
    expect(allowedReturnUrl('https://three.example/bye', allowed)).toBeNull();
    expect(allowedReturnUrl(['https://one.example/bye'], allowed)).toBeNull();
    expect(allowedReturnUrl(undefined, allowed)).toBeNull();
    expect(allowedReturnUrl('https://one.example/bye', [])).toBeNull();
    expect(
      allowedReturnUrl(`https://one.example/${'a'.repeat(2048)}`, [`https://one.example/${'a'.repeat(2048)}`]),
    ).toBeNull();
  });
});

describe('returnUrlProblem', () => {
  it.each([
    'https://app.example.com/bye',
    'https://app.example.com',
    'https://app.example.com:8443/bye?x=1',
    'https://*.example.com/bye',
    'https://*.apps.example.co.uk/',
    'http://localhost:3000/bye',
    'http://127.0.0.1/bye',
    'https://xn--bcher-kva.example/bye',
  ])('accepts %s', (entry) => {
    expect(returnUrlProblem(entry)).toBeNull();
  });

  it.each<[string, RegExp]>([
    ['http://app.example.com/bye', /must use https/],
    ['http://*.localhost/bye', /must use https/],
    ['http://127.0.0.1.example.com/bye', /must use https/],
    ['https://*.com/bye', /two labels after it/],
    ['https://a.*.example.com/bye', /first label/],
    ['https://*.*.example.com/bye', /one wildcard/],
    ['https://*example.com/bye', /first label/],
    ['https://app.example.com/*', /first label/],
    ['https://app.example.com/bye#done', /absolute URL/],
    ['https://user@app.example.com/bye', /absolute URL/],
    ['https://app.example.com/a/../bye', /absolute URL/],
    ['https://bücher.example/bye', /absolute URL/],
    ['https://app.example.com./bye', /absolute URL/],
    ['javascript:alert(1)', /absolute URL/],
    ['/bye', /absolute URL/],
    ['https://app.example.com:99999/bye', /absolute URL/],
    [`https://app.example.com/${'a'.repeat(2048)}`, /absolute URL/],
  ])('refuses %s', (entry, problem) => {
    expect(returnUrlProblem(entry)).toMatch(problem);
  });
});
