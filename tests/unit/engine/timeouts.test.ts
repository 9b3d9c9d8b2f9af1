import { describe, expect, it } from "vitest";
import { TimedOutError, flow, getRunContext, task } from "aloft";
import { FakeClock, runFlowForTest } from "aloft/testing";

describe("timeouts", () => {
  it("ends an attempt FAILED / TimedOut even when the task ignores its signal", async () => {
    const hangs = task({ name: "hangs", timeout: "30s", run: () => new Promise<never>(() => {}) });
    const { run, taskRuns, statesOf } = await runFlowForTest(flow({ name: "hang", run: async () => hangs() }), undefined);
    expect(taskRuns[0]!.state).toMatchObject({ type: "FAILED", name: "TimedOut", message: "task run hangs-0 exceeded its timeout of 30s" });
    expect(statesOf(taskRuns[0]!.id)).toEqual(["Pending", "Running", "TimedOut"]);
    expect(run.state.type).toBe("FAILED");
  });

  it("aborts the task's signal when its attempt times out", async () => {
    let reason: unknown;
    const polite = task({
      name: "polite",
      timeout: "1s",
      run: () =>
        new Promise<never>((_, reject) => {
          const { signal } = getRunContext()!;
          signal.addEventListener("abort", () => {
            reason = signal.reason;
            reject(signal.reason);
          });
        }),
    });
    await runFlowForTest(flow({ name: "polite", run: async () => polite() }), undefined);
    expect(reason).toBeInstanceOf(TimedOutError);
  });

  it("applies retries to timed-out attempts", async () => {
    let calls = 0;
    const slowThenFast = task({
      name: "slow-then-fast",
      timeout: "5s",
      retries: 2,
      retryDelay: 1,
      run: async () => {
        calls++;
        if (calls === 1) await new Promise<never>(() => {});
        return "done";
      },
    });
    const clock = new FakeClock();
    const { run, taskRuns, statesOf } = await runFlowForTest(flow({ name: "retry-timeout", run: async () => slowThenFast() }), undefined, { clock });
    expect(run.result).toBe("done");
    expect(calls).toBe(2);
    expect(statesOf(taskRuns[0]!.id)).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]);
  });

  it("ends a flow FAILED / TimedOut with a message naming the limit", async () => {
    const slow = flow({ name: "slow-flow", timeout: "1h", run: () => new Promise<never>(() => {}) });
    const clock = new FakeClock();
    const { run } = await runFlowForTest(slow, undefined, { clock });
    expect(run.state.type).toBe("FAILED");
    expect(run.state.name).toBe("TimedOut");
    expect(run.state.message).toBe(`flow run ${run.name} exceeded its timeout of 1h`);
    expect(run.error?.code).toBe("TIMED_OUT");
    expect(clock.now() - Date.parse(run.startTime)).toBe(3_600_000);
  });

  it("refuses new task calls from a flow body that kept going after its timeout", async () => {
    let lateCall: unknown = "not attempted";
    const quick = task({ name: "quick", run: async () => 1 });
    const clock = new FakeClock({ autoAdvance: false });
    const zombie = flow({
      name: "zombie",
      timeout: "10s",
      run: async () => {
        await clock.sleep(20_000);
        try {
          await quick();
          lateCall = "ran";
        } catch (error) {
          lateCall = error;
        }
      },
    });
    const pending = runFlowForTest(zombie, undefined, { clock });
    await clock.advance(10_000);
    const { run, taskRuns } = await pending;
    expect(run.state.name).toBe("TimedOut");
    await clock.advance(10_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lateCall).toBeInstanceOf(Error);
    expect(taskRuns).toHaveLength(0);
  });
});
