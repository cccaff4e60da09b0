import { parseDuration } from './duration';

export type Env = Record<string, string | undefined>;

/** The shortest secret or token accepted from the environment. */
export const SECRET_MIN_LENGTH = 32;

/**
 * Reads environment variables for loadConfig. A bad value does not throw: it is noted in `problems`
 * (in the order the values are read) and a stand-in is returned, so that every bad value can be
 * reported at once.
 */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  /** The value without surrounding spaces; undefined when unset or empty. */
  value(name: string): string | undefined {
    const raw = this.env[name];
    return raw === undefined || raw === '' ? undefined : raw.trim();
  }

  /** The value exactly as given (a password keeps its spaces); undefined when unset or empty. */
  untrimmed(name: string): string | undefined {
    return this.env[name] || undefined;
  }

  /** Notes `NAME: rule (got "the value as given")`. */
  bad(name: string, rule: string): void {
    this.problems.push(`${name}: ${rule} (got ${JSON.stringify(this.env[name])})`);
  }

  /** Notes a problem worded in full, such as one about two variables together. */
  problem(text: string): void {
    this.problems.push(text);
  }

  /** A whole number from min to max; `fallback` when unset. */
  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.value(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) this.bad(name, `must be a whole number from ${min} to ${max}`);
    return n;
  }

  /** A duration (see parseDuration) of at least minMs, in milliseconds; `fallback` when unset. */
  duration(name: string, fallback: string, minMs: number): number {
    const ms = parseDuration(this.value(name) ?? fallback);
    if (ms === null || ms < minMs) {
      this.bad(name, `must be a duration such as 90s, 15m, 12h or 7d, at least ${minMs / 1000}s`);
      return minMs;
    }
    return ms;
  }

  /** 1/true/yes or 0/false/no, in any case; `fallback` when unset. */
  boolean(name: string, fallback: boolean): boolean {
    const raw = this.value(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes'].includes(raw)) return true;
    if (['0', 'false', 'no'].includes(raw)) return false;
    this.bad(name, 'must be true or false');
    return fallback;
  }

  /** A secret or token of at least SECRET_MIN_LENGTH characters; undefined when unset. */
  secret(name: string): string | undefined {
    const secret = this.value(name);
    if (secret !== undefined && secret.length < SECRET_MIN_LENGTH)
      this.bad(name, `must be at least ${SECRET_MIN_LENGTH} characters`);
    return secret;
  }
}
