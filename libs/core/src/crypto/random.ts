import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** Row ids and public handles. */
export const newId = (): string => randomUUID();

/** An unguessable opaque token: 256 bits, base64url. */
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** For high-entropy secrets (API tokens): a fast hash is enough, scrypt is for passwords. */
export const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');
