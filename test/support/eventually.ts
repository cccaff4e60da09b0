/** Polls `probe` until it returns a truthy value or `ms` pass; returns the last value. For work the worker does. */
export async function eventually<T>(probe: () => Promise<T>, ms = 10_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!value && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    value = await probe();
  }
  return value;
}
