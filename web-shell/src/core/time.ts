// The `Time` effect (crux_time's protocol): the wall clock and timers. `Now` is answered at
// once; `NotifyAfter` / `NotifyAt` answer when their timer fires; `Clear` stops a timer (whose
// own request then never answers, as in the native runtime) and answers `Cleared`.

import {
  Instant,
  TimerId,
  type TimeRequest,
  type TimeResponse,
} from "../generated/types/shared_types";

/** setTimeout's longest delay (about 24.8 days); longer waits are re-armed. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export function instantFromMillis(ms: number): Instant {
  const whole = Math.floor(ms);
  const seconds = Math.floor(whole / 1000);
  const nanos = (whole - seconds * 1000) * 1_000_000;
  return new Instant(BigInt(seconds), nanos);
}

export function millisFromInstant(instant: Instant): number {
  return Number(instant.seconds) * 1000 + Math.floor(instant.nanos / 1_000_000);
}

export interface Clock {
  now(): number;
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const browserClock: Clock = {
  now: () => Date.now(),
  setTimeout: (f, ms) => globalThis.setTimeout(f, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Performs `Time` requests; `respond` is called with each answer (once per request). */
export class Timers {
  private readonly running = new Map<string, unknown>();

  constructor(private readonly clock: Clock = browserClock) {}

  /** How many timers are armed (for tests). */
  get size(): number {
    return this.running.size;
  }

  handle(request: TimeRequest, respond: (response: TimeResponse) => void): void {
    switch (request.kind) {
      case "Now":
        respond({ kind: "Now", instant: instantFromMillis(this.clock.now()) });
        return;
      case "NotifyAfter": {
        const ms = Number(request.duration.nanos / 1_000_000n);
        const id = request.id;
        this.arm(id, this.clock.now() + ms, () => respond({ kind: "DurationElapsed", id }));
        return;
      }
      case "NotifyAt": {
        const id = request.id;
        this.arm(id, millisFromInstant(request.instant), () =>
          respond({ kind: "InstantArrived", id }),
        );
        return;
      }
      case "Clear": {
        const key = request.id.value.toString();
        const handle = this.running.get(key);
        if (handle !== undefined) this.clock.clearTimeout(handle);
        this.running.delete(key);
        respond({ kind: "Cleared", id: new TimerId(request.id.value) });
        return;
      }
    }
  }

  /** Stops every timer (the page is going away). */
  clearAll(): void {
    for (const handle of this.running.values()) this.clock.clearTimeout(handle);
    this.running.clear();
  }

  private arm(id: TimerId, at: number, fire: () => void): void {
    const key = id.value.toString();
    const previous = this.running.get(key);
    if (previous !== undefined) this.clock.clearTimeout(previous);
    const tick = () => {
      const left = at - this.clock.now();
      if (left > 0) {
        this.running.set(key, this.clock.setTimeout(tick, Math.min(left, MAX_DELAY_MS)));
        return;
      }
      this.running.delete(key);
      fire();
    };
    const wait = Math.max(0, at - this.clock.now());
    this.running.set(key, this.clock.setTimeout(tick, Math.min(wait, MAX_DELAY_MS)));
  }
}
