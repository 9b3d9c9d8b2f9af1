import { describe, expect, it } from "vitest";
import type { RetryOptions } from "aloft";
import { retryFor, UnsupportedRetryDelay } from "../../../sdk/compiler/retry.js";

const RETRYABLE = ["Aloft.TaskFailed", "States.Timeout"];

describe("task retry options → ASL Retry", () => {
  it.each<[string, RetryOptions, object | undefined, string[]]>([
    ["no retries: no Retrier", { retries: 0, retryDelay: 10 }, undefined, []],
    ["a whole-second delay: constant interval", { retries: 3, retryDelay: 10 }, { IntervalSeconds: 10, MaxAttempts: 3, BackoffRate: 1 }, []],
    ['a duration string: "2m"', { retries: 1, retryDelay: "2m" }, { IntervalSeconds: 120, MaxAttempts: 1, BackoffRate: 1 }, []],
    [
      "no delay: the 1 s minimum, with a warning",
      { retries: 2 },
      { IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 1 },
      ['task "t": retry delays 0s, 0s become IntervalSeconds 1, BackoffRate 1 in Step Functions: 1s, 1s (off by up to 1s, 100%)'],
    ],
    [
      "a sub-second delay: rounded up to 1 s, with a warning",
      { retries: 1, retryDelay: "250ms" },
      { IntervalSeconds: 1, MaxAttempts: 1, BackoffRate: 1 },
      ['task "t": retry delays 0.25s become IntervalSeconds 1, BackoffRate 1 in Step Functions: 1s (off by up to 0.75s, 75%)'],
    ],
    ["a doubling list: an exact backoff", { retries: 4, retryDelay: [2, 4, 8, 16] }, { IntervalSeconds: 2, MaxAttempts: 4, BackoffRate: 2 }, []],
    [
      "a list shorter than the retries: its last delay repeats, as MaxDelaySeconds",
      { retries: 4, retryDelay: [5, 10] },
      { IntervalSeconds: 5, MaxAttempts: 4, BackoffRate: 2, MaxDelaySeconds: 10 },
      [],
    ],
    ["a list a capped backoff fits exactly", { retries: 5, retryDelay: [1, 10, 60] }, { IntervalSeconds: 1, MaxAttempts: 5, BackoffRate: 10, MaxDelaySeconds: 60 }, []],
    [
      "an uneven list: the closest backoff, and how close it is",
      { retries: 3, retryDelay: [1, 5, 60] },
      { IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 6.5 },
      ['task "t": retry delays 1s, 5s, 60s become IntervalSeconds 1, BackoffRate 6.5 in Step Functions: 1s, 6.5s, 42.25s (off by up to 17.75s, 30%)'],
    ],
    [
      "jitter: JitterStrategy FULL, with a warning about the different shape",
      { retries: 2, retryDelay: 10, retryJitter: 0.5 },
      { IntervalSeconds: 10, MaxAttempts: 2, BackoffRate: 1, JitterStrategy: "FULL" },
      ['task "t": retryJitter 0.5 becomes JitterStrategy FULL: Step Functions waits a random time up to each delay, the local engine adds up to 50% to it'],
    ],
  ])("%s", (_case, options, retrier, warnings) => {
    const mapping = retryFor('task "t"', options);

    expect(mapping.retrier).toEqual(retrier === undefined ? undefined : { ErrorEquals: RETRYABLE, ...retrier });
    expect(mapping.warnings).toEqual(warnings);
  });

  it("cannot map a retryDelay function (the compiler turns this into a CompileError with the call's line)", () => {
    expect(() => retryFor('task "t"', { retries: 2, retryDelay: (retry) => retry * 3 })).toThrow(UnsupportedRetryDelay);
  });

  it("never lists Aloft.Abort, so an Abort is not retried", () => {
    expect(retryFor('task "t"', { retries: 5, retryDelay: 1 }).retrier?.ErrorEquals).not.toContain("Aloft.Abort");
  });
});
