import { createHash, randomFillSync, randomUUID, timingSafeEqual } from 'node:crypto';

/** Row ids and public handles. */
export const newId = (): string => randomUUID();

/**
 * Bytes from the CSPRNG, drawn in blocks: a call into OpenSSL per token cost more than the token's
 * encoding (a logout token's jti, one per back-channel delivery, thousands a second). Each byte is
 * handed out once, and wiped once it is.
 */
const RANDOM_BLOCK = 4096;
const block = Buffer.alloc(RANDOM_BLOCK);
let used = RANDOM_BLOCK;

/** An unguessable opaque token: 256 bits, base64url. */
export function randomToken(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 1)
    throw new RangeError(`a random token needs a whole number of bytes, not ${bytes}`);
  if (bytes > RANDOM_BLOCK) return randomFillSync(Buffer.alloc(bytes)).toString('base64url');
  if (used + bytes > RANDOM_BLOCK) {
    randomFillSync(block);
    used = 0;
  }
  const token = block.toString('base64url', used, used + bytes);
  block.fill(0, used, used + bytes);
  used += bytes;
  return token;
}

/** For high-entropy secrets (API tokens): a fast hash is enough, scrypt is for passwords. */
export const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');

/** Compares secrets (tokens, MACs, hashes) in time that does not depend on where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
