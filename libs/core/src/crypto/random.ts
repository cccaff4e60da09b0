import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/** Row ids and public handles. */
export const newId = (): string => randomUUID();

/** An unguessable opaque token: 256 bits, base64url. */
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** For high-entropy secrets (API tokens): a fast hash is enough, scrypt is for passwords. */
export const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');

/** Compares secrets (tokens, MACs, hashes) in time that does not depend on where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
