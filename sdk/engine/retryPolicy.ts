import { Abort, FlowRunFailedError, InvalidOptionsError, TaskRunFailedError } from "../model/errors.js";
import { durationToMs } from "../model/duration.js";
import type { RetryOptions } from "../definitions/options.js";

/**
 * The delay before retry number `retry` (1 for the first retry), in milliseconds, jitter included.
 * A delay list shorter than the number of retries repeats its last value; jitter adds up to
 * `retryJitter × delay` at random.
 *
 * @example
 * ```ts
 * retryDelayMs({ retryDelay: [1, 2] }, 3); // 2000
 * retryDelayMs({ retryDelay: 10, retryJitter: 0.5 }, 1); // between 10000 and 15000
 * ```
 */
export function retryDelayMs(options: RetryOptions, retry: number, random: () => number = Math.random): number {
  const { retryDelay, retryJitter = 0 } = options;
  let base: number | undefined;
  if (retryDelay === undefined) base = 0;
  else if (typeof retryDelay === "function") {
    const value = retryDelay(retry);
    base = durationToMs(value);
    if (base === undefined) {
      throw new InvalidOptionsError("retryDelay", [`retryDelay(${retry}) returned ${String(value)}, which is not a duration`]);
    }
  } else if (Array.isArray(retryDelay)) base = durationToMs(retryDelay[Math.min(retry - 1, retryDelay.length - 1)]);
  else base = durationToMs(retryDelay);
  const delay = base ?? 0;
  return retryJitter > 0 ? delay + random() * retryJitter * delay : delay;
}

/**
 * Whether to retry after a failure: not when the error is an `Abort` (see {@link isAbort}), no retries are left, or `retryIf` says no.
 *
 * @example
 * ```ts
 * await shouldRetry(options, new Error("503"), 1); // true if options.retries ≥ 1
 * ```
 */
export async function shouldRetry(
  options: RetryOptions & { retryIf?: (error: unknown, attempt: number) => boolean | Promise<boolean> },
  error: unknown,
  attempt: number,
): Promise<boolean> {
  if (isAbort(error)) return false;
  if (attempt > (options.retries ?? 0)) return false;
  if (options.retryIf && !(await options.retryIf(error, attempt))) return false;
  return true;
}

/**
 * Whether an error means "never retry": an `Abort`, or a failed task run or subflow run that an
 * `Abort` ended (retrying the flow would only run into it again).
 *
 * @example
 * ```ts
 * isAbort(new Abort("no card")); // true
 * ```
 */
export function isAbort(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && depth < 8; depth++) {
    if (current instanceof Abort) return true;
    if (!(current instanceof TaskRunFailedError || current instanceof FlowRunFailedError)) return false;
    current = current.cause;
  }
  return false;
}
