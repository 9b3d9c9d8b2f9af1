import { describe, expect, it } from "vitest";
import { MemoryJournal, flow, task } from "aloft";
import { FakeClock, runFlowForTest } from "aloft/testing";

describe("flow retries resume from the journal", () => {
  it("re-executes only the task calls that did not complete in the failed attempt", async () => {
    const calls: Record<string, number> = { extract: 0, transform: 0, load: 0 };
    let loadFailures = 1;
    const extract = task({ name: "j-extract", run: async (day: string) => (calls.extract!++, [day, day]) });
    const transform = task({ name: "j-transform", run: async (row: string) => (calls.transform!++, row.toUpperCase()) });
    const load = task({
      name: "j-load",
      run: async (rows: string[]) => {
        calls.load!++;
        if (loadFailures-- > 0) throw new Error("warehouse unavailable");
        return rows.length;
      },
    });
    const etl = flow({
      name: "journal-etl",
      retries: 1,
      retryDelay: 5,
      run: async () => {
        const rows = await extract("mon");
        const upper = await transform.map(rows);
        return load(upper);
      },
    });
    const clock = new FakeClock();
    const { run, statesOf } = await runFlowForTest(etl, undefined, { clock });
    expect(run.state.type).toBe("COMPLETED");
    expect(run.result).toBe(2);
    expect(run.attempts).toBe(2);
    // Two identical transform("MON") calls: the occurrence count keeps them apart in the journal.
    expect(calls).toEqual({ extract: 1, transform: 2, load: 2 });
    expect(statesOf()).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]);
    expect(clock.sleeps).toEqual([5000]);
  });

  it("runs a task with retries: 2 that fails in both flow attempts 6 times", async () => {
    let calls = 0;
    const broken = task({
      name: "always-broken",
      retries: 2,
      run: async () => {
        calls++;
        throw new Error("broken");
      },
    });
    const { run, taskRuns } = await runFlowForTest(flow({ name: "six-times", retries: 1, run: async () => broken() }), undefined);
    expect(calls).toBe(6);
    expect(run.state.type).toBe("FAILED");
    expect(taskRuns.map((t) => t.attempts)).toEqual([3, 3]);
  });

  it("does not re-run a subflow that completed before the failure", async () => {
    let childRuns = 0;
    let parentAttempts = 0;
    const child = flow({ name: "journaled-child", run: async (n: number) => (childRuns++, n * 10) });
    const parent = flow({
      name: "journaled-parent",
      retries: 1,
      run: async () => {
        const value = await child(4);
        if (++parentAttempts === 1) throw new Error("after the child");
        return value;
      },
    });
    const { run } = await runFlowForTest(parent, undefined);
    expect(run.result).toBe(40);
    expect(childRuns).toBe(1);
  });

  it("resumes a run with the same id from a journal passed in the run options", async () => {
    const journal = new MemoryJournal();
    let calls = 0;
    let crash = true;
    const step = task({ name: "resumable-step", run: async (n: number) => (calls++, n) });
    const resumable = flow({
      name: "resumable",
      run: async () => {
        const a = await step(1);
        if (crash) throw new Error("process died");
        return a + (await step(2));
      },
    });
    const first = await runFlowForTest(resumable, undefined, { journal, runId: "run-1" });
    expect(first.run.state.type).toBe("FAILED");
    crash = false;
    const second = await runFlowForTest(resumable, undefined, { journal, runId: "run-1" });
    expect(second.run.result).toBe(3);
    expect(calls).toBe(2);
  });
});
