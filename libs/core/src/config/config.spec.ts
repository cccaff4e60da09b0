import { ConfigError, loadConfig } from './config';
import { parseDuration } from './duration';

describe('loadConfig', () => {
  it('has embedded defaults: SQLite in ./data, a private Redis, 127.0.0.1:3000', () => {
    const config = loadConfig({}, '/srv/signoff');
    expect(config).toMatchObject({
      publicUrl: 'http://127.0.0.1:3000',
      host: '127.0.0.1',
      port: 3000,
      dataDir: '/srv/signoff/data',
      database: { type: 'sqlite', path: '/srv/signoff/data/signoff.sqlite' },
      redisUrl: undefined,
      session: { absoluteMs: 12 * 3_600_000, idleMs: 2 * 3_600_000 },
      bootstrapAdmin: undefined,
    });
  });

  it('reads PostgreSQL and Redis URLs, durations and the bootstrap admin', () => {
    const config = loadConfig({
      PUBLIC_URL: 'https://idp.example.com/',
      DATABASE_URL: 'postgres://u:p@db:5432/signoff',
      REDIS_URL: 'redis://cache:6379/2',
      SESSION_ABSOLUTE_LIFETIME: '7d',
      SESSION_IDLE_TIMEOUT: '30m',
      BOOTSTRAP_ADMIN_USERNAME: 'root',
      BOOTSTRAP_ADMIN_PASSWORD: 'long enough now',
    });
    expect(config.publicUrl).toBe('https://idp.example.com');
    expect(config.database).toEqual({ type: 'postgres', url: 'postgres://u:p@db:5432/signoff' });
    expect(config.session).toMatchObject({ absoluteMs: 7 * 86_400_000, idleMs: 30 * 60_000 });
    expect(config.bootstrapAdmin).toEqual({ username: 'root', password: 'long enough now' });
  });

  it('lists every bad value at once, each with its rule and the value given', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({
        PORT: '70000',
        REDIS_URL: 'http://x',
        COOKIE_SECRET: 'short',
        LOG_LEVEL: 'loud',
        SESSION_IDLE_TIMEOUT: '3h',
        SESSION_ABSOLUTE_LIFETIME: '1h',
        TRUST_PROXY: 'maybe',
      });
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems.sort()).toEqual([
      'COOKIE_SECRET: must be at least 32 characters (got "short")',
      'LOG_LEVEL: must be silent, error, warn, info or debug (got "loud")',
      'PORT: must be a whole number from 0 to 65535 (got "70000")',
      'REDIS_URL: must be redis://host:port[/db], rediss://… or unix:///path/to/redis.sock (got "http://x")',
      'SESSION_IDLE_TIMEOUT: must not be longer than SESSION_ABSOLUTE_LIFETIME',
      'TRUST_PROXY: must be true or false (got "maybe")',
    ]);
  });

  it.each([
    ['PUBLIC_URL', 'https://idp.example.com/?x=1'],
    ['PUBLIC_URL', 'https://user:pw@idp.example.com'],
    ['DATABASE_URL', 'mysql://db/x'],
    ['BOOTSTRAP_ADMIN_PASSWORD', 'only-password'],
    ['SESSION_ABSOLUTE_LIFETIME', '10s'],
    ['SUBJECT_SECRET', 'too short for a key'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
  });

  it('reads PASSWORD_MIN_LENGTH (default 12, at least 8) and holds the bootstrap password to the password policy', () => {
    expect(loadConfig({}).passwords).toEqual({ minLength: 12 });
    expect(loadConfig({ PASSWORD_MIN_LENGTH: '16' }).passwords).toEqual({ minLength: 16 });
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ PASSWORD_MIN_LENGTH: '6' })).toEqual([
      'PASSWORD_MIN_LENGTH: must be a whole number from 8 to 128 (got "6")',
    ]);
    expect(problems({ BOOTSTRAP_ADMIN_USERNAME: 'root', BOOTSTRAP_ADMIN_PASSWORD: 'eleven char' })).toEqual([
      'BOOTSTRAP_ADMIN_PASSWORD: the password must be at least 12 characters long',
    ]);
    expect(problems({ BOOTSTRAP_ADMIN_USERNAME: 'root', BOOTSTRAP_ADMIN_PASSWORD: 'PasswordPassword' })).toEqual([
      'BOOTSTRAP_ADMIN_PASSWORD: the password is one of the most commonly used passwords; choose another',
    ]);
    expect(
      problems({ BOOTSTRAP_ADMIN_USERNAME: 'root', BOOTSTRAP_ADMIN_PASSWORD: 'eleven char', PASSWORD_MIN_LENGTH: '8' }),
    ).toEqual([]);
  });

  it('reads OUTBOUND_ALLOW (CIDRs and host names, none by default) and names each bad entry', () => {
    expect(loadConfig({}).outbound).toEqual({ allow: { cidrs: [], hosts: [] } });
    expect(loadConfig({ OUTBOUND_ALLOW: '10.0.0.0/8, fd00::/8,127.0.0.1,Sidecar.internal' }).outbound).toEqual({
      allow: { cidrs: ['10.0.0.0/8', 'fd00::/8', '127.0.0.1/32'], hosts: ['sidecar.internal'] },
    });
    let error: ConfigError | undefined;
    try {
      loadConfig({ OUTBOUND_ALLOW: '10.0.0.0/40,http://rp.example' });
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error!.problems).toEqual([
      'OUTBOUND_ALLOW: "10.0.0.0/40" is neither a CIDR (address/prefix) nor a host name; give comma-separated CIDRs and host names (got "10.0.0.0/40,http://rp.example")',
      'OUTBOUND_ALLOW: "http://rp.example" is neither a CIDR (address/prefix) nor a host name; give comma-separated CIDRs and host names (got "10.0.0.0/40,http://rp.example")',
    ]);
  });

  it('reads KEY_ENCRYPTION_KEY and KEY_ENCRYPTION_KEY_PREVIOUS (≥ 32 characters; the previous one only beside a new one)', () => {
    expect(loadConfig({}).keys).toMatchObject({ encryptionKey: undefined, previousEncryptionKey: undefined });
    expect(
      loadConfig({ KEY_ENCRYPTION_KEY: 'n'.repeat(43), KEY_ENCRYPTION_KEY_PREVIOUS: 'o'.repeat(43) }).keys,
    ).toMatchObject({ encryptionKey: 'n'.repeat(43), previousEncryptionKey: 'o'.repeat(43) });
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (caught) {
        return (caught as ConfigError).problems;
      }
    };
    expect(problems({ KEY_ENCRYPTION_KEY: 'short', KEY_ENCRYPTION_KEY_PREVIOUS: 'short too' })).toEqual([
      'KEY_ENCRYPTION_KEY: must be at least 32 characters (got "short")',
      'KEY_ENCRYPTION_KEY_PREVIOUS: must be at least 32 characters (got "short too")',
    ]);
    expect(problems({ KEY_ENCRYPTION_KEY_PREVIOUS: 'o'.repeat(43) })).toEqual([
      'KEY_ENCRYPTION_KEY_PREVIOUS: set KEY_ENCRYPTION_KEY (the new key) as well',
    ]);
  });
});

describe('parseDuration', () => {
  it.each([
    ['90', 90_000],
    ['90s', 90_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
    ['250ms', 250],
  ])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(['', 'soon', '1.5h', '-1m', '10 m', '1w'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});

describe('loadConfig, section by section', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it('lists the problems in the order it reads the variables', () => {
    const bad = {
      TRUST_PROXY: 'perhaps',
      BODY_LIMIT_BYTES: '1',
      FRONTCHANNEL_TIMEOUT: '1ms',
      DELIVERY_CONCURRENCY: '1001',
      DELIVERY_ATTEMPTS: '0',
      DELIVERY_TIMEOUT: '1ms',
      OIDC_ALLOW_HTTP: 'maybe',
      ID_TOKEN_LIFETIME: '1s',
      REFRESH_TOKEN_LIFETIME: '1s',
      ACCESS_TOKEN_LIFETIME: '1s',
      KEY_RETIRED_PUBLISHED_FOR: 'x',
      LOGIN_LOCKOUT: 'x',
      LOGIN_MAX_FAILURES: '0',
      SESSION_SWEEP_INTERVAL: '1ms',
      PORT: '-1',
      LOG_LEVEL: 'loud',
      LOGOUT_RETURN_URLS: 'http://app.example/bye',
      OUTBOUND_ALLOW: 'http://x',
      SAML_SCOPE: 'bad_scope',
      SAML_ENTITY_ID: 'e'.repeat(1025),
      OIDC_REGISTRATION_TOKEN: 't',
      SESSION_IDLE_TIMEOUT: '1h',
      SESSION_ABSOLUTE_LIFETIME: '2m',
      PASSWORD_MIN_LENGTH: '3',
      BOOTSTRAP_ADMIN_USERNAME: 'root',
      SUBJECT_SECRET: 's',
      KEY_ENCRYPTION_KEY_PREVIOUS: 'p',
      COOKIE_SECRET: 'c',
      REDIS_PREFIX: 'a b',
      REDIS_URL: 'http://x',
      DATABASE_URL: 'mysql://x',
      PUBLIC_URL: 'ftp://x',
    };
    expect(problems(bad).map((problem) => problem.replace(/: .*/, ''))).toEqual([
      'PUBLIC_URL',
      'DATABASE_URL',
      'REDIS_URL',
      'REDIS_PREFIX',
      'COOKIE_SECRET',
      'KEY_ENCRYPTION_KEY_PREVIOUS',
      'KEY_ENCRYPTION_KEY_PREVIOUS',
      'SUBJECT_SECRET',
      'BOOTSTRAP_ADMIN_USERNAME and BOOTSTRAP_ADMIN_PASSWORD',
      'PASSWORD_MIN_LENGTH',
      'SESSION_IDLE_TIMEOUT',
      'OIDC_REGISTRATION_TOKEN',
      'SAML_ENTITY_ID',
      'SAML_SCOPE',
      'OUTBOUND_ALLOW',
      'LOGOUT_RETURN_URLS',
      'LOG_LEVEL',
      'PORT',
      'SESSION_SWEEP_INTERVAL',
      'LOGIN_MAX_FAILURES',
      'LOGIN_LOCKOUT',
      'KEY_RETIRED_PUBLISHED_FOR',
      'ACCESS_TOKEN_LIFETIME',
      'REFRESH_TOKEN_LIFETIME',
      'ID_TOKEN_LIFETIME',
      'OIDC_ALLOW_HTTP',
      'DELIVERY_TIMEOUT',
      'DELIVERY_ATTEMPTS',
      'DELIVERY_CONCURRENCY',
      'FRONTCHANNEL_TIMEOUT',
      'BODY_LIMIT_BYTES',
      'TRUST_PROXY',
    ]);
  });

  it('has defaults for sessions, login, keys, OIDC, delivery, SAML and HTTP', () => {
    expect(loadConfig({})).toMatchObject({
      redisPrefix: 'signoff',
      session: { sweepIntervalMs: 60_000 },
      login: { maxFailures: 5, lockoutMs: 15 * 60_000 },
      keys: { retiredPublishedMs: 7 * 86_400_000 },
      oidc: {
        accessTokenMs: 3_600_000,
        refreshTokenMs: 30 * 86_400_000,
        idTokenMs: 3_600_000,
        registrationToken: undefined,
        allowHttp: false,
      },
      delivery: { timeoutMs: 5000, attempts: 8, concurrency: 32, batchSize: 250, frontchannelTimeoutMs: 5000 },
      saml: { entityId: 'http://127.0.0.1:3000/saml/metadata', scope: '127.0.0.1' },
      bodyLimitBytes: 262_144,
      trustProxy: false,
      logLevel: 'info',
    });
  });

  it('reads the OIDC, delivery and SAML settings given', () => {
    const config = loadConfig({
      PUBLIC_URL: 'https://idp.example.com/',
      ACCESS_TOKEN_LIFETIME: '5m',
      REFRESH_TOKEN_LIFETIME: '1d',
      ID_TOKEN_LIFETIME: '10m',
      OIDC_REGISTRATION_TOKEN: 't'.repeat(32),
      OIDC_ALLOW_HTTP: 'yes',
      DELIVERY_TIMEOUT: '100ms',
      DELIVERY_ATTEMPTS: '3',
      DELIVERY_CONCURRENCY: '4',
      DELIVERY_BATCH_SIZE: '50',
      FRONTCHANNEL_TIMEOUT: '2s',
      TRUST_PROXY: '1',
    });
    expect(config.oidc).toEqual({
      accessTokenMs: 300_000,
      refreshTokenMs: 86_400_000,
      idTokenMs: 600_000,
      registrationToken: 't'.repeat(32),
      allowHttp: true,
    });
    expect(config.delivery).toEqual({
      timeoutMs: 100,
      attempts: 3,
      concurrency: 4,
      batchSize: 50,
      frontchannelTimeoutMs: 2000,
    });
    expect(config.saml).toEqual({ entityId: 'https://idp.example.com/saml/metadata', scope: 'idp.example.com' });
    expect(config.trustProxy).toBe(true);
    expect(loadConfig({ SAML_ENTITY_ID: 'urn:signoff' }).saml).toEqual({ entityId: 'urn:signoff', scope: '127.0.0.1' });
    expect(problems({ SAML_ENTITY_ID: 'e'.repeat(1025), OIDC_REGISTRATION_TOKEN: 't'.repeat(31) })).toEqual([
      `OIDC_REGISTRATION_TOKEN: must be at least 32 characters (got "${'t'.repeat(31)}")`,
      `SAML_ENTITY_ID: must be at most 1024 characters (got "${'e'.repeat(1025)}")`,
    ]);
  });

  it('reads SAML_SCOPE as a lower-case DNS name, the host of PUBLIC_URL by default', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://Login.Example.org:8443/idp' }).saml.scope).toBe('login.example.org');
    expect(loadConfig({ SAML_SCOPE: ' Example.ORG ' }).saml.scope).toBe('example.org');
    expect(loadConfig({ SAML_SCOPE: 'uni-x.ac.uk' }).saml.scope).toBe('uni-x.ac.uk');
    for (const bad of [
      'exa mple.org',
      'example..org',
      '-example.org',
      'example-.org',
      'example.org.',
      'ex_ample.org',
      'a'.repeat(128),
    ])
      expect(problems({ SAML_SCOPE: bad })).toEqual([
        `SAML_SCOPE: must be a DNS name such as example.org (letters, digits, - and .) (got ${JSON.stringify(bad)})`,
      ]);
    expect(problems({ PUBLIC_URL: 'http://[::1]:3000' })).toEqual([
      'SAML_SCOPE: set it; the host of PUBLIC_URL ([::1]) is not a DNS name a scope can be',
    ]);
    expect(loadConfig({ PUBLIC_URL: 'http://[::1]:3000', SAML_SCOPE: 'example.org' }).saml.scope).toBe('example.org');
  });

  it('reads LOGOUT_RETURN_URLS (comma-separated, none by default) and names each bad entry with its rule', () => {
    expect(loadConfig({}).logoutReturnUrls).toEqual([]);
    expect(
      loadConfig({ LOGOUT_RETURN_URLS: ' https://app.example/bye, https://*.apps.example/,http://localhost:8080/x ,' })
        .logoutReturnUrls,
    ).toEqual(['https://app.example/bye', 'https://*.apps.example/', 'http://localhost:8080/x']);
    const given = 'http://app.example/bye,https://*.example/,https://a.example/#x,https://ok.example/';
    expect(problems({ LOGOUT_RETURN_URLS: given })).toEqual([
      `LOGOUT_RETURN_URLS: http://app.example/bye must use https (http only for localhost and 127.0.0.0/8) (got ${JSON.stringify(given)})`,
      `LOGOUT_RETURN_URLS: https://*.example/ a wildcard needs at least two labels after it (https://*.example.com/…) (got ${JSON.stringify(given)})`,
      expect.stringMatching(/^LOGOUT_RETURN_URLS: https:\/\/a\.example\/#x must be an absolute URL written plainly/),
    ]);
  });

  it('reads SAML_METADATA_VALID_FOR (7d; at least 1h) and SAML_METADATA_REFRESH (6h; at least 1m)', () => {
    expect(loadConfig({}).samlMetadata).toEqual({ validForMs: 7 * 86_400_000, refreshMs: 6 * 3_600_000 });
    expect(loadConfig({ SAML_METADATA_VALID_FOR: '2d', SAML_METADATA_REFRESH: '30m' }).samlMetadata).toEqual({
      validForMs: 2 * 86_400_000,
      refreshMs: 1_800_000,
    });
    expect(problems({ SAML_METADATA_VALID_FOR: '10m', SAML_METADATA_REFRESH: '10s' })).toEqual([
      'SAML_METADATA_VALID_FOR: must be a duration such as 90s, 15m, 12h or 7d, at least 3600s (got "10m")',
      'SAML_METADATA_REFRESH: must be a duration such as 90s, 15m, 12h or 7d, at least 60s (got "10s")',
    ]);
  });
});
