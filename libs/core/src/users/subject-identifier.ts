import { CONTROL_CHARACTERS } from './users.service';

/**
 * Subject identifiers (RFC 9493 §3) naming a user of Signoff: what a Global Token Revocation call
 * names (draft-parecki-oauth-global-token-revocation §3.2) and what Shared Signals events carry.
 */
export type UserSubject =
  | { format: 'iss_sub'; iss: string; sub: string }
  | { format: 'email'; email: string }
  | { format: 'opaque'; id: string };

/** The formats RFC 9493 §7.1 registers, with their members (each REQUIRED, not null or empty: §3.2). */
const REGISTERED: Record<string, string[]> = {
  account: ['uri'],
  email: ['email'],
  iss_sub: ['iss', 'sub'],
  opaque: ['id'],
  phone_number: ['phone_number'],
  did: ['url'],
  uri: ['uri'],
  aliases: ['identifiers'],
};
const RESOLVED: ReadonlyArray<UserSubject['format']> = ['iss_sub', 'email', 'opaque'];
/** The longest member Signoff reads: an email address (RFC 5321 §4.5.3.1.3 allows 254), an issuer URL, an id. */
const MAX_MEMBER_LENGTH = 1024;

/** Why a subject identifier was refused: `malformed` (not RFC 9493), or `unsupported_format` (not one Signoff resolves). */
export class SubjectIdentifierError extends Error {
  constructor(
    readonly code: 'malformed' | 'unsupported_format',
    message: string,
  ) {
    super(message);
    this.name = 'SubjectIdentifierError';
  }
}

/** Reads a subject identifier naming a user (iss_sub, email or opaque); throws SubjectIdentifierError. */
export function parseUserSubject(value: unknown): UserSubject {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SubjectIdentifierError('malformed', 'a subject identifier is a JSON object');
  const fields = value as Record<string, unknown>;
  if (typeof fields.format !== 'string' || !fields.format)
    throw new SubjectIdentifierError('malformed', 'a subject identifier has a "format" (RFC 9493 §3)');
  // An own property only: "constructor" or "__proto__" is a format nobody registered, not Object's.
  const members = Object.hasOwn(REGISTERED, fields.format) ? REGISTERED[fields.format] : undefined;
  if (members && fields.format !== 'aliases')
    for (const member of members) {
      const given = fields[member];
      if (typeof given !== 'string' || !given)
        throw new SubjectIdentifierError(
          'malformed',
          `a subject identifier of format ${fields.format} has a non-empty string "${member}" (RFC 9493 §3.2)`,
        );
      if (given.length > MAX_MEMBER_LENGTH || CONTROL_CHARACTERS.test(given))
        throw new SubjectIdentifierError(
          'malformed',
          `"${member}" is at most ${MAX_MEMBER_LENGTH} characters, without control characters`,
        );
    }
  if (!RESOLVED.includes(fields.format as UserSubject['format']))
    throw new SubjectIdentifierError(
      'unsupported_format',
      `subject identifiers of format ${JSON.stringify(fields.format).slice(0, 40)} are not supported: send ${RESOLVED.join(', ')}`,
    );
  const text = fields as Record<string, string>;
  if (text.format === 'iss_sub') return { format: 'iss_sub', iss: text.iss, sub: text.sub };
  if (text.format === 'email') return { format: 'email', email: text.email };
  return { format: 'opaque', id: text.id };
}
