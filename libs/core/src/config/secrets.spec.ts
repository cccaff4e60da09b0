import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSecret } from './secrets';

describe('ensureSecret', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'signoff-secrets-')), 'data');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('generates a secret once, 0600 in a 0700 DATA_DIR, and returns the same one after', () => {
    const first = ensureSecret(dir, 'test-secret', undefined);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ensureSecret(dir, 'test-secret', undefined)).toBe(first);
    expect(statSync(join(dir, 'test-secret')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir)).toEqual(['test-secret']); // no draft left behind
  });

  it('prefers the configured value and writes nothing', () => {
    expect(ensureSecret(dir, 'test-secret', 'x'.repeat(40))).toBe('x'.repeat(40));
    expect(() => statSync(join(dir, 'test-secret'))).toThrow();
  });

  it('refuses a damaged (empty or short) secret file rather than use it as a key', () => {
    ensureSecret(dir, 'other', undefined);
    writeFileSync(join(dir, 'test-secret'), '\n');
    expect(() => ensureSecret(dir, 'test-secret', undefined)).toThrow(/holds no valid secret/);
    writeFileSync(join(dir, 'test-secret'), 'short\n');
    expect(() => ensureSecret(dir, 'test-secret', undefined)).toThrow(/holds no valid secret/);
  });
});
