import { KeyEncryption, KeyEncryptionError } from './key-encryption';

const OLD = 'o'.repeat(43);
const NEW = 'n'.repeat(43);
const PEM =
  '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';

describe('KeyEncryption (AES-256-GCM under the key-encryption key)', () => {
  it('seals with a fresh IV each time and opens only for the same row', () => {
    const kek = new KeyEncryption(NEW);
    const [a, b] = [kek.seal(PEM, 'row-1'), kek.seal(PEM, 'row-1')];
    expect(a).not.toBe(b);
    expect(a.startsWith(`enc:v1:${kek.currentId}:`)).toBe(true);
    expect(a).not.toContain('PRIVATE KEY');
    expect(kek.open(a, 'row-1')).toBe(PEM);
    expect(() => kek.open(a, 'row-2')).toThrow(KeyEncryptionError);
  });

  it('refuses an altered ciphertext, tag or IV', () => {
    const kek = new KeyEncryption(NEW);
    const parts = kek.seal(PEM, 'row-1').split(':');
    for (const index of [3, 4, 5]) {
      const altered = [...parts];
      altered[index] = `${altered[index][0] === 'A' ? 'B' : 'A'}${altered[index].slice(1)}`;
      expect(() => kek.open(altered.join(':'), 'row-1')).toThrow(/does not open/);
    }
  });

  it('opens under the previous key during a rotation, seals only under the new one, and names a missing key', () => {
    const old = new KeyEncryption(OLD);
    const sealedOld = old.seal(PEM, 'row-1');
    const rotating = new KeyEncryption(NEW, OLD);
    expect(rotating.open(sealedOld, 'row-1')).toBe(PEM);
    expect(rotating.isCurrent(sealedOld)).toBe(false);
    expect(rotating.isCurrent(rotating.seal(PEM, 'row-1'))).toBe(true);
    expect(() => new KeyEncryption(NEW).open(sealedOld, 'row-1')).toThrow(
      `sealed under key-encryption key ${old.currentId}, which is neither KEY_ENCRYPTION_KEY`,
    );
  });

  it('opens sealed keys only: a plaintext PEM (sealed at start, so one found later was planted) and anything else are refused', () => {
    const kek = new KeyEncryption(NEW);
    expect(() => kek.open(PEM, 'row-1')).toThrow(/stored unsealed/);
    expect(() => kek.open('enc:v2:x', 'row-1')).toThrow(/unknown format/);
  });
});
