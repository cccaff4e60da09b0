import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config';

/** Shorter than this, a secret file is damaged (a generated one is 43 characters). */
const MIN_SECRET_LENGTH = 32;

/**
 * Makes DATA_DIR (0700) and returns a secret: `given` when configured, else the one in `DATA_DIR/<file>`,
 * generated there (0600, 32 random bytes, base64url) on first start. Several processes of one
 * deployment sharing DATA_DIR agree on it: the secret is written whole to a file of its own and then
 * linked into place, so the first link wins and no process ever reads a half-written file.
 */
export function ensureSecret(dataDir: string, file: string, given: string | undefined): string {
  if (given) return given;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, file);
  const existing = readSecret(path);
  if (existing !== null) return existing;
  const secret = randomBytes(32).toString('base64url');
  const draft = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  writeFileSync(draft, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(draft, path);
    return secret;
  } catch (error) {
    // Another process of this deployment linked its secret first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readSecret(path)!;
    throw error;
  } finally {
    rmSync(draft, { force: true });
  }
}

/** The secret in `path`, or null when there is no such file; a damaged (short) one stops the start. */
function readSecret(path: string): string | null {
  let secret: string;
  try {
    secret = readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (secret.length < MIN_SECRET_LENGTH)
    throw new Error(
      `${path} holds no valid secret (shorter than ${MIN_SECRET_LENGTH} characters): restore it, or remove it to generate a new one`,
    );
  return secret;
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
