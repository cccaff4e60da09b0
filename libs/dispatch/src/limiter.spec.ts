import { Limiter } from './limiter';

describe('Limiter', () => {
  it('runs at most `limit` tasks at once, every task in the end, in the order they came', async () => {
    const limiter = new Limiter(3);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        limiter.run(async () => {
          started.push(index);
          peak = Math.max(peak, ++running);
          await new Promise((resolve) => setTimeout(resolve, 1 + (index % 4)));
          running--;
          return index * 2;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(results).toEqual(Array.from({ length: 20 }, (_, index) => index * 2));
    expect(started).toEqual(Array.from({ length: 20 }, (_, index) => index));
  });

  it('frees the slot of a task that throws', async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run(async () => 'next')).toBe('next');
  });
});
