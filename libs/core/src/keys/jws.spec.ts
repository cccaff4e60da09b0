import { compactVerify, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { type JwsAlg, signJws } from './jws';

const keys: Record<JwsAlg, { privateKey: KeyObject; publicKey: KeyObject }> = {
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  RS256: generateKeyPairSync('rsa', { modulusLength: 2048 }),
};

const claims = {
  iss: 'https://idp.example',
  aud: 'client-1',
  iat: 1_790_000_000,
  exp: 1_790_000_120,
  jti: 'jti-1',
  sub: 'user-ü', // not ASCII: the payload is UTF-8 before it is base64url'd
  sid: 'sid-1',
  events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
};

describe('signJws', () => {
  it.each(['ES256', 'RS256'] as const)(
    'signs %s that jose verifies with the public key, header and claims as given',
    async (alg) => {
      const token = await signJws({ alg, kid: `kid-${alg}`, typ: 'logout+jwt' }, claims, keys[alg].privateKey);
      const { payload, protectedHeader } = await jwtVerify(token, keys[alg].publicKey, {
        typ: 'logout+jwt',
        algorithms: [alg],
        currentDate: new Date(1_790_000_010_000),
      });
      expect(protectedHeader).toEqual({ alg, kid: `kid-${alg}`, typ: 'logout+jwt' });
      expect(payload).toEqual(claims);
    },
  );

  it('writes an ES256 signature as R || S, 64 bytes (RFC 7518 §3.4), not DER', async () => {
    const token = await signJws({ alg: 'ES256', kid: 'k', typ: 'JWT' }, claims, keys.ES256.privateKey);
    expect(Buffer.from(token.split('.')[2], 'base64url')).toHaveLength(64);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: 'k', typ: 'JWT' });
  });

  it('writes no base64 padding, and an RS256 token byte for byte as jose does', async () => {
    const header = { alg: 'RS256', kid: 'k', typ: 'secevent+jwt' } as const;
    const token = await signJws(header, claims, keys.RS256.privateKey);
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(token).toBe(await new SignJWT(claims).setProtectedHeader(header).sign(keys.RS256.privateKey));
  });

  it.each(['ES256', 'RS256'] as const)(
    'control: a %s token with one payload byte changed does not verify',
    async (alg) => {
      const [header, payload, signature] = (
        await signJws({ alg, kid: 'k', typ: 'JWT' }, claims, keys[alg].privateKey)
      ).split('.');
      const changed = Buffer.from(payload, 'base64url');
      changed[changed.length - 2] ^= 1;
      await expect(
        compactVerify(`${header}.${changed.toString('base64url')}.${signature}`, keys[alg].publicKey),
      ).rejects.toThrow(/signature verification failed/);
    },
  );

  it('control: a token signed with another key does not verify', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const token = await signJws({ alg: 'ES256', kid: 'k', typ: 'JWT' }, claims, other);
    await expect(compactVerify(token, keys.ES256.publicKey)).rejects.toThrow(/signature verification failed/);
  });

  it.each([
    ['ES256 with an RSA key', 'ES256', keys.RS256.privateKey],
    ['ES256 with a P-384 key', 'ES256', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey],
    ['ES256 with a public key', 'ES256', keys.ES256.publicKey],
    ['RS256 with an EC key', 'RS256', keys.ES256.privateKey],
    ['RS256 with a 1024-bit key', 'RS256', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey],
    ['RS256 with an RSA-PSS key', 'RS256', generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey],
  ] as const)('refuses %s', async (_, alg, key) => {
    await expect(signJws({ alg, kid: 'k', typ: 'JWT' }, claims, key)).rejects.toThrow(
      /signature needs (an RSA private key of 2048 bits or more|a P-256 private key)$/,
    );
  });
});
