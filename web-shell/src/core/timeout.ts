// One deadline for a piece of network work: `run` gets an AbortSignal that fires after `ms`;
// when it fired, the failure comes back as `TimedOut`, so callers tell "too slow" from "failed".

export class TimedOut extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "TimedOut";
  }
}

export async function withTimeout<T>(ms: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, ms);
  try {
    return await run(controller.signal);
  } catch (e) {
    throw timedOut ? new TimedOut(ms) : e;
  } finally {
    clearTimeout(timer);
  }
}
