import { describe, expect, it } from "vitest";
import { flow, getRunContext, log, task } from "aloft";
import { runFlowForTest } from "aloft/testing";

describe("cancellation", () => {
  it("ends the run CANCELLED when its signal aborts, cancels the task in flight and calls onCancellation once", async () => {
    const controller = new AbortController();
    const hooks: string[] = [];
    let taskSawAbort = false;
    const longTask = task({
      name: "long",
      retries: 3,
      run: () =>
        new Promise<never>((_, reject) => {
          const { signal } = getRunContext()!;
          signal.addEventListener("abort", () => {
            taskSawAbort = true;
            reject(signal.reason);
          });
          setTimeout(() => controller.abort(), 5);
        }),
    });
    const f = flow({
      name: "cancellable",
      retries: 2,
      onCancellation: () => void hooks.push("onCancellation"),
      onFailure: () => void hooks.push("onFailure"),
      run: async () => longTask(),
    });
    const { run, taskRuns, statesOf } = await runFlowForTest(f, undefined, { signal: controller.signal });
    expect(run.state).toMatchObject({ type: "CANCELLED", name: "Cancelled" });
    expect(statesOf()).toEqual(["Pending", "Running", "Cancelled"]);
    expect(taskRuns[0]!.state.type).toBe("CANCELLED");
    expect(taskRuns[0]!.attempts).toBe(1);
    expect(taskSawAbort).toBe(true);
    expect(hooks).toEqual(["onCancellation"]);
  });

  it("cancels a run whose signal is already aborted before any task runs", async () => {
    const never = task({ name: "never-runs", run: async () => 1 });
    const { run, taskRuns } = await runFlowForTest(flow({ name: "pre-cancelled", run: async () => never() }), undefined, { signal: AbortSignal.abort() });
    expect(run.state.type).toBe("CANCELLED");
    expect(taskRuns).toHaveLength(0);
  });
});

describe("logs and artifacts", () => {
  it("sends log lines to the task run or flow run they are written in", async () => {
    const helper = () => log.info("deep inside", { depth: 2 });
    const logged = task({
      name: "logged",
      run: async () => {
        helper();
        log.warn("careful");
      },
    });
    const f = flow({
      name: "logging",
      run: async (_params, ctx) => {
        ctx.log.info("starting", { day: "mon" });
        await logged();
        log.debug("from the flow body");
      },
    });
    const { run, logs, taskRuns } = await runFlowForTest(f, undefined);
    expect(logs.map((entry) => [entry.level, entry.message, entry.taskRunId ?? null, entry.flowRunId])).toEqual([
      ["info", "starting", null, run.id],
      ["info", "deep inside", taskRuns[0]!.id, run.id],
      ["warn", "careful", taskRuns[0]!.id, run.id],
      ["debug", "from the flow body", null, run.id],
    ]);
    expect(logs[0]!.fields).toEqual({ day: "mon" });
  });

  it("publishes markdown, table and link artifacts tied to the run", async () => {
    const f = flow({
      name: "reporting",
      run: async (_params, ctx) => {
        ctx.artifact.markdown("summary", "# 3 rows");
        ctx.artifact.table("rows", [{ id: 1 }, { id: 2 }], "loaded rows");
        ctx.artifact.link("dashboard", "https://example.com/d/1");
      },
    });
    const { run, artifacts } = await runFlowForTest(f, undefined);
    expect(artifacts.map(({ key, type, data, flowRunId }) => ({ key, type, data, flowRunId }))).toEqual([
      { key: "summary", type: "markdown", data: "# 3 rows", flowRunId: run.id },
      { key: "rows", type: "table", data: [{ id: 1 }, { id: 2 }], flowRunId: run.id },
      { key: "dashboard", type: "link", data: { url: "https://example.com/d/1" }, flowRunId: run.id },
    ]);
    expect(artifacts[1]!.description).toBe("loaded rows");
  });

  it("refuses an artifact key that is not lowercase letters, digits and dashes", async () => {
    const { run } = await runFlowForTest(flow({ name: "bad-artifact", run: async (_p, ctx) => ctx.artifact.markdown("My Report", "x") }), undefined);
    expect(run.state.type).toBe("FAILED");
    expect(run.state.message).toContain('artifact key "My Report"');
  });

  it("gives tasks their run context: ids, attempt and signal", async () => {
    const seen: unknown[] = [];
    let calls = 0;
    const introspective = task({
      name: "introspective",
      retries: 1,
      run: async () => {
        const ctx = getRunContext()!;
        seen.push({ attempt: ctx.attempt, task: ctx.taskRunName, aborted: ctx.signal.aborted, flow: ctx.flowName });
        if (++calls === 1) throw new Error("again");
      },
    });
    await runFlowForTest(flow({ name: "ctx-flow", run: async () => introspective() }), undefined);
    expect(seen).toEqual([
      { attempt: 1, task: "introspective-0", aborted: false, flow: "ctx-flow" },
      { attempt: 2, task: "introspective-0", aborted: false, flow: "ctx-flow" },
    ]);
    expect(getRunContext()).toBeUndefined();
  });

  it("names task runs with runName when given", async () => {
    const named = task({ name: "named", runName: (a: number, b: number) => `add-${a}-${b}`, run: async (a: number, b: number) => a + b });
    const { taskRuns } = await runFlowForTest(flow({ name: "naming", run: async () => named(1, 2) }), undefined);
    expect(taskRuns[0]!.name).toBe("add-1-2");
  });
});

describe("definitions", () => {
  it("remember the file a flow was defined in", () => {
    const here = flow({ name: "located", run: async () => 1 });
    expect(here.sourceFile).toBe(new URL(import.meta.url).pathname);
  });
});
