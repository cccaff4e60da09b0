import { parseUserSubject, SubjectIdentifierError } from './subject-identifier';

describe('parseUserSubject (RFC 9493 §3)', () => {
  it.each([
    [{ format: 'iss_sub', iss: 'https://id.example', sub: 'u1' }],
    [{ format: 'email', email: 'alice@example.com' }],
    [{ format: 'opaque', id: 'u1' }],
  ])('reads %j, and only its members', (subject) => {
    expect(parseUserSubject({ ...subject, extra: 'ignored' })).toEqual(subject);
  });

  const refusal = (value: unknown) => {
    try {
      parseUserSubject(value);
    } catch (error) {
      return error instanceof SubjectIdentifierError ? error.code : `not a SubjectIdentifierError: ${String(error)}`;
    }
    return 'accepted';
  };

  it.each<[string, unknown]>([
    ['not an object', 'alice@example.com'],
    ['an array', [{ format: 'email', email: 'a@b.c' }]],
    ['null', null],
    ['no format', { email: 'a@b.c' }],
    ['an empty member', { format: 'email', email: '' }],
    ['a member that is not a string', { format: 'iss_sub', iss: 'https://id.example', sub: 7 }],
    ['a missing member', { format: 'iss_sub', sub: 'u1' }],
    ['a member with a control character', { format: 'opaque', id: 'u\u00001' }],
    ['a member longer than 1024 characters', { format: 'opaque', id: 'u'.repeat(1025) }],
    ['a registered format with its member missing', { format: 'phone_number' }],
  ])('refuses %s as malformed', (_, value) => {
    expect(refusal(value)).toBe('malformed');
  });

  it.each<[string, unknown]>([
    ['phone_number', { format: 'phone_number', phone_number: '+12065550100' }],
    ['account', { format: 'account', uri: 'acct:alice@example.com' }],
    ['aliases', { format: 'aliases', identifiers: [{ format: 'email', email: 'a@b.c' }] }],
    ['an unregistered format', { format: 'x-mine', id: 'u1' }],
    // Names Object has: a format nobody registered, not a lookup on the prototype.
    ['constructor', { format: 'constructor', id: 'u1' }],
    ['__proto__', JSON.parse('{"format": "__proto__", "id": "u1"}')],
    ['toString', { format: 'toString', id: 'u1' }],
  ])('refuses %s as a format it does not resolve', (_, value) => {
    expect(refusal(value)).toBe('unsupported_format');
  });
});
