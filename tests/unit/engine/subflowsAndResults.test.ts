import { describe, expect, it } from "vitest";
import { z } from "zod";
import { FlowRunFailedError, InvalidParametersError, TaskRunFailedError, flow, task } from "aloft";
import { MemoryRecorder, runFlowForTest } from "aloft/testing";

describe("failure propagation (Prefect 3 semantics)", () => {
  it("completes a flow whose failed task's error is caught", async () => {
    const failing = task({ name: "caught", run: async () => Promise.reject(new Error("nope")) });
    const f = flow({
      name: "catches-failure",
      run: async () => {
        const outcome = await failing().catch(() => "fallback");
        return outcome;
      },
    });
    const { run, taskRuns } = await runFlowForTest(f, undefined);
    expect(taskRuns[0]!.state.type).toBe("FAILED");
    expect(run.state.type).toBe("COMPLETED");
    expect(run.result).toBe("fallback");
  });

  it("fails a flow when a task's failure propagates out of run, and .run still resolves", async () => {
    const failing = task({ name: "propagates", run: async () => Promise.reject(new Error("upstream 500")) });
    const { run } = await runFlowForTest(flow({ name: "propagates-failure", run: async () => failing() }), undefined);
    expect(run.state).toMatchObject({ type: "FAILED", name: "Failed" });
    expect(run.error).toMatchObject({ name: "TaskRunFailedError", code: "TASK_RUN_FAILED" });
    expect(run.error?.message).toContain("upstream 500");
    expect(run.endTime).toBeDefined();
  });
});

describe("subflows", () => {
  it("runs a flow called inside a flow as a child run linked by parentRunId", async () => {
    const leaf = task({ name: "leaf", run: async (x: number) => x + 1 });
    const child = flow({ name: "child", run: async (n: number) => leaf(n) });
    const parent = flow({ name: "parent", run: async () => (await child(1)) + (await child(10)) });
    const { run, childRuns, taskRuns, statesOf } = await runFlowForTest(parent, undefined);
    expect(run.result).toBe(13);
    expect(childRuns).toHaveLength(2);
    for (const childRun of childRuns) {
      expect(childRun.parentRunId).toBe(run.id);
      expect(childRun.flowName).toBe("child");
      expect(statesOf(childRun.id)).toEqual(["Pending", "Running", "Completed"]);
    }
    expect(taskRuns.map((t) => t.flowRunId)).toEqual(childRuns.map((c) => c.id));
  });

  it("rejects in the parent with FlowRunFailedError when the child fails", async () => {
    let caught: unknown;
    const child = flow({ name: "failing-child", run: async () => Promise.reject(new Error("child broke")) });
    const parent = flow({
      name: "watching-parent",
      run: async () => {
        try {
          await child(undefined);
        } catch (error) {
          caught = error;
          throw error;
        }
      },
    });
    const { run, childRuns } = await runFlowForTest(parent, undefined);
    expect(caught).toBeInstanceOf(FlowRunFailedError);
    expect((caught as FlowRunFailedError).runId).toBe(childRuns[0]!.id);
    expect(childRuns[0]!.state.type).toBe("FAILED");
    expect(run.state.type).toBe("FAILED");
  });

  it("fails a subflow with invalid parameters as InvalidParameters", async () => {
    const child = flow({ name: "strict-child", params: z.object({ n: z.number() }), run: async ({ n }) => n });
    const parent = flow({ name: "sloppy-parent", run: async () => child({ n: "x" as unknown as number }) });
    const { childRuns, run } = await runFlowForTest(parent, undefined);
    expect(childRuns[0]!.state).toMatchObject({ type: "FAILED", name: "InvalidParameters" });
    expect(run.state.type).toBe("FAILED");
  });
});

describe("parameters", () => {
  const add = task({ name: "param-add", run: async (a: number, b: number) => a + b });
  const etl = flow({
    name: "param-etl",
    params: z.object({ day: z.string(), limit: z.coerce.number().default(10) }),
    run: async ({ day, limit }) => ({ day, rows: await add(limit, 1) }),
  });

  it("validates and coerces parameters before any task runs", async () => {
    const { run } = await runFlowForTest(etl, { day: "2026-11-01", limit: "5" });
    expect(run.result).toEqual({ day: "2026-11-01", rows: 6 });
    expect(run.parameters).toEqual({ day: "2026-11-01", limit: 5 });
  });

  it("applies schema defaults", async () => {
    expect((await runFlowForTest(etl, { day: "2026-11-01" })).run.result).toEqual({ day: "2026-11-01", rows: 11 });
  });

  it("ends the run FAILED / InvalidParameters naming every issue's path, before any task runs", async () => {
    const nested = flow({
      name: "nested-params",
      params: z.object({ day: z.string(), limit: z.coerce.number(), target: z.object({ table: z.string() }) }),
      run: async () => add(1, 1),
    });
    const { run, taskRuns } = await runFlowForTest(nested, { day: 3, limit: "many", target: { table: 1 } } as never);
    expect(taskRuns).toHaveLength(0);
    expect(run.state).toMatchObject({ type: "FAILED", name: "InvalidParameters" });
    expect(run.state.message).toContain("day:");
    expect(run.state.message).toContain("limit:");
    expect(run.state.message).toContain("target.table:");
    expect(run.error?.code).toBe("INVALID_PARAMETERS");
  });

  it("rejects a direct call with invalid parameters with FlowRunFailedError caused by InvalidParametersError", async () => {
    const error = await etl({ day: 1 } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowRunFailedError);
    expect((error as FlowRunFailedError).cause).toBeInstanceOf(InvalidParametersError);
    expect(((error as FlowRunFailedError).cause as InvalidParametersError).issues.map((i) => i.path)).toEqual(["day"]);
  });
});

describe("results", () => {
  it("fails a task whose result is not JSON-serializable, saying where and what", async () => {
    const mappy = task({ name: "returns-map", retries: 3, run: async () => ({ rows: [1, new Map()] }) });
    const { taskRuns } = await runFlowForTest(flow({ name: "bad-result", run: async () => mappy() }), undefined);
    expect(taskRuns[0]!.attempts).toBe(1);
    expect(taskRuns[0]!.state.type).toBe("FAILED");
    expect(taskRuns[0]!.state.message).toBe(
      'the result of task "returns-map" must be JSON-serializable, but $.rows[1] is a Map; return plain objects, arrays, strings, finite numbers, booleans or null',
    );
  });

  it.each([
    ["NaN", Number.NaN, "$ is NaN"],
    ["a function", () => 1, "$ is a function"],
    ["a Date", new Date(0), "$ is a Date"],
    ["a bigint", 1n, "$ is a bigint"],
  ])("rejects %s as a result", async (_label, value, fragment) => {
    const t = task({ name: `bad-${String(_label)}`, run: async () => value as unknown });
    const { taskRuns } = await runFlowForTest(flow({ name: `bad-flow-${String(_label)}`, run: async () => t() }), undefined);
    expect(taskRuns[0]!.state.message).toContain(fragment);
  });

  it("accepts undefined (a task that returns nothing) and nested plain data", async () => {
    const nothing = task({ name: "returns-nothing", run: async () => {} });
    const data = task({ name: "returns-data", run: async () => ({ a: [1, "two", null, { b: true }], skipped: undefined }) });
    const { run } = await runFlowForTest(flow({ name: "good-results", run: async () => ({ nothing: await nothing(), data: await data() }) }), undefined);
    expect(run.state.type).toBe("COMPLETED");
  });

  it("fails the flow when its own result is not JSON-serializable", async () => {
    const { run } = await runFlowForTest(flow({ name: "bad-flow-result", run: async () => new Set([1]) }), undefined);
    expect(run.state.type).toBe("FAILED");
    expect(run.error?.code).toBe("NOT_SERIALIZABLE");
  });
});

describe("standalone task calls", () => {
  it("runs a task called outside any flow as a standalone task run, with retries", async () => {
    let calls = 0;
    const standalone = task({
      name: "standalone",
      retries: 1,
      run: async (x: number) => {
        if (++calls === 1) throw new Error("first");
        return x * 3;
      },
    });
    const recorder = new MemoryRecorder();
    const { configure } = await import("aloft");
    const restore = configure({ recorder });
    try {
      expect(await standalone(5)).toBe(15);
    } finally {
      restore();
    }
    expect(recorder.taskRuns).toHaveLength(1);
    expect(recorder.taskRuns[0]!.flowRunId).toBeUndefined();
    expect(recorder.stateNamesOf(recorder.taskRuns[0]!.id)).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]);
  });

  it("rejects a failing standalone call with TaskRunFailedError", async () => {
    const standalone = task({ name: "standalone-failing", run: async () => Promise.reject(new Error("no")) });
    const { configure } = await import("aloft");
    const restore = configure({ recorder: {} });
    try {
      await expect(standalone()).rejects.toBeInstanceOf(TaskRunFailedError);
    } finally {
      restore();
    }
  });
});
