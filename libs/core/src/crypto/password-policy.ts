import { COMMON_PASSWORDS_TEXT } from './common-passwords';

/** The shortest minimum an administrator may configure (NIST SP 800-63B §5.1.1.2: at least 8). */
export const PASSWORD_MIN_LENGTH_FLOOR = 8;
/** Long enough for any passphrase, short enough that hashing it costs nothing unusual. */
export const PASSWORD_MAX_LENGTH = 1024;

let common: Set<string> | undefined;

/** The list is large; build its set on first use, not at import. */
function isCommon(password: string): boolean {
  common ??= new Set(COMMON_PASSWORDS_TEXT.split('\n'));
  return common.has(password.toLowerCase());
}

/**
 * Why a new password is not acceptable, or null when it is. NIST SP 800-63B §5.1.1.2: a minimum length
 * (`minLength`, PASSWORD_MIN_LENGTH), room for long passphrases, and no password from a list of
 * commonly used ones (compared case-insensitively); no composition rules. Length counts characters
 * (code points) of the NFC form, as the hash sees it. Applied when a password is set, never at login:
 * existing shorter passwords keep working until they are changed.
 */
export function passwordProblem(password: string, minLength: number): string | null {
  const length = [...password.normalize('NFC')].length;
  if (length < minLength) return `the password must be at least ${minLength} characters long`;
  if (length > PASSWORD_MAX_LENGTH) return `the password must be at most ${PASSWORD_MAX_LENGTH} characters long`;
  if (isCommon(password.normalize('NFC')))
    return 'the password is one of the most commonly used passwords; choose another';
  return null;
}
