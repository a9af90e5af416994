import { describe, expect, it } from "vitest";
import { Timers, instantFromMillis, millisFromInstant, type Clock } from "./time";
import { Duration, TimerId, type TimeResponse } from "../generated/types/shared_types";

/** A clock whose time moves only when told. */
class FakeClock implements Clock {
  t = 1_700_000_000_123;
  private next = 1;
  private readonly pending = new Map<number, { at: number; f: () => void }>();
  now = () => this.t;
  setTimeout = (f: () => void, ms: number) => {
    const id = this.next++;
    this.pending.set(id, { at: this.t + ms, f });
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.pending.delete(h as number);
  };
  advance(ms: number) {
    this.t += ms;
    for (const [id, p] of [...this.pending].sort((a, b) => a[1].at - b[1].at)) {
      if (p.at <= this.t && this.pending.has(id)) {
        this.pending.delete(id);
        p.f();
      }
    }
  }
}

describe("Time", () => {
  it("answers Now with the clock as seconds and nanos", () => {
    const clock = new FakeClock();
    const answers: TimeResponse[] = [];
    new Timers(clock).handle({ kind: "Now" }, (r) => answers.push(r));
    expect(answers).toHaveLength(1);
    const now = answers[0];
    expect(now.kind).toBe("Now");
    if (now.kind === "Now") {
      expect(now.instant.seconds).toBe(1_700_000_000n);
      expect(now.instant.nanos).toBe(123_000_000);
      expect(millisFromInstant(now.instant)).toBe(clock.t);
    }
  });

  it("fires NotifyAfter once its duration has passed, and not before", () => {
    const clock = new FakeClock();
    const timers = new Timers(clock);
    const answers: TimeResponse[] = [];
    timers.handle(
      { kind: "NotifyAfter", id: new TimerId(7n), duration: new Duration(1_500_000_000n) },
      (r) => answers.push(r),
    );
    clock.advance(1_499);
    expect(answers).toEqual([]);
    clock.advance(1);
    expect(answers).toEqual([{ kind: "DurationElapsed", id: new TimerId(7n) }]);
    expect(timers.size).toBe(0);
  });

  it("fires NotifyAt at its instant, at once when it is past", () => {
    const clock = new FakeClock();
    const timers = new Timers(clock);
    const answers: TimeResponse[] = [];
    timers.handle(
      { kind: "NotifyAt", id: new TimerId(1n), instant: instantFromMillis(clock.t + 2_000) },
      (r) => answers.push(r),
    );
    timers.handle(
      { kind: "NotifyAt", id: new TimerId(2n), instant: instantFromMillis(clock.t - 5_000) },
      (r) => answers.push(r),
    );
    clock.advance(0);
    expect(answers.map((a) => a.kind)).toEqual(["InstantArrived"]);
    clock.advance(2_000);
    expect(answers.map((a) => a.kind)).toEqual(["InstantArrived", "InstantArrived"]);
  });

  it("Clear stops the timer and answers Cleared; the timer never fires", () => {
    const clock = new FakeClock();
    const timers = new Timers(clock);
    const fired: TimeResponse[] = [];
    const cleared: TimeResponse[] = [];
    timers.handle(
      { kind: "NotifyAfter", id: new TimerId(3n), duration: new Duration(1_000_000_000n) },
      (r) => fired.push(r),
    );
    timers.handle({ kind: "Clear", id: new TimerId(3n) }, (r) => cleared.push(r));
    clock.advance(10_000);
    expect(fired).toEqual([]);
    expect(cleared).toEqual([{ kind: "Cleared", id: new TimerId(3n) }]);
    expect(timers.size).toBe(0);
  });

  it("waits longer than setTimeout can in several steps", () => {
    const clock = new FakeClock();
    const timers = new Timers(clock);
    const answers: TimeResponse[] = [];
    const days40 = 40n * 24n * 3600n * 1_000_000_000n;
    timers.handle({ kind: "NotifyAfter", id: new TimerId(9n), duration: new Duration(days40) }, (r) =>
      answers.push(r),
    );
    clock.advance(2 ** 31 - 1);
    expect(answers).toEqual([]);
    clock.advance(40 * 24 * 3600 * 1000 - (2 ** 31 - 1));
    expect(answers).toHaveLength(1);
  });
});
