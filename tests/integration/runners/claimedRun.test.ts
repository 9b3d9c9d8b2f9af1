import { describe, expect, it } from "vitest";
import { flow, task } from "aloft";
import type { ControlPlaneCalls } from "../../../sdk/api/controlPlaneLink.js";
import { executeClaimedRun, type HeartbeatAnswer, type ProposalAnswer, type RunnableFlow, type RunnerCalls, type RunnerProposal } from "../../../sdk/runner/claimedRun.js";

/** A control plane in memory: records every call the runner makes, answers as told. */
class FakeControlPlane {
  readonly proposals: Array<{ runId: string; body: RunnerProposal }> = [];
  readonly journal = new Map<string, unknown>();
  readonly journalPuts: string[] = [];
  heartbeats = 0;
  answerRunning: ProposalAnswer[] = [];
  answerHeartbeat: () => HeartbeatAnswer = () => ({ action: "continue" });

  calls(): RunnerCalls {
    const link: ControlPlaneCalls = {
      createFlowRun: async () => ({ state: { type: "PENDING" } }),
      proposeFlowRunState: async () => ({}),
      createTaskRun: async () => ({}),
      proposeTaskRunState: async () => ({}),
      createLogs: async () => ({}),
      createArtifact: async () => ({}),
      listJournal: async () => [...this.journal].map(([key, value]) => ({ key, value })),
      putJournalEntry: async (_runId, key, value) => {
        this.journalPuts.push(key);
        this.journal.set(key, value);
        return { value };
      },
    };
    return {
      link,
      propose: async (runId, body) => {
        this.proposals.push({ runId, body });
        if (body.state.type === "RUNNING" && this.answerRunning.length > 0) return this.answerRunning.shift()!;
        return { status: "ACCEPT" };
      },
      heartbeat: async () => {
        this.heartbeats++;
        return this.answerHeartbeat();
      },
    };
  }

  states(): string[] {
    return this.proposals.map((proposal) => proposal.body.state.name ?? proposal.body.state.type);
  }
}

const run = (id: string) => ({ id, flowName: "claimed", parameters: { n: 3 }, tags: [] });

describe("a runner executing a claimed run", () => {
  it("proposes RUNNING with its claim token and the flow's retries, and reports the end with the same token", async () => {
    const plane = new FakeControlPlane();
    const double = task({ name: "claimed-double", run: async (n: number) => n * 2 });
    const claimed = flow({ name: "claimed", retries: 2, run: async ({ n }: { n: number }) => double(n) });
    const outcome = await executeClaimedRun({ calls: plane.calls(), run: run("r1"), runnerToken: "tok-1", loadFlow: async () => claimed as RunnableFlow, heartbeatSeconds: 60 });
    expect(outcome).toMatchObject({ action: "ran", state: { type: "COMPLETED" } });
    expect(plane.states()).toEqual(["Running", "Completed"]);
    expect(plane.proposals.every((proposal) => proposal.body.runnerToken === "tok-1" && proposal.runId === "r1")).toBe(true);
    expect(plane.proposals[0]!.body.retries).toBe(2);
    expect(plane.heartbeats).toBeGreaterThanOrEqual(1);
  });

  it("re-executes only the calls its journal does not record as completed", async () => {
    const plane = new FakeControlPlane();
    const executed: number[] = [];
    const step = task({ name: "claimed-step", run: async (i: number) => (executed.push(i), i * 10) });
    const claimed = flow({ name: "claimed", run: async () => [await step(1), await step(2), await step(3)] });
    // A first runner ran the run until it died: it journaled step 1 and 2.
    await executeClaimedRun({ calls: plane.calls(), run: run("r2"), runnerToken: "tok-a", loadFlow: async () => claimed as RunnableFlow, heartbeatSeconds: 60 });
    plane.journal.delete([...plane.journal.keys()][2]!);
    executed.length = 0;
    const outcome = await executeClaimedRun({ calls: plane.calls(), run: run("r2"), runnerToken: "tok-b", loadFlow: async () => claimed as RunnableFlow, heartbeatSeconds: 60 });
    expect(outcome).toMatchObject({ action: "ran", state: { type: "COMPLETED" } });
    expect(executed).toEqual([3]);
  });

  it("aborts the flow's signal when a heartbeat says cancel, and reports CANCELLED", async () => {
    const plane = new FakeControlPlane();
    let beats = 0;
    plane.answerHeartbeat = () => ({ action: ++beats >= 2 ? "cancel" : "continue" });
    const claimed = flow({
      name: "claimed",
      run: (_params: unknown, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))),
    });
    const outcome = await executeClaimedRun({ calls: plane.calls(), run: run("r3"), runnerToken: "tok-3", loadFlow: async () => claimed as RunnableFlow, heartbeatSeconds: 0.02 });
    expect(outcome).toMatchObject({ action: "ran", state: { type: "CANCELLED" } });
    expect(plane.states()).toEqual(["Running", "Cancelled"]);
    expect(plane.proposals.at(-1)!.body.runnerToken).toBe("tok-3");
  });

  it("stops without another write when a heartbeat says it lost the run", async () => {
    const plane = new FakeControlPlane();
    let lost = false;
    plane.answerHeartbeat = () => (lost ? { action: "stop" } : { action: "continue" });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const before = task({ name: "claimed-before", run: async () => 1 });
    const after = task({ name: "claimed-after", run: async () => 2 });
    const claimed = flow({
      name: "claimed",
      run: async () => {
        await before();
        lost = true;
        await gate; // a slow runner: the control plane gave the run to another runner meanwhile
        return after();
      },
    });
    const running = executeClaimedRun({ calls: plane.calls(), run: run("r4"), runnerToken: "tok-4", loadFlow: async () => claimed as RunnableFlow, heartbeatSeconds: 0.02 });
    const outcome = await running;
    expect(outcome.action).toBe("stopped");
    // The slow flow body wakes up afterwards: its next call writes nothing.
    release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(plane.journalPuts).toHaveLength(1);
    expect(plane.states()).toEqual(["Running"]);
  });

  it("aborts a run that outlives its work pool's timeout and reports it FAILED (TimedOut), not cancelled", async () => {
    const plane = new FakeControlPlane();
    let aborted = false;
    const claimed = flow({
      name: "claimed",
      run: (_params: unknown, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener("abort", () => ((aborted = true), reject(ctx.signal.reason)))),
    });
    const outcome = await executeClaimedRun({ calls: plane.calls(), run: run("r8"), runnerToken: "tok-8", loadFlow: async () => claimed as RunnableFlow, heartbeatSeconds: 60, timeoutSeconds: 0.05 });
    expect(aborted).toBe(true);
    expect(outcome).toMatchObject({ action: "ran", state: { type: "FAILED", name: "TimedOut", message: "the run exceeded its work pool's timeout of 0.05s" } });
    expect(plane.proposals.map((p) => [p.body.state.type, p.body.state.name, p.body.error?.name])).toEqual([
      ["RUNNING", "Running", undefined],
      ["FAILED", "TimedOut", "TimedOutError"],
    ]);
  });

  it("waits as long as the rules say WAIT before starting", async () => {
    const plane = new FakeControlPlane();
    plane.answerRunning = [{ status: "WAIT", delaySeconds: 0.05, reason: "due soon" }];
    const claimed = flow({ name: "claimed", run: async () => "ok" });
    const outcome = await executeClaimedRun({ calls: plane.calls(), run: run("r5"), runnerToken: "tok-5", loadFlow: async () => claimed as RunnableFlow, heartbeatSeconds: 60 });
    expect(outcome).toMatchObject({ action: "ran", state: { type: "COMPLETED" } });
    expect(plane.states()).toEqual(["Running", "Running", "Completed"]);
  });

  it("stops without running the flow when the control plane says another runner holds the run", async () => {
    const plane = new FakeControlPlane();
    plane.answerRunning = [{ status: "REJECT", rule: "claimed-by-another-runner", reason: "another runner holds the run" }];
    let ran = false;
    const claimed = flow({ name: "claimed", run: async () => (ran = true) });
    const outcome = await executeClaimedRun({ calls: plane.calls(), run: run("r6"), runnerToken: "tok-6", loadFlow: async () => claimed as RunnableFlow, heartbeatSeconds: 60 });
    expect(outcome).toEqual({ action: "stopped", reason: "the run was claimed by another runner: another runner holds the run" });
    expect(ran).toBe(false);
    expect(plane.states()).toEqual(["Running"]);
  });

  it("fails the run with the reason when its code cannot be loaded", async () => {
    const plane = new FakeControlPlane();
    const outcome = await executeClaimedRun({
      calls: plane.calls(),
      run: run("r7"),
      runnerToken: "tok-7",
      loadFlow: async () => {
        throw new Error("no such file: flows/gone.ts");
      },
      heartbeatSeconds: 60,
    });
    expect(outcome).toEqual({ action: "failed", reason: "no such file: flows/gone.ts" });
    expect(plane.proposals.map((p) => [p.body.state.type, p.body.error?.message, p.body.runnerToken])).toEqual([["FAILED", "no such file: flows/gone.ts", "tok-7"]]);
  });
});
