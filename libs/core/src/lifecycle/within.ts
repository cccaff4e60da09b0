/**
 * `work`, or `fallback` if it has not settled within `ms` (a rejection also gives `fallback`). For
 * health checks, and for shutdown steps that would otherwise wait forever for an unreachable Redis.
 */
export function within<T>(ms: number, work: Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([work.catch(() => fallback), late]).finally(() => clearTimeout(timer));
}

/** How long one shutdown step may take before the process moves on without it. */
export const SHUTDOWN_STEP_MS = 2000;

/** After SIGTERM or SIGINT, the process exits by this deadline even if a shutdown step hangs. */
export function exitDeadlineOnSignal(ms = 10_000): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () =>
      setTimeout(() => {
        process.stderr.write(`signoff: graceful shutdown took longer than ${ms} ms; exiting\n`);
        process.exit(1);
      }, ms).unref(),
    );
  }
}
