import { randomToken } from './random';

// randomToken hands out slices of a 4096-byte block of CSPRNG bytes, refilled when used up: what
// must hold is what held when each token was a call of its own (randomBytes): the length asked
// for, base64url, and no byte handed out twice (nor a wiped one, which would be zeros).
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const BLOCK = 4096;

describe('randomToken', () => {
  it('is 32 bytes by default: 43 base64url characters', () => {
    const token = randomToken();
    expect(token).toMatch(BASE64URL);
    expect(token).toHaveLength(43);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
  });

  it('is as many bytes as asked for: 16 bytes, 22 characters', () => {
    const token = randomToken(16);
    expect(token).toMatch(BASE64URL);
    expect(token).toHaveLength(22);
    expect(Buffer.from(token, 'base64url')).toHaveLength(16);
  });

  it('gives 10,000 distinct tokens, across many refills of the block (10,000 × 16 bytes)', () => {
    const tokens = Array.from({ length: 10_000 }, () => randomToken(16));
    expect(10_000 * 16).toBeGreaterThan(20 * BLOCK);
    expect(new Set(tokens).size).toBe(10_000);
    expect(tokens.join('')).toMatch(BASE64URL);
  });

  it('gives distinct tokens of sizes that leave a remainder in the block (5, 7, 100, 1000 bytes)', () => {
    // Sizes that do not divide 4096: a refill comes with bytes still unused at the block's end. (Not
    // smaller than 5 bytes: 500 tokens of 3 would collide by chance once in about 130 runs.)
    const sizes = [5, 7, 100, 1000];
    const tokens = Array.from({ length: 2000 }, (_, i) => randomToken(sizes[i % 4]));
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(tokens.map((token) => Buffer.from(token, 'base64url').length)).toEqual(tokens.map((_, i) => sizes[i % 4]));
  });

  it('never hands out a wiped slice: no token is 16 zero bytes', () => {
    // What a slice of the block's wiped (used) bytes would look like.
    const zero = Buffer.alloc(16).toString('base64url');
    expect(zero).toBe('AAAAAAAAAAAAAAAAAAAAAA');
    const tokens = new Set(Array.from({ length: 5000 }, () => randomToken(16)));
    expect(tokens.has(zero)).toBe(false);
  });

  it.each([BLOCK, BLOCK + 1, 5000, 3 * BLOCK])('works for %i bytes (the whole block, and more than it)', (bytes) => {
    const first = randomToken(bytes);
    const second = randomToken(bytes);
    expect(first).toMatch(BASE64URL);
    expect(Buffer.from(first, 'base64url')).toHaveLength(bytes);
    expect(first).not.toBe(second);
    // Random bytes, not a zeroed buffer: far from all zeros (about 1 in 256 bytes is 0).
    const zeros = Buffer.from(first, 'base64url').filter((byte) => byte === 0).length;
    expect(zeros).toBeLessThan(bytes / 64);
  });

  it('keeps handing out fresh bytes after a token larger than the block', () => {
    const before = Array.from({ length: 300 }, () => randomToken(16));
    randomToken(5000);
    const after = Array.from({ length: 300 }, () => randomToken(16));
    expect(new Set([...before, ...after]).size).toBe(600);
  });

  it('refuses a size that is not a whole, positive number of bytes, and hands out fresh bytes after', () => {
    for (const bytes of [0, -16, 1.5, Number.NaN]) expect(() => randomToken(bytes)).toThrow(RangeError);
    expect(Buffer.from(randomToken(16), 'base64url').equals(Buffer.alloc(16))).toBe(false);
  });
});
