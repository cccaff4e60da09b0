/**
 * An instant as people read it: in their own time zone. The server knows neither the zone nor the
 * language of the browser, so it writes the instant in UTC, to the minute and marked as such, in a
 * `<time>` whose `datetime` holds the exact instant; static/local-time.js (load it with
 * `<Script src="local-time.js" defer />`) rewrites each `time[data-local]` with Intl.DateTimeFormat in
 * the browser's zone. Without JavaScript the UTC text stays, which is still right, only less handy.
 */
export function LocalTime({ value }: { value: Date }) {
  const iso = value.toISOString();
  return (
    <time datetime={iso} data-local="">
      {utcText(value)}
    </time>
  );
}

/** The text the server writes: `2025-11-26 09:41 UTC`. */
export const utcText = (value: Date): string => `${value.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
