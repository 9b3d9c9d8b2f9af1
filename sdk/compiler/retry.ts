/**
 * Task retry options → an ASL Retrier. The local engine waits `retryDelay` before retry n (a list
 * repeats its last value); Step Functions waits IntervalSeconds × BackoffRate^(n-1), capped at
 * MaxDelaySeconds, in whole seconds. A list becomes the closest such curve, and the warning says how close.
 */
import type { RetryOptions } from "../definitions/options.js";
import { durationToMs } from "../model/duration.js";

/** The error names the task Lambda throws for a failure worth retrying (an Abort is `Aloft.Abort`, never retried). */
export const RETRYABLE_ERRORS = ["Aloft.TaskFailed", "States.Timeout"] as const;

/** Lambda's own transient errors: retried apart from the task's retries, as AWS recommends. */
export const LAMBDA_TRANSIENT_RETRIER = {
  ErrorEquals: ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"],
  IntervalSeconds: 1,
  MaxAttempts: 3,
  BackoffRate: 2,
} as const;

/** One ASL Retrier. */
export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds: number;
  MaxAttempts: number;
  BackoffRate: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: "FULL";
}

/** The outcome of mapping: the Retrier (none without retries) and the warnings it comes with. */
export interface RetryMapping {
  retrier: Retrier | undefined;
  warnings: string[];
}

/** Thrown for a `retryDelay` function: the caller turns it into a CompileError. */
export class UnsupportedRetryDelay extends Error {}

/**
 * Maps `retries`, `retryDelay` and `retryJitter` to a Retrier.
 *
 * @example
 * ```ts
 * retryFor("fetch", { retries: 3, retryDelay: [1, 10, 60] });
 * // { retrier: { ErrorEquals: [...], IntervalSeconds: 1, BackoffRate: 7.7, MaxAttempts: 3, MaxDelaySeconds: 60 }, warnings: [...] }
 * ```
 */
export function retryFor(subject: string, options: RetryOptions): RetryMapping {
  const retries = options.retries ?? 0;
  if (retries === 0) return { retrier: undefined, warnings: [] };
  const { retryDelay, retryJitter = 0 } = options;
  if (typeof retryDelay === "function") throw new UnsupportedRetryDelay(`${subject}: retryDelay is a function`);
  const warnings: string[] = [];
  const wanted = Array.from({ length: retries }, (_, index) => {
    if (retryDelay === undefined) return 0;
    const delay = Array.isArray(retryDelay) ? retryDelay[Math.min(index, retryDelay.length - 1)] : retryDelay;
    return durationToMs(delay)! / 1000;
  });
  const fit = fitBackoff(wanted);
  const retrier: Retrier = {
    ErrorEquals: [...RETRYABLE_ERRORS],
    IntervalSeconds: fit.interval,
    MaxAttempts: retries,
    BackoffRate: fit.rate,
  };
  if (fit.maxDelay !== undefined) retrier.MaxDelaySeconds = fit.maxDelay;
  if (retryJitter > 0) {
    retrier.JitterStrategy = "FULL";
    warnings.push(
      `${subject}: retryJitter ${retryJitter} becomes JitterStrategy FULL: Step Functions waits a random time up to each delay, the local engine adds up to ${Math.round(retryJitter * 100)}% to it`,
    );
  }
  const actual = fit.delays;
  if (actual.some((delay, index) => delay !== wanted[index])) {
    const off = Math.max(...actual.map((delay, index) => Math.abs(delay - wanted[index]!)));
    const relative = Math.max(...actual.map((delay, index) => Math.abs(delay - wanted[index]!) / Math.max(wanted[index]!, 1)));
    const curve = [`IntervalSeconds ${fit.interval}`, `BackoffRate ${fit.rate}`, ...(fit.maxDelay === undefined ? [] : [`MaxDelaySeconds ${fit.maxDelay}`])].join(", ");
    warnings.push(
      `${subject}: retry delays ${wanted.map(seconds).join(", ")} become ${curve} in Step Functions: ${actual.map(seconds).join(", ")} (off by up to ${seconds(off)}, ${Math.round(relative * 100)}%)`,
    );
  }
  return { retrier, warnings };
}

interface Fit {
  interval: number;
  rate: number;
  maxDelay: number | undefined;
  delays: number[];
}

/** The IntervalSeconds / BackoffRate / MaxDelaySeconds whose delays are closest to `wanted` (largest relative error smallest). */
function fitBackoff(wanted: readonly number[]): Fit {
  const interval = Math.max(1, Math.round(wanted[0]!));
  const biggest = Math.max(...wanted);
  const capped = Math.max(interval, Math.round(biggest));
  let best: Fit | undefined;
  let bestError = Infinity;
  // BackoffRate is at least 1.0; tenths are plenty for a retry curve.
  for (let tenths = 10; tenths <= 100; tenths++) {
    const rate = tenths / 10;
    for (const maxDelay of [undefined, capped]) {
      const delays = wanted.map((_, index) => round2(Math.min(interval * rate ** index, maxDelay ?? Infinity)));
      const error = Math.max(...delays.map((delay, index) => Math.abs(delay - wanted[index]!) / Math.max(wanted[index]!, 1)));
      if (error < bestError - 1e-9) {
        bestError = error;
        best = { interval, rate, maxDelay, delays };
      }
    }
  }
  const fit = best!;
  // A cap the curve never reaches says nothing.
  if (fit.maxDelay !== undefined && fit.delays.every((delay, index) => delay === round2(interval * fit.rate ** index))) fit.maxDelay = undefined;
  return fit;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function seconds(value: number): string {
  return `${round2(value)}s`;
}
