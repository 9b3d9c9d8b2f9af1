import { InvalidOptionsError } from "../model/errors.js";
import { durationToMs, type Duration } from "../model/duration.js";

/**
 * How long to wait before each retry: one delay, a list (the last repeats), or a function of the
 * retry number (1 for the first retry).
 *
 * @example
 * ```ts
 * const delays: RetryDelay = [1, 10, 60];
 * const backoff: RetryDelay = (retry) => 2 ** retry; // 2s, 4s, 8s …
 * ```
 */
export type RetryDelay = Duration | readonly Duration[] | ((retry: number) => Duration);

/** The retry, timeout and hook options that tasks and flows share. */
export interface RetryOptions {
  /** Extra attempts after the first one fails. Default 0. */
  retries?: number;
  /** Default 0. */
  retryDelay?: RetryDelay;
  /** 0..1: up to this fraction of each delay is added at random. */
  retryJitter?: number;
  /** Per attempt for tasks, for the whole run for flows. */
  timeout?: Duration;
}

/** At most this many listed delays (as Prefect). */
export const MAX_RETRY_DELAYS = 50;

/**
 * Checks the shared options and collects every problem; the caller adds its own and throws once.
 *
 * @example
 * ```ts
 * const problems = checkRetryOptions({ retries: -1, timeout: "soon" }); // two problems
 * ```
 */
export function checkRetryOptions(options: RetryOptions): string[] {
  const problems: string[] = [];
  const { retries, retryDelay, retryJitter, timeout } = options;
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) {
    problems.push(`retries must be a whole number ≥ 0 (got ${String(retries)})`);
  }
  if (retryDelay !== undefined && typeof retryDelay !== "function") {
    if (Array.isArray(retryDelay)) {
      if (retryDelay.length === 0) problems.push("retryDelay must not be an empty list");
      if (retryDelay.length > MAX_RETRY_DELAYS) problems.push(`retryDelay lists at most ${MAX_RETRY_DELAYS} delays (got ${retryDelay.length})`);
      retryDelay.forEach((delay, index) => {
        if (durationToMs(delay) === undefined) problems.push(`retryDelay[${index}] is not a duration: ${describe(delay)}`);
      });
    } else if (durationToMs(retryDelay) === undefined) {
      problems.push(`retryDelay is not a duration: ${describe(retryDelay)}`);
    }
  }
  if (retryJitter !== undefined && !(typeof retryJitter === "number" && retryJitter >= 0 && retryJitter <= 1)) {
    problems.push(`retryJitter must be between 0 and 1 (got ${String(retryJitter)})`);
  }
  if (timeout !== undefined && !(durationToMs(timeout) !== undefined && durationToMs(timeout)! > 0)) {
    problems.push(`timeout is not a positive duration: ${describe(timeout)}`);
  }
  return problems;
}

/**
 * Checks a name: non-empty, no control characters, at most 128 characters.
 *
 * @example
 * ```ts
 * checkName("task", ""); // ["name is required …"]
 * ```
 */
export function checkName(name: unknown): string[] {
  if (typeof name !== "string" || name.trim() === "") return ["name is required and must be a non-empty string"];
  if (name.length > 128) return [`name must be at most 128 characters (got ${name.length})`];
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(name)) return ["name must not contain control characters"];
  return [];
}

/**
 * Checks that each listed hook is a function.
 *
 * @example
 * ```ts
 * checkFunctions({ run: 3 }, ["run"]); // ["run must be a function"]
 * ```
 */
export function checkFunctions(options: object, keys: readonly string[], required: readonly string[] = []): string[] {
  const problems: string[] = [];
  for (const key of keys) {
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined) {
      if (required.includes(key)) problems.push(`${key} is required and must be a function`);
    } else if (typeof value !== "function") problems.push(`${key} must be a function`);
  }
  return problems;
}

/**
 * Checks tags: a list of non-empty strings.
 *
 * @example
 * ```ts
 * checkTags(["warehouse", ""]); // ["tags[1] must be a non-empty string"]
 * ```
 */
export function checkTags(tags: unknown): string[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags)) return ["tags must be a list of strings"];
  return tags.flatMap((tag, index) => (typeof tag === "string" && tag !== "" ? [] : [`tags[${index}] must be a non-empty string`]));
}

/**
 * Throws one {@link InvalidOptionsError} naming every problem, if there are any.
 *
 * @example
 * ```ts
 * throwIfProblems('task "add"', problems);
 * ```
 */
export function throwIfProblems(subject: string, problems: readonly string[]): void {
  if (problems.length > 0) throw new InvalidOptionsError(subject, problems);
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
