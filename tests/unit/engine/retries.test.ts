import { describe, expect, it } from "vitest";
import { Abort, TaskRunFailedError, flow, task } from "aloft";
import { FakeClock, runFlowForTest } from "aloft/testing";

function failingTask(options: { failTimes: number; retries: number; retryDelay?: number | number[] }) {
  const calls = { count: 0 };
  const flaky = task({
    name: `flaky-${Math.random().toString(36).slice(2, 8)}`,
    retries: options.retries,
    ...(options.retryDelay === undefined ? {} : { retryDelay: options.retryDelay }),
    run: async () => {
      calls.count++;
      if (calls.count <= options.failTimes) throw new Error(`boom ${calls.count}`);
      return calls.count;
    },
  });
  return { flaky, calls };
}

describe("task retries", () => {
  it("calls a task that always fails 1 + retries times and ends it FAILED with the full retry history", async () => {
    const { flaky, calls } = failingTask({ failTimes: Infinity, retries: 3 });
    const f = flow({ name: "always-fails", run: async () => flaky() });
    const { run, taskRuns, statesOf } = await runFlowForTest(f, undefined);

    expect(calls.count).toBe(4);
    expect(run.state).toMatchObject({ type: "FAILED", name: "Failed" });
    expect(taskRuns).toHaveLength(1);
    expect(taskRuns[0]).toMatchObject({ attempts: 4, state: { type: "FAILED", name: "Failed", message: "boom 4" } });
    expect(statesOf(taskRuns[0]!.id)).toEqual([
      "Pending",
      "Running",
      "AwaitingRetry",
      "Retrying",
      "AwaitingRetry",
      "Retrying",
      "AwaitingRetry",
      "Retrying",
      "Failed",
    ]);
  });

  it("stops retrying once an attempt succeeds and ends COMPLETED", async () => {
    const { flaky, calls } = failingTask({ failTimes: 1, retries: 3 });
    const f = flow({ name: "second-time-lucky", run: async () => flaky() });
    const { run, taskRuns } = await runFlowForTest(f, undefined);

    expect(calls.count).toBe(2);
    expect(run.state.type).toBe("COMPLETED");
    expect(run.result).toBe(2);
    expect(taskRuns[0]).toMatchObject({ attempts: 2, state: { type: "COMPLETED", name: "Completed" } });
  });

  it("waits the same delay before each retry when retryDelay is one number", async () => {
    const { flaky } = failingTask({ failTimes: Infinity, retries: 3, retryDelay: 1 });
    const clock = new FakeClock();
    await runFlowForTest(flow({ name: "fixed-delay", run: async () => flaky() }), undefined, { clock });
    expect(clock.sleeps).toEqual([1000, 1000, 1000]);
  });

  it("repeats the last delay of a list shorter than the number of retries", async () => {
    const { flaky } = failingTask({ failTimes: Infinity, retries: 3, retryDelay: [1, 2] });
    const clock = new FakeClock();
    await runFlowForTest(flow({ name: "list-delay", run: async () => flaky() }), undefined, { clock });
    expect(clock.sleeps).toEqual([1000, 2000, 2000]);
  });

  it("takes the delay from a function of the retry number", async () => {
    const calls: number[] = [];
    const backoff = task({
      name: "backoff",
      retries: 3,
      retryDelay: (retry) => {
        calls.push(retry);
        return `${2 ** retry}s`;
      },
      run: async () => {
        throw new Error("down");
      },
    });
    const clock = new FakeClock();
    await runFlowForTest(flow({ name: "fn-delay", run: async () => backoff() }), undefined, { clock });
    expect(calls).toEqual([1, 2, 3]);
    expect(clock.sleeps).toEqual([2000, 4000, 8000]);
  });

  it("adds jitter within [delay, delay × (1 + jitter)]", async () => {
    const jittery = task({
      name: "jittery",
      retries: 20,
      retryDelay: 10,
      retryJitter: 0.5,
      run: async () => {
        throw new Error("down");
      },
    });
    const clock = new FakeClock();
    await runFlowForTest(flow({ name: "jitter", run: async () => jittery() }), undefined, { clock });
    expect(clock.sleeps).toHaveLength(20);
    for (const sleep of clock.sleeps) {
      expect(sleep).toBeGreaterThanOrEqual(10_000);
      expect(sleep).toBeLessThanOrEqual(15_000);
    }
    expect(new Set(clock.sleeps).size).toBeGreaterThan(1);
  });

  it("stops retrying when retryIf returns false, passing the error and the failed attempt", async () => {
    const seen: Array<[string, number]> = [];
    let calls = 0;
    const picky = task({
      name: "picky",
      retries: 5,
      retryIf: (error, attempt) => {
        seen.push([(error as Error).message, attempt]);
        return (error as Error).message !== "fatal";
      },
      run: async () => {
        calls++;
        throw new Error(calls < 3 ? "transient" : "fatal");
      },
    });
    const { taskRuns } = await runFlowForTest(flow({ name: "retry-if", run: async () => picky() }), undefined);
    expect(calls).toBe(3);
    expect(seen).toEqual([
      ["transient", 1],
      ["transient", 2],
      ["fatal", 3],
    ]);
    expect(taskRuns[0]!.state).toMatchObject({ type: "FAILED", message: "fatal" });
  });

  it("never retries an Abort, neither the task nor the flow it propagates out of", async () => {
    let calls = 0;
    const aborting = task({
      name: "aborting",
      retries: 5,
      run: async () => {
        calls++;
        throw new Abort("no card on file");
      },
    });
    const { run, taskRuns } = await runFlowForTest(flow({ name: "abort", retries: 2, run: async () => aborting() }), undefined);
    expect(calls).toBe(1);
    expect(taskRuns[0]).toMatchObject({ attempts: 1, state: { type: "FAILED", message: "no card on file" } });
    expect(run.attempts).toBe(1);
    expect(run.state.type).toBe("FAILED");
  });

  it("fails a flow at once, without flow retries, when the flow throws Abort", async () => {
    let attempts = 0;
    const f = flow({
      name: "flow-abort",
      retries: 3,
      run: async () => {
        attempts++;
        throw new Abort("bad input file");
      },
    });
    const { run, statesOf } = await runFlowForTest(f, undefined);
    expect(attempts).toBe(1);
    expect(run.state).toMatchObject({ type: "FAILED", name: "Failed", message: "bad input file" });
    expect(statesOf()).toEqual(["Pending", "Running", "Failed"]);
  });
});

describe("task hooks", () => {
  it("calls onFailure once, after the last retry, with the task run and the error", async () => {
    const events: string[] = [];
    const hooked = task({
      name: "hooked-failure",
      retries: 2,
      onFailure: (info, error) => {
        events.push(`onFailure ${info.state.name} attempts=${info.attempts} ${(error as Error).message}`);
      },
      onCompletion: () => {
        events.push("onCompletion");
      },
      run: async () => {
        events.push("run");
        throw new Error("nope");
      },
    });
    await runFlowForTest(flow({ name: "hooks-fail", run: async () => hooked() }), undefined);
    expect(events).toEqual(["run", "run", "run", "onFailure Failed attempts=3 nope"]);
  });

  it("calls onCompletion once on success, after the final state", async () => {
    const events: string[] = [];
    let calls = 0;
    const hooked = task({
      name: "hooked-success",
      retries: 2,
      onCompletion: (info) => {
        events.push(`onCompletion ${info.state.name} attempts=${info.attempts}`);
      },
      onFailure: () => {
        events.push("onFailure");
      },
      run: async () => {
        calls++;
        if (calls === 1) throw new Error("first");
        return "ok";
      },
    });
    await runFlowForTest(flow({ name: "hooks-ok", run: async () => hooked() }), undefined);
    expect(events).toEqual(["onCompletion Completed attempts=2"]);
  });

  it("keeps the task's outcome when a hook throws, and logs the hook's error", async () => {
    const hooked = task({
      name: "hook-throws",
      onCompletion: () => {
        throw new Error("hook broke");
      },
      run: async () => 7,
    });
    const { run, logs } = await runFlowForTest(flow({ name: "hook-throws", run: async () => hooked() }), undefined);
    expect(run.result).toBe(7);
    expect(logs.some((entry) => entry.level === "error" && entry.message.includes("hook broke"))).toBe(true);
  });

  it("rejects the call with TaskRunFailedError carrying the task's error as its cause", async () => {
    const failing = task({ name: "plain-failure", run: async () => Promise.reject(new Error("disk full")) });
    let caught: unknown;
    await runFlowForTest(
      flow({
        name: "catches",
        run: async () => {
          try {
            await failing();
          } catch (error) {
            caught = error;
          }
        },
      }),
      undefined,
    );
    expect(caught).toBeInstanceOf(TaskRunFailedError);
    expect((caught as TaskRunFailedError).code).toBe("TASK_RUN_FAILED");
    expect((caught as TaskRunFailedError).taskName).toBe("plain-failure");
    expect(((caught as Error).cause as Error).message).toBe("disk full");
  });
});

describe("task hooks on cancellation", () => {
  it("calls neither onFailure nor onCompletion when the task run is cancelled", async () => {
    const controller = new AbortController();
    const events: string[] = [];
    const cancelled = task({
      name: "hook-cancelled",
      onFailure: () => void events.push("onFailure"),
      onCompletion: () => void events.push("onCompletion"),
      run: () => {
        setTimeout(() => controller.abort(), 1);
        return new Promise<never>(() => {});
      },
    });
    const { taskRuns } = await runFlowForTest(flow({ name: "hooks-cancel", run: async () => cancelled() }), undefined, { signal: controller.signal });
    expect(taskRuns[0]!.state.type).toBe("CANCELLED");
    expect(events).toEqual([]);
  });
});
