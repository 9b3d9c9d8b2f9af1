import { sleepWith, type Clock } from "../engine/clock.js";

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
}

/**
 * A clock for tests: time moves only when timers are due, so retry delays and timeouts take no real
 * time. With `autoAdvance` (the default) the clock jumps to the next timer whenever the code under
 * test is waiting on nothing else (checked after the event loop has run its pending work); without
 * it, move time yourself with `advance(ms)`. Every `sleep` is recorded in `sleeps`.
 *
 * @example
 * ```ts
 * import { FakeClock } from "aloft/testing";
 * const clock = new FakeClock();
 * const run = await flaky.run({}, { clock }); // a task with retries: 3, retryDelay: 10
 * expect(clock.sleeps).toEqual([10_000, 10_000, 10_000]);
 * ```
 */
export class FakeClock implements Clock {
  /** Every sleep requested, in milliseconds, in order (retry delays among them). */
  readonly sleeps: number[] = [];
  private current: number;
  private readonly timers: Timer[] = [];
  private seq = 0;
  private tickScheduled = false;
  private readonly autoAdvance: boolean;

  constructor(options: { start?: number | Date | string; autoAdvance?: boolean } = {}) {
    const start = options.start ?? "2026-01-01T00:00:00.000Z";
    this.current = typeof start === "number" ? start : new Date(start).getTime();
    this.autoAdvance = options.autoAdvance ?? true;
  }

  now(): number {
    return this.current;
  }

  /** Timers not yet fired. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  setTimer(ms: number, callback: () => void): () => void {
    const timer: Timer = { at: this.current + Math.max(0, ms), seq: this.seq++, callback };
    this.timers.push(timer);
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.scheduleTick();
    return () => {
      const index = this.timers.indexOf(timer);
      if (index >= 0) this.timers.splice(index, 1);
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return sleepWith(this, ms, signal);
  }

  /** Moves time forward by `ms`, firing due timers in order and letting their work run. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.fire();
      await settle();
    }
    this.current = target;
  }

  /** Fires every timer, including ones created while firing, until none is left. */
  async runAll(limit = 10_000): Promise<void> {
    for (let fired = 0; this.timers.length > 0; fired++) {
      if (fired >= limit) throw new Error(`FakeClock.runAll: more than ${limit} timers fired; is a timer rescheduling itself?`);
      this.fire();
      await settle();
    }
  }

  private fire(): void {
    const timer = this.timers.shift();
    if (!timer) return;
    this.current = Math.max(this.current, timer.at);
    timer.callback();
  }

  private scheduleTick(): void {
    if (!this.autoAdvance || this.tickScheduled) return;
    this.tickScheduled = true;
    // Two macrotask turns: the code under test has finished every pending step and is blocked on a timer.
    setTimeout(() =>
      setImmediate(() => {
        this.tickScheduled = false;
        if (this.timers.length === 0) return;
        this.fire();
        if (this.timers.length > 0) this.scheduleTick();
      }),
    );
  }
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
