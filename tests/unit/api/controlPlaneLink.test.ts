import { describe, expect, it } from "vitest";
import { ControlPlaneLink, flow, task, type ControlPlaneCalls } from "aloft";
import { runFlowForTest } from "aloft/testing";

/** A control plane in memory that records each call in order (and can be told to fail). */
function fakeControlPlane(options: { failReports?: boolean; failJournal?: boolean } = {}) {
  const calls: string[] = [];
  const journal = new Map<string, Map<string, unknown>>();
  const report = async (what: string) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    calls.push(what);
    if (options.failReports) throw new Error("control plane down");
  };
  const api: ControlPlaneCalls = {
    createFlowRun: async (body) => (await report(`create flow ${body.flowName} ${body.initialState}`), { state: { type: "PENDING" } }),
    proposeFlowRunState: async (_id, body) => report(`flow ${body.state.name}`),
    createTaskRun: async (body) => report(`create task ${body.name}`),
    proposeTaskRunState: async (_id, body) => report(`task ${body.state.name}`),
    createLogs: async (logs) => report(`logs ${logs.map((log) => log.message).join(",")}`),
    createArtifact: async (body) => report(`artifact ${body.key}`),
    listJournal: async (runId) => [...(journal.get(runId) ?? new Map()).entries()].map(([key, value]) => ({ key, value })),
    putJournalEntry: async (runId, key, value) => {
      if (options.failJournal) throw new Error("journal unreachable");
      const entries = journal.get(runId) ?? new Map<string, unknown>();
      journal.set(runId, entries);
      if (!entries.has(key)) entries.set(key, value);
      return { value: entries.get(key) };
    },
  };
  return { api, calls, journal };
}

const double = task({ name: "link-double", run: async (x: number) => x * 2 });
const linked = flow({
  name: "linked",
  run: async (_params, ctx) => {
    ctx.log.info("hello");
    const value = await double(21);
    ctx.artifact.markdown("answer", `# ${value}`);
    return value;
  },
});

describe("ControlPlaneLink", () => {
  it("reports each run's creation first and its states in order, without repeating the PENDING the creation carries", async () => {
    const { api, calls } = fakeControlPlane();
    const link = new ControlPlaneLink(api);
    const { run } = await runFlowForTest(linked, undefined, { recorder: link.recorder, journal: link.journal });
    expect(run.result).toBe(42);
    await link.flush();
    const flowCalls = calls.filter((call) => call.startsWith("create flow") || call.startsWith("flow "));
    expect(flowCalls).toEqual(["create flow linked PENDING", "flow Running", "flow Completed"]);
    const taskCalls = calls.filter((call) => call.includes("task"));
    expect(taskCalls).toEqual(["create task link-double-0", "task Running", "task Completed"]);
    expect(calls).toContain("logs hello");
    expect(calls).toContain("artifact answer");
  });

  it("journals each completed task call in the control plane before the flow goes on", async () => {
    const { api, journal } = fakeControlPlane();
    const link = new ControlPlaneLink(api);
    const { run } = await runFlowForTest(linked, undefined, { recorder: link.recorder, journal: link.journal });
    expect([...(journal.get(run.id)?.values() ?? [])]).toEqual([42]);
  });

  it("never fails a flow because its reports cannot be delivered", async () => {
    const { api } = fakeControlPlane({ failReports: true });
    const link = new ControlPlaneLink(api);
    const { run } = await runFlowForTest(linked, undefined, { recorder: link.recorder });
    await link.flush();
    expect(run.state.type).toBe("COMPLETED");
  });

  it("fails (rather than rejects) a journaled run whose creation the control plane refused", async () => {
    const { api } = fakeControlPlane({ failReports: true });
    const link = new ControlPlaneLink(api);
    const { run, taskRuns } = await runFlowForTest(linked, undefined, { recorder: link.recorder, journal: link.journal });
    await link.flush();
    expect(run.state).toMatchObject({ type: "FAILED", message: `could not load the journal of flow run ${run.name}: control plane down` });
    expect(taskRuns).toHaveLength(0);
  });

  it("fails the run when a completed call cannot be journaled", async () => {
    const { api } = fakeControlPlane({ failJournal: true });
    const link = new ControlPlaneLink(api);
    const { run } = await runFlowForTest(linked, undefined, { recorder: link.recorder, journal: link.journal });
    await link.flush();
    expect(run.state.type).toBe("FAILED");
    expect(run.error?.message).toBe("journal unreachable");
  });
});
