/**
 * At most `limit` tasks at once, the rest waiting their turn in order: the process-wide bound on
 * back-channel requests in flight (DELIVERY_CONCURRENCY), shared by every batch the worker runs.
 */
export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  /** Nothing runs and nothing waits. */
  get idle(): boolean {
    return this.running === 0;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      // The turn passes straight to the next waiter: `running` counts it already.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
