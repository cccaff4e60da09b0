import {
  ClientMetadataError,
  ClientMetadataErrorCode,
  ClientMetadataOptions,
  parseClientMetadata,
} from './client-metadata';

const strict: ClientMetadataOptions = { allowHttp: false };
const lax: ClientMetadataOptions = { allowHttp: true };
const RP = 'https://rp.example/cb';
const PUBLIC = { token_endpoint_auth_method: 'none' };
const BASIC = { token_endpoint_auth_method: 'client_secret_basic' };
const POST = { token_endpoint_auth_method: 'client_secret_post' };

const parse = (metadata: Record<string, unknown>, options = strict) =>
  parseClientMetadata({ redirect_uris: [RP], ...metadata }, options);

function errorOf(run: () => unknown): ClientMetadataError {
  try {
    run();
  } catch (caught) {
    expect(caught).toBeInstanceOf(ClientMetadataError);
    return caught as ClientMetadataError;
  }
  throw new Error('expected a ClientMetadataError');
}

function expectError(run: () => unknown, code: ClientMetadataErrorCode, description: string | RegExp) {
  const error = errorOf(run);
  expect(error.error).toBe(code);
  if (typeof description === 'string') expect(error.description).toBe(description);
  else expect(error.description).toMatch(description);
  expect(error.message).toBe(error.description);
}

const many = (n: number) => Array.from({ length: n }, (_, i) => `https://rp.example/cb${i}`);

describe('parseClientMetadata', () => {
  it('fills in every default', () => {
    expect(parseClientMetadata({ redirect_uris: [RP] }, strict)).toEqual({
      client_name: null,
      client_uri: null,
      redirect_uris: [RP],
      post_logout_redirect_uris: [],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
      frontchannel_logout_uri: null,
      frontchannel_logout_session_required: false,
      backchannel_logout_uri: null,
      backchannel_logout_session_required: false,
      logout_token_typ: 'logout+jwt',
      subject_type: 'public',
    });
  });

  it('keeps every supported member, ignores unknown ones, and its output parses to itself', () => {
    const full = {
      client_name: '  Example RP ',
      client_uri: 'https://www.rp.example/about',
      redirect_uris: [RP, 'https://rp.example:8443/other?x=1'],
      post_logout_redirect_uris: ['https://rp.example/bye'],
      grant_types: ['refresh_token', 'authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'ES256',
      frontchannel_logout_uri: 'https://rp.example/fc?client=1',
      frontchannel_logout_session_required: true,
      backchannel_logout_uri: 'https://api.rp.example/bc?client=1',
      backchannel_logout_session_required: true,
      logout_token_typ: 'JWT',
      subject_type: 'pairwise',
      logo_uri: 42,
      jwks: { keys: [] },
      software_statement: null, // unknown here: ignored whatever their type (RFC 7591 2)
    };
    const parsed = parseClientMetadata(full, strict);
    const { logo_uri: _l, jwks: _j, software_statement: _s, ...known } = full;
    expect(parsed).toEqual({ ...known, client_name: 'Example RP' });
    expect(parseClientMetadata(parsed, strict)).toEqual(parsed);
    expect(parseClientMetadata(parseClientMetadata({ redirect_uris: [RP] }, strict), strict)).toEqual(parse({}));
  });

  it("returns copies, not the caller's arrays", () => {
    const input = { redirect_uris: [RP], post_logout_redirect_uris: [RP], grant_types: ['authorization_code'] };
    const parsed = parseClientMetadata(input, strict);
    expect(parsed.redirect_uris).not.toBe(input.redirect_uris);
    expect(parsed.post_logout_redirect_uris).not.toBe(input.post_logout_redirect_uris);
    expect(parsed.grant_types).not.toBe(input.grant_types);
  });

  it('throws an Error subclass carrying the OAuth error code and description', () => {
    const error = errorOf(() => parseClientMetadata({}, strict));
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      error: 'invalid_redirect_uri',
      description: 'redirect_uris: is required',
      message: 'redirect_uris: is required',
    });
  });

  it('puts the back-channel URI, and only it, to the server-side check (the outbound policy)', () => {
    const checked: string[] = [];
    const checkServerSideUri = (url: URL) => {
      checked.push(url.href);
      if (url.hostname === '127.0.0.1')
        throw new Error('127.0.0.1 is a loopback address, which the outbound policy does not allow');
    };
    const options = { ...strict, checkServerSideUri };
    parse(
      {
        redirect_uris: ['http://127.0.0.1:9/cb'],
        frontchannel_logout_uri: 'http://127.0.0.1:9/fc',
        backchannel_logout_uri: 'https://rp.example/bc',
      },
      options,
    );
    expect(checked).toEqual(['https://rp.example/bc']);
    expectError(
      () => parse({ backchannel_logout_uri: 'http://2130706433:6379/' }, options),
      'invalid_client_metadata',
      'backchannel_logout_uri: 127.0.0.1 is a loopback address, which the outbound policy does not allow',
    );
  });

  describe('input', () => {
    it.each<[string, unknown]>([
      ['null', null],
      ['undefined', undefined],
      ['an array', [RP]],
      ['a string', '{}'],
      ['a number', 1],
      ['a boolean', true],
      ['a Map', new Map([['redirect_uris', [RP]]])],
      [
        'a class instance',
        new (class {
          redirect_uris = [RP];
        })(),
      ],
    ])('rejects %s', (_, input) => {
      expectError(
        () => parseClientMetadata(input, strict),
        'invalid_client_metadata',
        'client metadata must be a JSON object',
      );
    });

    it('accepts a null-prototype object', () => {
      const input = Object.assign(Object.create(null) as object, { redirect_uris: [RP] });
      expect(parseClientMetadata(input, strict).redirect_uris).toEqual([RP]);
    });

    it('does not read inherited members', () => {
      const input = Object.assign(Object.create({ token_endpoint_auth_method: 'none' }) as object, {
        redirect_uris: [RP],
      });
      expectError(
        () => parseClientMetadata(input, strict),
        'invalid_client_metadata',
        'client metadata must be a JSON object',
      );
      expect(
        parseClientMetadata(
          JSON.parse('{"redirect_uris":["https://rp.example/cb"],"__proto__":{"token_endpoint_auth_method":"none"}}'),
          strict,
        ).token_endpoint_auth_method,
      ).toBe('client_secret_basic');
    });
  });

  describe('members of the wrong JSON type', () => {
    it.each<[string, unknown, string]>([
      ['client_name', 42, 'client_name: must be a string'],
      ['post_logout_redirect_uris', RP, 'post_logout_redirect_uris: must be an array of URIs'],
      ['post_logout_redirect_uris', null, 'post_logout_redirect_uris: must be an array of URIs'],
      ['grant_types', 'authorization_code', 'grant_types: must be a non-empty array'],
      ['grant_types', null, 'grant_types: must be a non-empty array'],
      ['response_types', 'code', 'response_types: must be ["code"], only the authorization code flow is supported'],
      [
        'token_endpoint_auth_method',
        1,
        'token_endpoint_auth_method: must be one of client_secret_basic, client_secret_post, none',
      ],
      [
        'token_endpoint_auth_method',
        null,
        'token_endpoint_auth_method: must be one of client_secret_basic, client_secret_post, none',
      ],
      ['id_token_signed_response_alg', ['RS256'], 'id_token_signed_response_alg: must be one of RS256, ES256'],
      ['frontchannel_logout_uri', ['https://rp.example/fc'], 'frontchannel_logout_uri: must be a non-empty string'],
      ['frontchannel_logout_session_required', 'true', 'frontchannel_logout_session_required: must be true or false'],
      ['frontchannel_logout_session_required', null, 'frontchannel_logout_session_required: must be true or false'],
      ['backchannel_logout_uri', 1, 'backchannel_logout_uri: must be a non-empty string'],
      ['backchannel_logout_session_required', 1, 'backchannel_logout_session_required: must be true or false'],
      ['logout_token_typ', false, 'logout_token_typ: must be one of logout+jwt, JWT'],
    ])('%s = %j', (field, value, description) => {
      expectError(() => parse({ [field]: value }), 'invalid_client_metadata', description);
    });

    it.each(['client_name', 'client_uri', 'frontchannel_logout_uri', 'backchannel_logout_uri'])(
      'treats %s: null as not set',
      (field) => {
        expect(parse({ [field]: null })[field as 'client_name']).toBeNull();
      },
    );
  });

  describe('client_name', () => {
    it.each<[string, string]>([
      ['Example', 'Example'],
      ['  padded\t', 'padded'],
      ['x'.repeat(200), 'x'.repeat(200)],
      ['😀'.repeat(200), '😀'.repeat(200)],
    ])('accepts %j', (name, expected) => {
      expect(parse({ client_name: name }).client_name).toBe(expected);
    });

    it.each(['', '   ', 'x'.repeat(201), ` ${'y'.repeat(201)} `])('rejects %j', (name) => {
      expectError(
        () => parse({ client_name: name }),
        'invalid_client_metadata',
        'client_name: must be 1 to 200 characters (not counting surrounding spaces)',
      );
    });
  });

  describe('redirect_uris', () => {
    it.each<[string, Record<string, unknown>, ClientMetadataOptions]>([
      ['https://rp.example/cb', BASIC, strict],
      ['https://rp.example/cb?tenant=a&x=%20', PUBLIC, strict],
      ['https://rp.example:8443/cb', POST, strict],
      ['HTTPS://RP.example/cb', BASIC, strict],
      ['http://127.0.0.1:8080/cb', PUBLIC, strict],
      ['http://127.10.20.30/cb', PUBLIC, strict],
      ['http://[::1]:51004/cb', PUBLIC, strict],
      ['http://localhost:3000/cb', PUBLIC, strict],
      ['http://127.0.0.1/cb', BASIC, strict],
      ['com.example.app:/callback', PUBLIC, strict],
      ['com.example.app://oauth/callback?x=1', PUBLIC, strict],
      ['http://rp.example/cb', BASIC, lax],
      ['http://rp.example/cb', POST, lax],
    ])('accepts %s (%j, %j)', (uri, client, options) => {
      expect(parse({ ...client, redirect_uris: [uri] }, options).redirect_uris).toEqual([uri]);
    });

    it('keeps the URIs exactly as given, since authorization requests compare them as strings', () => {
      expect(parse({ redirect_uris: ['https://RP.example:443', 'http://127.1/cb'] }).redirect_uris).toEqual([
        'https://RP.example:443',
        'http://127.1/cb',
      ]);
    });

    it('accepts up to 20 URIs', () => {
      expect(parse({ redirect_uris: many(20) }).redirect_uris).toHaveLength(20);
    });

    it.each<[string, unknown, Record<string, unknown>, ClientMetadataOptions, string | RegExp]>([
      ['missing', undefined, {}, strict, 'redirect_uris: is required'],
      ['null', null, {}, strict, 'redirect_uris: must be a non-empty array of URIs'],
      ['a string', RP, {}, strict, 'redirect_uris: must be a non-empty array of URIs'],
      ['empty', [], {}, strict, 'redirect_uris: must be a non-empty array of URIs'],
      ['more than 20', many(21), {}, strict, 'redirect_uris: must not have more than 20 entries'],
      ['a non-string entry', [RP, 42], {}, strict, 'redirect_uris[1]: must be a non-empty string'],
      ['an empty entry', [''], {}, strict, 'redirect_uris[0]: must be a non-empty string'],
      ['a duplicate', [RP, 'https://rp.example/x', RP], {}, strict, 'redirect_uris[2]: duplicates an earlier entry'],
      [
        'longer than 2000',
        [`https://rp.example/${'a'.repeat(1982)}`],
        {},
        strict,
        'redirect_uris[0]: must not be longer than 2000 characters',
      ],
      ['relative', ['/cb'], {}, strict, 'redirect_uris[0]: must be an absolute URI'],
      ['host-relative', ['//rp.example/cb'], {}, strict, 'redirect_uris[0]: must be an absolute URI'],
      ['a fragment', ['https://rp.example/cb#x'], {}, strict, 'redirect_uris[0]: must not contain a fragment'],
      ['an empty fragment', ['https://rp.example/cb#'], {}, strict, 'redirect_uris[0]: must not contain a fragment'],
      ['a user', ['https://user@rp.example/cb'], {}, strict, 'redirect_uris[0]: must not contain user information'],
      [
        'a user and password',
        ['https://user:pw@rp.example/cb'],
        {},
        strict,
        'redirect_uris[0]: must not contain user information',
      ],
      [
        'an empty userinfo',
        ['https://@rp.example/cb'],
        {},
        strict,
        'redirect_uris[0]: must not contain user information',
      ],
      [
        'a userinfo in a private-use URI',
        ['com.example.app://me@host/cb'],
        PUBLIC,
        strict,
        'redirect_uris[0]: must not contain user information',
      ],
      [
        'leading space',
        [` ${RP}`],
        {},
        strict,
        'redirect_uris[0]: must not contain spaces, control or non-ASCII characters, or backslashes',
      ],
      [
        'a tab',
        ['https://rp.example/c\tb'],
        {},
        strict,
        'redirect_uris[0]: must not contain spaces, control or non-ASCII characters, or backslashes',
      ],
      [
        'a backslash',
        ['https://rp.example\\cb'],
        {},
        strict,
        'redirect_uris[0]: must not contain spaces, control or non-ASCII characters, or backslashes',
      ],
      [
        'non-ASCII',
        ['https://bücher.example/cb'],
        {},
        strict,
        'redirect_uris[0]: must not contain spaces, control or non-ASCII characters, or backslashes',
      ],
      [
        'https:/host',
        ['https:/rp.example/cb'],
        {},
        strict,
        'redirect_uris[0]: must be an absolute URI of the form https://host/path',
      ],
      [
        'https:///host',
        ['https:///rp.example/cb'],
        {},
        strict,
        'redirect_uris[0]: must be an absolute URI of the form https://host/path',
      ],
      [
        'javascript:',
        ['javascript:alert(1)'],
        PUBLIC,
        strict,
        'redirect_uris[0]: the javascript: scheme is not allowed',
      ],
      ['data:', ['data:text/html,hi'], PUBLIC, strict, 'redirect_uris[0]: the data: scheme is not allowed'],
      ['file:', ['file:///etc/passwd'], PUBLIC, strict, 'redirect_uris[0]: the file: scheme is not allowed'],
      ['ftp:', ['ftp://rp.example/cb'], {}, lax, 'redirect_uris[0]: the ftp: scheme is not allowed'],
      ['a scheme without a dot', ['myapp:/cb'], PUBLIC, strict, 'redirect_uris[0]: the myapp: scheme is not allowed'],
      [
        'http for a confidential client',
        ['http://rp.example/cb'],
        BASIC,
        strict,
        'redirect_uris[0]: must use https (http is only allowed for loopback addresses)',
      ],
      [
        'http for a public client',
        ['http://rp.example/cb'],
        PUBLIC,
        strict,
        'redirect_uris[0]: must use https (http is only allowed for loopback addresses)',
      ],
      [
        'http for a public client even if allowed',
        ['http://rp.example/cb'],
        PUBLIC,
        lax,
        'redirect_uris[0]: must use https (http is only allowed for loopback addresses or confidential clients)',
      ],
      [
        'http to a name that starts like loopback',
        ['http://127.0.0.1.rp.example/cb'],
        PUBLIC,
        strict,
        /must use https/,
      ],
      [
        'http to a name that starts with localhost',
        ['http://localhost.rp.example/cb'],
        PUBLIC,
        strict,
        /must use https/,
      ],
      ['http to 0.0.0.0', ['http://0.0.0.0/cb'], PUBLIC, strict, /must use https/],
      [
        'a private-use scheme for a confidential client',
        ['com.example.app:/callback'],
        BASIC,
        lax,
        "redirect_uris[0]: private-use URI schemes are only allowed for public clients (token_endpoint_auth_method 'none')",
      ],
    ])('rejects %s', (_, uris, client, options, description) => {
      expectError(
        () => parseClientMetadata({ ...client, redirect_uris: uris }, options),
        'invalid_redirect_uri',
        description,
      );
    });
  });

  describe('post_logout_redirect_uris', () => {
    it.each<[string, Record<string, unknown>, ClientMetadataOptions]>([
      ['https://rp.example/bye?state=1', BASIC, strict],
      ['http://localhost:3000/bye', PUBLIC, strict],
      ['com.example.app:/logged-out', PUBLIC, strict],
      ['http://rp.example/bye', BASIC, lax],
    ])('accepts %s (%j, %j)', (uri, client, options) => {
      expect(parse({ ...client, post_logout_redirect_uris: [uri] }, options).post_logout_redirect_uris).toEqual([uri]);
    });

    it('accepts an empty list and up to 20 URIs', () => {
      expect(parse({ post_logout_redirect_uris: [] }).post_logout_redirect_uris).toEqual([]);
      expect(parse({ post_logout_redirect_uris: many(20) }).post_logout_redirect_uris).toHaveLength(20);
    });

    it.each<[string, unknown, Record<string, unknown>, ClientMetadataOptions, string | RegExp]>([
      ['more than 20', many(21), {}, strict, 'post_logout_redirect_uris: must not have more than 20 entries'],
      [
        'a fragment',
        ['https://rp.example/bye#'],
        {},
        strict,
        'post_logout_redirect_uris[0]: must not contain a fragment',
      ],
      ['a duplicate', [RP, RP], {}, strict, 'post_logout_redirect_uris[1]: duplicates an earlier entry'],
      ['relative', ['bye'], {}, strict, 'post_logout_redirect_uris[0]: must be an absolute URI'],
      [
        'a userinfo',
        ['https://a:b@rp.example/bye'],
        {},
        strict,
        'post_logout_redirect_uris[0]: must not contain user information',
      ],
      [
        'javascript:',
        ['javascript:void(0)'],
        PUBLIC,
        strict,
        'post_logout_redirect_uris[0]: the javascript: scheme is not allowed',
      ],
      ['http', ['http://rp.example/bye'], PUBLIC, lax, /^post_logout_redirect_uris\[0\]: must use https/],
      [
        'a private-use scheme for a confidential client',
        ['com.example.app:/bye'],
        POST,
        strict,
        /^post_logout_redirect_uris\[0\]: private-use URI schemes are only allowed for public clients/,
      ],
    ])('rejects %s', (_, uris, client, options, description) => {
      expectError(
        () => parse({ ...client, post_logout_redirect_uris: uris }, options),
        'invalid_client_metadata',
        description,
      );
    });
  });

  describe('frontchannel_logout_uri', () => {
    it.each<[string, string[], Record<string, unknown>, ClientMetadataOptions]>([
      ['https://rp.example/logout?iss_check=1', [RP], BASIC, strict],
      ['https://rp.example:443/logout', [RP], BASIC, strict],
      ['https://RP.EXAMPLE/logout', [RP], BASIC, strict],
      ['https://b.example:8443/logout', ['https://a.example/cb', 'https://b.example:8443/cb'], BASIC, strict],
      ['http://127.0.0.1:8080/logout', ['http://127.0.0.1:8080/cb'], PUBLIC, strict],
      ['http://rp.example/logout', ['http://rp.example/cb'], BASIC, lax],
      ['http://localhost:3000/logout', ['com.example.app:/cb', 'http://localhost:3000/cb'], PUBLIC, strict],
    ])('accepts %s for redirect_uris %j', (uri, redirectUris, client, options) => {
      expect(
        parseClientMetadata({ ...client, redirect_uris: redirectUris, frontchannel_logout_uri: uri }, options)
          .frontchannel_logout_uri,
      ).toBe(uri);
    });

    const originMismatch =
      'frontchannel_logout_uri: its scheme, host and port must match those of one of the redirect_uris';
    it.each<[string, unknown, string[], Record<string, unknown>, ClientMetadataOptions, string | RegExp]>([
      ['another host', 'https://other.example/logout', [RP], BASIC, strict, originMismatch],
      ['a subdomain', 'https://www.rp.example/logout', [RP], BASIC, strict, originMismatch],
      ['another port', 'https://rp.example:8443/logout', [RP], BASIC, strict, originMismatch],
      ['another scheme', 'http://127.0.0.1/logout', ['https://127.0.0.1/cb'], BASIC, strict, originMismatch],
      [
        'only private-use redirect URIs',
        'https://rp.example/logout',
        ['com.example.app:/cb'],
        PUBLIC,
        strict,
        originMismatch,
      ],
      [
        'a fragment',
        'https://rp.example/logout#',
        [RP],
        BASIC,
        strict,
        'frontchannel_logout_uri: must not contain a fragment',
      ],
      ['an empty string', '', [RP], BASIC, strict, 'frontchannel_logout_uri: must be a non-empty string'],
      ['relative', '/logout', [RP], BASIC, strict, 'frontchannel_logout_uri: must be an absolute URI'],
      [
        'a userinfo',
        'https://u@rp.example/logout',
        [RP],
        BASIC,
        strict,
        'frontchannel_logout_uri: must not contain user information',
      ],
      [
        'javascript:',
        'javascript:alert(1)',
        [RP],
        BASIC,
        strict,
        'frontchannel_logout_uri: the javascript: scheme is not allowed',
      ],
      ['http', 'http://rp.example/logout', [RP], BASIC, strict, /^frontchannel_logout_uri: must use https/],
      [
        'a private-use scheme',
        'com.example.app:/logout',
        ['com.example.app:/cb'],
        PUBLIC,
        strict,
        'frontchannel_logout_uri: private-use URI schemes are only allowed in redirect_uris and post_logout_redirect_uris',
      ],
      [
        'over 2000 characters',
        `https://rp.example/${'a'.repeat(1982)}`,
        [RP],
        BASIC,
        strict,
        'frontchannel_logout_uri: must not be longer than 2000 characters',
      ],
    ])('rejects %s', (_, uri, redirectUris, client, options, description) => {
      expectError(
        () => parseClientMetadata({ ...client, redirect_uris: redirectUris, frontchannel_logout_uri: uri }, options),
        'invalid_client_metadata',
        description,
      );
    });
  });

  describe("client_uri (RFC 7591 §2: a page about the client, linked from the user's home page)", () => {
    it.each<[string, Record<string, unknown>, ClientMetadataOptions]>([
      ['https://www.other.example/about?lang=en', BASIC, strict], // any host: it is a page about the client
      ['http://127.0.0.1:8080/', PUBLIC, strict],
      ['http://rp.example/', BASIC, lax],
    ])('accepts %s', (uri, client, options) => {
      expect(parse({ ...client, client_uri: uri }, options).client_uri).toBe(uri);
    });

    it.each<[string, unknown, Record<string, unknown>, ClientMetadataOptions, string | RegExp]>([
      ['javascript:', 'javascript:alert(1)', BASIC, strict, 'client_uri: the javascript: scheme is not allowed'],
      ['data:', 'data:text/html,<script>alert(1)</script>', BASIC, lax, 'client_uri: the data: scheme is not allowed'],
      ['a private-use scheme', 'com.example.app:/home', PUBLIC, strict, /^client_uri: private-use URI schemes/],
      ['http to a public client', 'http://rp.example/', PUBLIC, lax, /^client_uri: must use https/],
      ['http without ALLOW_HTTP', 'http://rp.example/', BASIC, strict, /^client_uri: must use https/],
      ['relative', '/about', BASIC, strict, 'client_uri: must be an absolute URI'],
      ['a userinfo', 'https://u@rp.example/', BASIC, strict, 'client_uri: must not contain user information'],
      ['not a string', ['https://rp.example/'], BASIC, strict, 'client_uri: must be a non-empty string'],
    ])('rejects %s', (_, uri, client, options, description) => {
      expectError(() => parse({ ...client, client_uri: uri }, options), 'invalid_client_metadata', description);
    });
  });

  describe('backchannel_logout_uri', () => {
    it.each<[string, Record<string, unknown>, ClientMetadataOptions]>([
      ['https://api.elsewhere.example/bc?client=rp&x=1', BASIC, strict],
      ['https://rp.example:9443/backchannel', PUBLIC, strict],
      ['http://127.0.0.1:9000/bc', PUBLIC, strict],
      ['http://[::1]/bc', BASIC, strict],
      ['http://rp.internal/bc', POST, lax],
    ])('accepts %s (%j, %j)', (uri, client, options) => {
      expect(parse({ ...client, backchannel_logout_uri: uri }, options).backchannel_logout_uri).toBe(uri);
    });

    it.each<[string, unknown, Record<string, unknown>, ClientMetadataOptions, string | RegExp]>([
      ['a fragment', 'https://rp.example/bc#x', BASIC, strict, 'backchannel_logout_uri: must not contain a fragment'],
      ['relative', 'bc', BASIC, strict, 'backchannel_logout_uri: must be an absolute URI'],
      [
        'a userinfo',
        'https://u:p@rp.example/bc',
        BASIC,
        strict,
        'backchannel_logout_uri: must not contain user information',
      ],
      [
        'http without allowHttp',
        'http://rp.internal/bc',
        BASIC,
        strict,
        'backchannel_logout_uri: must use https (http is only allowed for loopback addresses)',
      ],
      ['http for a public client', 'http://rp.internal/bc', PUBLIC, lax, /^backchannel_logout_uri: must use https/],
      [
        'a private-use scheme',
        'com.example.app:/bc',
        PUBLIC,
        strict,
        'backchannel_logout_uri: private-use URI schemes are only allowed in redirect_uris and post_logout_redirect_uris',
      ],
      ['data:', 'data:,x', BASIC, strict, 'backchannel_logout_uri: the data: scheme is not allowed'],
    ])('rejects %s', (_, uri, client, options, description) => {
      expectError(
        () => parse({ ...client, backchannel_logout_uri: uri }, options),
        'invalid_client_metadata',
        description,
      );
    });
  });

  describe('*_session_required', () => {
    it('keeps true values, with or without the corresponding URI', () => {
      expect(
        parse({ frontchannel_logout_session_required: true, backchannel_logout_session_required: true }),
      ).toMatchObject({
        frontchannel_logout_uri: null,
        frontchannel_logout_session_required: true,
        backchannel_logout_uri: null,
        backchannel_logout_session_required: true,
      });
      expect(
        parse({ frontchannel_logout_uri: 'https://rp.example/fc', frontchannel_logout_session_required: false })
          .frontchannel_logout_session_required,
      ).toBe(false);
    });
  });

  describe('grant_types and response_types', () => {
    it.each([
      [['authorization_code']],
      [['authorization_code', 'refresh_token']],
      [['refresh_token', 'authorization_code']],
    ])('accepts grant_types %j', (grants) => {
      expect(parse({ grant_types: grants }).grant_types).toEqual(grants);
    });

    it.each<[unknown, string]>([
      [[], 'grant_types: must be a non-empty array'],
      [['refresh_token'], 'grant_types: must include authorization_code'],
      [['authorization_code', 'implicit'], 'grant_types[1]: must be one of authorization_code, refresh_token'],
      [['client_credentials'], 'grant_types[0]: must be one of authorization_code, refresh_token'],
      [[1], 'grant_types[0]: must be one of authorization_code, refresh_token'],
      [['authorization_code', 'authorization_code'], 'grant_types: must not contain duplicates'],
    ])('rejects grant_types %j', (grants, description) => {
      expectError(() => parse({ grant_types: grants }), 'invalid_client_metadata', description);
    });

    it('accepts response_types ["code"]', () => {
      expect(parse({ response_types: ['code'] }).response_types).toEqual(['code']);
    });

    it.each([[[]], [['token']], [['code', 'id_token']], [['code id_token']], [['code', 'code']], [null]])(
      'rejects response_types %j',
      (types) => {
        expectError(
          () => parse({ response_types: types }),
          'invalid_client_metadata',
          'response_types: must be ["code"], only the authorization code flow is supported',
        );
      },
    );
  });

  describe('enumerations', () => {
    it.each<[string, string]>([
      ['token_endpoint_auth_method', 'client_secret_basic'],
      ['token_endpoint_auth_method', 'client_secret_post'],
      ['token_endpoint_auth_method', 'none'],
      ['id_token_signed_response_alg', 'RS256'],
      ['id_token_signed_response_alg', 'ES256'],
      ['logout_token_typ', 'logout+jwt'],
      ['logout_token_typ', 'JWT'],
    ])('accepts %s = %s', (field, value) => {
      expect(parse({ [field]: value })).toMatchObject({ [field]: value });
    });

    it.each<[string, string, string]>([
      [
        'token_endpoint_auth_method',
        'private_key_jwt',
        'token_endpoint_auth_method: must be one of client_secret_basic, client_secret_post, none',
      ],
      [
        'token_endpoint_auth_method',
        'NONE',
        'token_endpoint_auth_method: must be one of client_secret_basic, client_secret_post, none',
      ],
      [
        'id_token_signed_response_alg',
        'none',
        "id_token_signed_response_alg: 'none' is not allowed, ID tokens are always signed (use RS256 or ES256)",
      ],
      ['id_token_signed_response_alg', 'HS256', 'id_token_signed_response_alg: must be one of RS256, ES256'],
      ['id_token_signed_response_alg', 'rs256', 'id_token_signed_response_alg: must be one of RS256, ES256'],
      ['logout_token_typ', 'jwt', 'logout_token_typ: must be one of logout+jwt, JWT'],
      ['logout_token_typ', 'application/logout+jwt', 'logout_token_typ: must be one of logout+jwt, JWT'],
      ['subject_type', 'PAIRWISE', 'subject_type: must be one of public, pairwise'],
    ])('rejects %s = %s', (field, value, description) => {
      expectError(() => parse({ [field]: value }), 'invalid_client_metadata', description);
    });
  });

  describe('subject_type pairwise (OIDC Core §8.1)', () => {
    it('accepts redirect_uris on one host, whatever their ports and paths', () => {
      expect(parse({ subject_type: 'pairwise', redirect_uris: [RP, 'https://rp.example:8443/other'] })).toMatchObject({
        subject_type: 'pairwise',
      });
    });

    it('refuses redirect_uris on several hosts, since sector_identifier_uri is not supported', () => {
      expectError(
        () => parse({ subject_type: 'pairwise', redirect_uris: [RP, 'https://other.example/cb'] }),
        'invalid_client_metadata',
        'subject_type pairwise: the redirect_uris span several hosts; they must share one host, the sector identifier (sector_identifier_uri is not supported)',
      );
    });
  });
});
