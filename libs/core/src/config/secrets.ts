import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config';

/**
 * Makes DATA_DIR (0700) and returns a secret: `given` when configured, else the one in `DATA_DIR/<file>`,
 * generated there (0600, 32 random bytes, base64url) on first start. Several processes of one
 * deployment sharing DATA_DIR agree on it: the first writer wins.
 */
export function ensureSecret(dataDir: string, file: string, given: string | undefined): string {
  if (given) return given;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, file);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    // Another process of this deployment wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8').trim();
    throw error;
  }
}

/** The cookie secret: COOKIE_SECRET, else one generated into DATA_DIR on first start. */
export function ensureCookieSecret(config: Config): string {
  return ensureSecret(config.dataDir, 'cookie-secret', config.cookieSecret);
}

/**
 * The key of pairwise `sub`s and persistent SAML NameIDs: SUBJECT_SECRET, else one generated into
 * DATA_DIR/subject-secret. Never change it: every pairwise identifier derives from it.
 */
export function ensureSubjectSecret(config: Config): string {
  return ensureSecret(config.dataDir, 'subject-secret', config.subjectSecret);
}
