/**
 * The engine's only source of time. Retry delays, timeouts, cache expiry and state timestamps all go
 * through a Clock, so tests can swap in `FakeClock` from `aloft/testing` and never really wait.
 *
 * @example
 * ```ts
 * const clock: Clock = systemClock;
 * await clock.sleep(250);
 * ```
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason if it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `callback` after `ms`; returns a function that cancels it. */
  setTimer(ms: number, callback: () => void): () => void;
}

/**
 * The real clock.
 *
 * @example
 * ```ts
 * await flow.run(params, { clock: systemClock }); // the default
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, callback) {
    const handle = setTimeout(callback, ms);
    return () => clearTimeout(handle);
  },
  sleep(ms, signal) {
    return sleepWith(this, ms, signal);
  },
};

/**
 * Implements `sleep` on top of a clock's `setTimer`, honouring an abort signal.
 *
 * @example
 * ```ts
 * const clock: Clock = { now, setTimer, sleep: (ms, signal) => sleepWith(clock, ms, signal) };
 * ```
 */
export function sleepWith(clock: Pick<Clock, "setTimer">, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0 && !signal) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      cancel();
      reject(signal?.reason);
    };
    const cancel = clock.setTimer(ms, () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
