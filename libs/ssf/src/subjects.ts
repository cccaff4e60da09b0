import type { SsfSubjectFormat } from '@signoff/core';

/** A subject identifier (RFC 9493 §3; SSF 1.0 §3.3 complex subjects). */
export type SubjectId = Record<string, unknown> & { format: string };

/**
 * The user as a receiver's events name them: `email` when the receiver asked for it and the user has
 * one, else `iss_sub` with the user's public `sub` (the OIDC public subject: their id).
 */
export function userSubject(
  user: { id: string; email: string | null },
  format: SsfSubjectFormat,
  issuer: string,
): SubjectId {
  if (format === 'email' && user.email) return { format: 'email', email: user.email };
  return { format: 'iss_sub', iss: issuer, sub: user.id };
}

/**
 * The keys a user is known by in a stream's removed subjects (SsfRemovedSubject.subject): their
 * iss_sub and, when they have one, their email (lower case: RFC 9493 §3.2.2.1 leaves email
 * canonicalisation to the recipient, and mailbox names are compared without case here).
 */
export function subjectKeysOf(user: { id: string; email: string | null }): string[] {
  return [`iss_sub:${user.id}`, ...(user.email ? [`email:${user.email.toLowerCase()}`] : [])];
}

/** The longest member a subject may have here: an email address is at most 254 (RFC 5321 §4.5.3.1). */
const MAX_MEMBER = 255;

/** Why a subject of an add or remove request cannot be used (answered 400). */
export class SubjectError extends Error {}

/**
 * The key of a user subject a receiver adds or removes (SSF 1.0 §8.1.3): iss_sub (of this issuer),
 * email, or a complex subject whose `user` is one of those. Other subjects name nothing Signoff
 * sends events about (a device, a tenant): null, accepted and ignored (§9.1 lets a transmitter do so).
 */
export function subjectKeyOf(subject: unknown, issuer: string): string | null {
  if (typeof subject !== 'object' || subject === null || Array.isArray(subject))
    throw new SubjectError('"subject" is a subject identifier: a JSON object with a "format" (RFC 9493 §3)');
  const fields = subject as Record<string, unknown>;
  if (typeof fields.format !== 'string' || !fields.format)
    throw new SubjectError('a subject identifier has a "format" (RFC 9493 §3)');
  const text = (name: string) => {
    const value = fields[name];
    if (typeof value !== 'string' || !value)
      throw new SubjectError(`a subject of format ${fields.format} has a non-empty string "${name}" (RFC 9493 §3.2)`);
    if (value.length > MAX_MEMBER) throw new SubjectError(`"${name}" is longer than ${MAX_MEMBER} characters`);
    return value;
  };
  switch (fields.format) {
    case 'iss_sub':
      return text('iss') === issuer ? `iss_sub:${text('sub')}` : null;
    case 'email':
      return `email:${text('email').toLowerCase()}`;
    case 'complex':
      return fields.user === undefined ? null : subjectKeyOf(fields.user, issuer);
    default:
      return null;
  }
}
