/** The one source of "now" on the server, so expiry can be tested by moving time instead of waiting. */
export class Clock {
  now(): Date {
    return new Date();
  }
}

/** A clock that only moves when told to; tests pass it to the app in place of Clock. */
export class ManualClock extends Clock {
  private offsetMs = 0;
  override now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
