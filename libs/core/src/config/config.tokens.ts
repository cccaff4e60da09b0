/** Injection token of the validated Config object. */
export const CONFIG = Symbol('CONFIG');
/** Injection token of the cookie/CSRF signing secret. */
export const COOKIE_SECRET = Symbol('COOKIE_SECRET');
/** Injection token of the key pairwise identifiers derive from (see ensureSubjectSecret). */
export const SUBJECT_SECRET = Symbol('SUBJECT_SECRET');
