import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { Config } from '../config/config';
import { ensureSecret } from '../config/secrets';

const PREFIX = 'enc:v1:';
const IV_BYTES = 12; // NIST SP 800-38D §8.2: a random 96-bit IV per message
const TAG_BYTES = 16;

/** The file in DATA_DIR that holds the generated key-encryption key when KEY_ENCRYPTION_KEY is not set. */
export const KEY_ENCRYPTION_KEY_FILE = 'key-encryption-key';

/** A private key cannot be unsealed: wrong or missing key-encryption key, or a tampered or swapped row. */
export class KeyEncryptionError extends Error {}

interface Kek {
  id: string;
  key: Buffer;
}

/**
 * Seals private signing keys at rest with AES-256-GCM under a key-encryption key (KEK), so a copy of
 * the database (a dump, a backup, a replica) holds no usable private key.
 *
 * Stored form: `enc:v1:<KEK id>:<iv>:<tag>:<ciphertext>` (base64url). The AES key is HKDF-SHA256 of the
 * configured secret (any string of ≥ 32 characters); the KEK id is a short digest of that AES key, so
 * a row says which KEK sealed it without revealing it. The row's id is the additional authenticated
 * data: a sealed key copied into another row does not open there.
 *
 * Rotation: the new secret is KEY_ENCRYPTION_KEY and the old one KEY_ENCRYPTION_KEY_PREVIOUS; both
 * open, only the new one seals; `rotate-key-encryption-key` reseals every row under the new one.
 */
export class KeyEncryption {
  private readonly current: Kek;
  private readonly previous: Kek | null;

  constructor(secret: string, previousSecret?: string) {
    this.current = deriveKek(secret);
    this.previous = previousSecret ? deriveKek(previousSecret) : null;
  }

  /** The KEK of a process: KEY_ENCRYPTION_KEY (+ _PREVIOUS), else the one generated into DATA_DIR. */
  static fromConfig(config: Config): KeyEncryption {
    return new KeyEncryption(
      ensureSecret(config.dataDir, KEY_ENCRYPTION_KEY_FILE, config.keys.encryptionKey),
      config.keys.previousEncryptionKey,
    );
  }

  /** The id of the KEK that seals now (shown by the rotation command; not secret). */
  get currentId(): string {
    return this.current.id;
  }

  /** Was `stored` sealed under the current KEK? (false for plaintext and for any other KEK). */
  isCurrent(stored: string): boolean {
    return stored.startsWith(`${PREFIX}${this.current.id}:`);
  }

  seal(plaintext: string, rowId: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(rowId));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${PREFIX}${[this.current.id, iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join(':')}`;
  }

  /**
   * The plaintext of a sealed value. A plaintext PEM is refused: rows of older versions are sealed at
   * start (KeysService.sealPlaintextKeys), so one found later was written behind our back.
   */
  open(stored: string, rowId: string): string {
    if (isPlaintextPem(stored)) throw new KeyEncryptionError(`signing key ${rowId} is stored unsealed`);
    const parts = stored.startsWith(PREFIX) ? stored.slice(PREFIX.length).split(':') : [];
    if (parts.length !== 4) throw new KeyEncryptionError(`signing key ${rowId}: not a sealed key (unknown format)`);
    const [kekId, iv, tag, ciphertext] = parts;
    const kek = [this.current, this.previous].find((candidate) => candidate?.id === kekId);
    if (!kek) {
      throw new KeyEncryptionError(
        `signing key ${rowId} is sealed under key-encryption key ${kekId}, which is neither KEY_ENCRYPTION_KEY (${this.current.id})` +
          ` nor KEY_ENCRYPTION_KEY_PREVIOUS${this.previous ? ` (${this.previous.id})` : ''}: configure the key it was sealed with`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', kek.key, Buffer.from(iv, 'base64url'), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(aad(rowId));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new KeyEncryptionError(
        `signing key ${rowId} does not open under key-encryption key ${kekId}: the row was altered or belongs to another row`,
      );
    }
  }
}

/** A private key stored before encryption at rest existed (PKCS#8 PEM). */
export function isPlaintextPem(stored: string): boolean {
  return stored.startsWith('-----BEGIN ');
}

function deriveKek(secret: string): Kek {
  const key = Buffer.from(hkdfSync('sha256', secret, 'signoff', 'signing-key encryption v1', 32));
  return { key, id: createHash('sha256').update('signoff kek id').update(key).digest('base64url').slice(0, 11) };
}

function aad(rowId: string): Buffer {
  return Buffer.from(`signoff signing_keys ${rowId}`, 'utf8');
}
