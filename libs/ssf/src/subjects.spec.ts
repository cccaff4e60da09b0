import { SubjectError, subjectKeyOf, subjectKeysOf, userSubject } from './subjects';

const ISSUER = 'https://idp.example.com';

describe('userSubject', () => {
  it('names the user by iss_sub, their public subject under our issuer', () => {
    expect(userSubject({ id: 'u1', email: 'a@example.com' }, 'iss_sub', ISSUER)).toEqual({
      format: 'iss_sub',
      iss: ISSUER,
      sub: 'u1',
    });
  });

  it('names the user by email when the receiver asked for it, and by iss_sub when they have none', () => {
    expect(userSubject({ id: 'u1', email: 'a@example.com' }, 'email', ISSUER)).toEqual({
      format: 'email',
      email: 'a@example.com',
    });
    expect(userSubject({ id: 'u1', email: null }, 'email', ISSUER)).toEqual({
      format: 'iss_sub',
      iss: ISSUER,
      sub: 'u1',
    });
  });
});

describe('subjectKeyOf', () => {
  it('keys the subjects a user is known by, as subjectKeysOf does', () => {
    const user = { id: 'u1', email: 'Ann@Example.com' };
    const keys = subjectKeysOf(user);
    expect(keys).toEqual(['iss_sub:u1', 'email:ann@example.com']);
    expect(subjectKeyOf({ format: 'iss_sub', iss: ISSUER, sub: 'u1' }, ISSUER)).toBe(keys[0]);
    expect(subjectKeyOf({ format: 'email', email: 'ANN@example.COM' }, ISSUER)).toBe(keys[1]);
    expect(subjectKeyOf({ format: 'complex', user: { format: 'email', email: 'ann@example.com' } }, ISSUER)).toBe(
      keys[1],
    );
  });

  it('ignores subjects that name nothing Signoff sends events about', () => {
    expect(subjectKeyOf({ format: 'iss_sub', iss: 'https://other.example.com', sub: 'u1' }, ISSUER)).toBeNull();
    expect(subjectKeyOf({ format: 'opaque', id: 'x' }, ISSUER)).toBeNull();
    expect(subjectKeyOf({ format: 'complex', device: { format: 'opaque', id: 'd' } }, ISSUER)).toBeNull();
  });

  it.each([
    ['not an object', 'u1'],
    ['an array', [{ format: 'email', email: 'a@example.com' }]],
    ['no format', { email: 'a@example.com' }],
    ['an empty member', { format: 'email', email: '' }],
    ['a member that is no string', { format: 'iss_sub', iss: ISSUER, sub: 7 }],
  ])('refuses %s (RFC 9493 §3)', (_name, subject) => {
    expect(() => subjectKeyOf(subject, ISSUER)).toThrow(SubjectError);
  });
});
