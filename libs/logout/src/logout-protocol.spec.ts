import { readForAWhile } from './logout-protocol';

describe('readForAWhile', () => {
  let now = 0;
  let reads = 0;
  const load = (answer: string) => async () => {
    reads++;
    return answer;
  };
  beforeEach(() => {
    now = 1_000;
    reads = 0;
  });

  it('shares a read among everyone who asks within its time, and reads again after', async () => {
    const once = readForAWhile(1000, () => now);
    expect(await Promise.all([once('a', load('one')), once('a', load('two'))])).toEqual(['one', 'one']);
    now += 999;
    expect(await once('a', load('three'))).toBe('one');
    expect(await once('b', load('other'))).toBe('other'); // another key, its own read
    now += 1;
    expect(await once('a', load('four'))).toBe('four'); // a setting changed meanwhile applies now
    expect(reads).toBe(3);
  });

  it('forgets a failed read at once, so the next batch asks the database again', async () => {
    const once = readForAWhile(1000, () => now);
    await expect(once('a', () => Promise.reject(new Error('database gone')))).rejects.toThrow('database gone');
    expect(await once('a', load('back'))).toBe('back');
  });
});
