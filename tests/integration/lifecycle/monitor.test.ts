import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunMonitor, type LifecycleTimings } from "../../../lambdas/services/monitoring.js";
import type { FlowRunRecord, RunnerInfo } from "../../../lambdas/store/records.js";
import type { FlowRunFilter, Store } from "../../../lambdas/store/store.js";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";

const TIMINGS: LifecycleTimings = { heartbeatSeconds: 0.2, launchTimeoutSeconds: 5, cancelGraceSeconds: 30 };

let cp: TestControlPlane;
let clock = Date.parse("2026-11-22T10:00:00.000Z");
const enqueued: string[] = [];
const stops: Array<{ runner: RunnerInfo; reason: string }> = [];
let monitor: RunMonitor;

beforeAll(async () => {
  cp = await startTestControlPlane({ now: () => clock });
  monitor = new RunMonitor({
    store: cp.store,
    flowRuns: cp.services.flowRuns,
    now: () => clock,
    timings: TIMINGS,
    enqueue: async (run: FlowRunRecord) => void enqueued.push(run.id),
    stopRunner: async (runner, reason) => {
      stops.push({ runner, reason });
      return true;
    },
  });
});
afterAll(async () => cp.dispose());

const advance = (seconds: number) => (clock += seconds * 1000);

/** A run claimed with `token` and started by its runner (which reports the flow's retries). */
async function runningRun(token: string, retries?: number): Promise<string> {
  const { run } = await cp.services.flowRuns.create({ flowName: "etl", scheduledTime: new Date(clock).toISOString() });
  await cp.services.flowRuns.proposeState(run.id, { state: { type: "PENDING" }, controlPlane: true, claimToken: token });
  const started = await cp.services.flowRuns.proposeState(run.id, { state: { type: "RUNNING" }, runnerToken: token, ...(retries === undefined ? {} : { retries }) });
  expect(started.decision.status).toBe("ACCEPT");
  return run.id;
}

const stateOf = async (id: string) => (await cp.services.flowRuns.get(id)).state;

describe("crash detection", () => {
  it("leaves a run alone while its runner beats, and crashes it after 3 missed heartbeats, with the reason", async () => {
    const id = await runningRun("tok-crash");
    for (let i = 0; i < 5; i++) {
      advance(0.2);
      expect((await cp.services.flowRuns.heartbeat(id, { runnerToken: "tok-crash" })).action).toBe("continue");
      expect((await monitor.sweep()).crashed).not.toContain(id);
    }
    const lastBeat = new Date(clock).toISOString();
    advance(0.6);
    expect((await monitor.sweep()).crashed).not.toContain(id);
    advance(0.1);
    const outcome = await monitor.sweep();
    expect(outcome.crashed).toContain(id);
    expect(outcome.rescheduled).not.toContain(id);
    const run = await cp.services.flowRuns.get(id);
    expect(run.state).toMatchObject({ type: "CRASHED" });
    expect(run.state.message).toBe(`the runner stopped heartbeating: no heartbeat since ${lastBeat} (0.7s, more than 3 intervals of 0.2s)`);
    expect(run.error).toEqual({ name: "RunnerLost", message: run.state.message });
  });

  it("re-schedules a crashed run whose flow has retries left and queues it again; the next runner starts it", async () => {
    const id = await runningRun("tok-retry", 1);
    advance(1);
    const outcome = await monitor.sweep();
    expect(outcome.crashed).toContain(id);
    expect(outcome.rescheduled).toContain(id);
    expect(enqueued).toContain(id);
    const history = (await cp.services.flowRuns.history(id)).map((entry) => `${entry.state.type}/${entry.state.name}`);
    expect(history.slice(-2)).toEqual(["CRASHED/Crashed", "SCHEDULED/AwaitingRetry"]);
    const rescheduled = await cp.services.flowRuns.get(id);
    expect(rescheduled.runCount).toBe(1);
    await cp.services.flowRuns.proposeState(id, { state: { type: "PENDING" }, controlPlane: true, claimToken: "tok-retry-2" });
    expect((await cp.services.flowRuns.proposeState(id, { state: { type: "RUNNING" }, runnerToken: "tok-retry-2", retries: 1 })).decision.status).toBe("ACCEPT");
    expect((await cp.services.flowRuns.get(id)).runCount).toBe(2);

    // The second attempt crashes too: no retries are left, so it stays CRASHED.
    advance(1);
    const second = await monitor.sweep();
    expect(second.crashed).toContain(id);
    expect(second.rescheduled).not.toContain(id);
    expect((await stateOf(id)).type).toBe("CRASHED");
  });

  it("does not re-schedule a crashed run whose flow has no retries", async () => {
    const id = await runningRun("tok-noretry", 0);
    advance(1);
    const outcome = await monitor.sweep();
    expect(outcome.crashed).toContain(id);
    expect(outcome.rescheduled).not.toContain(id);
    expect(enqueued).not.toContain(id);
  });

  it("tells a slow runner that reports after its run was crashed to stop, and refuses its RUNNING and COMPLETED", async () => {
    const id = await runningRun("tok-slow", 3);
    advance(1);
    expect((await monitor.sweep()).rescheduled).toContain(id);
    // Another runner claims the re-scheduled run.
    await cp.services.flowRuns.proposeState(id, { state: { type: "PENDING" }, controlPlane: true, claimToken: "tok-fresh" });

    const late = await cp.services.flowRuns.heartbeat(id, { runnerToken: "tok-slow" });
    expect(late.action).toBe("stop");
    for (const type of ["RUNNING", "COMPLETED"] as const) {
      const { decision } = await cp.services.flowRuns.proposeState(id, { state: { type }, runnerToken: "tok-slow" });
      expect(decision).toMatchObject({ status: "REJECT", rule: "claimed-by-another-runner" });
    }
    expect((await stateOf(id)).type).toBe("PENDING");
    expect((await cp.services.flowRuns.proposeState(id, { state: { type: "RUNNING" }, runnerToken: "tok-fresh" })).decision.status).toBe("ACCEPT");
  });

  it("does not crash a run whose runner beats between the monitor's look and its write", async () => {
    const id = await runningRun("tok-race");
    advance(0.2);
    await cp.services.flowRuns.heartbeat(id, { runnerToken: "tok-race" });
    const seen = await cp.store.getFlowRun(id);
    advance(1);
    await cp.services.flowRuns.heartbeat(id, { runnerToken: "tok-race" });

    const { decision } = await cp.services.flowRuns.proposeState(id, {
      state: { type: "CRASHED" },
      runnerToken: "tok-race",
      expectHeartbeatAt: seen!.heartbeatAt!,
    });
    expect(decision).toMatchObject({ status: "REJECT", rule: "runner-heartbeat-moved", state: { type: "RUNNING" } });
    // The store refuses such a write by itself too (the condition holds even when a beat lands after the read).
    const current = (await cp.store.getFlowRun(id))!;
    await expect(
      cp.store.transitionFlowRun(id, current.version, { type: "CRASHED", name: "Crashed", timestamp: new Date(clock).toISOString() }, { expectHeartbeatAt: seen!.heartbeatAt! }),
    ).rejects.toThrow(`flow run ${id} changed since version ${current.version}`);
    expect((await stateOf(id)).type).toBe("RUNNING");
  });

  it("crashes a claimed run whose runner never started within the launch timeout, and hands it out again at most 5 times", async () => {
    const { run } = await cp.services.flowRuns.create({ flowName: "etl", scheduledTime: new Date(clock).toISOString() });
    await cp.services.flowRuns.proposeState(run.id, { state: { type: "PENDING" }, controlPlane: true, claimToken: "tok-never" });
    advance(4);
    expect((await monitor.sweep()).crashed).not.toContain(run.id);
    advance(1.5);
    const first = await monitor.sweep();
    expect(first.crashed).toContain(run.id);
    expect(first.rescheduled).toContain(run.id);
    const crash = (await cp.services.flowRuns.history(run.id)).find((entry) => entry.state.type === "CRASHED");
    expect(crash?.state.message).toMatch(/^the run never started: it was claimed at .* and no runner reported within the launch timeout of 5s$/);

    for (let launch = 2; launch <= 5; launch++) {
      await cp.services.flowRuns.proposeState(run.id, { state: { type: "PENDING" }, controlPlane: true, claimToken: `tok-never-${launch}` });
      advance(6);
      const outcome = await monitor.sweep();
      expect(outcome.crashed).toContain(run.id);
      expect(outcome.rescheduled.includes(run.id)).toBe(launch < 5);
    }
    expect((await stateOf(run.id)).type).toBe("CRASHED");
  });

  it("re-schedules a run whose runner beat while loading the flow and then died, whatever its retries", async () => {
    const { run } = await cp.services.flowRuns.create({ flowName: "etl", scheduledTime: new Date(clock).toISOString() });
    await cp.services.flowRuns.proposeState(run.id, { state: { type: "PENDING" }, controlPlane: true, claimToken: "tok-loading" });
    advance(0.2);
    await cp.services.flowRuns.heartbeat(run.id, { runnerToken: "tok-loading" });
    advance(0.7);
    const outcome = await monitor.sweep();
    expect(outcome.rescheduled).toContain(run.id);
    expect((await stateOf(run.id))).toMatchObject({ type: "SCHEDULED", name: "AwaitingRetry" });
  });

  it("leaves runs no runner claimed alone (a local run recorded in the control plane beats no heartbeat)", async () => {
    const { run } = await cp.services.flowRuns.create({ flowName: "etl", initialState: "PENDING" });
    await cp.services.flowRuns.proposeState(run.id, { state: { type: "RUNNING" } });
    advance(60);
    expect((await monitor.sweep()).crashed).not.toContain(run.id);
    expect((await stateOf(run.id)).type).toBe("RUNNING");
  });
});

describe("a stale listing", () => {
  it("does not take back a run claimed after the listing that found it late", async () => {
    const { run } = await cp.services.flowRuns.create({ flowName: "etl", scheduledTime: new Date(clock - 60_000).toISOString() });
    const stale = await cp.store.listFlowRuns({ stateType: "SCHEDULED" }, { limit: 1_000 });
    expect(stale.items.map((item) => item.id)).toContain(run.id);
    await cp.services.flowRuns.proposeState(run.id, { state: { type: "PENDING" }, controlPlane: true, claimToken: "tok-after-listing" });
    const staleStore: Store = Object.assign(Object.create(cp.store) as Store, {
      listFlowRuns: async (filter: FlowRunFilter) => (filter.stateType === "SCHEDULED" ? stale : { items: [] }),
    });
    const staleMonitor = new RunMonitor({ store: staleStore, flowRuns: cp.services.flowRuns, now: () => clock, timings: TIMINGS, enqueue: async () => {}, stopRunner: async () => false });

    expect((await staleMonitor.sweep()).late).not.toContain(run.id);
    expect(await cp.store.getFlowRun(run.id)).toMatchObject({ state: { type: "PENDING" }, runnerToken: "tok-after-listing" });
  });

  it("does not crash a run that moved on (a transition of its runner) after the listing that found its runner silent", async () => {
    const id = await runningRun("tok-finished");
    advance(1);
    const stale = await cp.store.listFlowRuns({ stateType: "RUNNING" }, { limit: 1_000 });
    await cp.services.flowRuns.proposeState(id, { state: { type: "RUNNING", name: "Retrying" }, runnerToken: "tok-finished" });
    const staleStore: Store = Object.assign(Object.create(cp.store) as Store, {
      listFlowRuns: async (filter: FlowRunFilter) => (filter.stateType === "RUNNING" ? stale : { items: [] }),
    });
    const staleMonitor = new RunMonitor({ store: staleStore, flowRuns: cp.services.flowRuns, now: () => clock, timings: TIMINGS, enqueue: async () => {}, stopRunner: async () => false });

    expect((await staleMonitor.sweep()).crashed).not.toContain(id);
    expect((await stateOf(id)).name).toBe("Retrying");
  });
});

describe("cancellation", () => {
  it("stops a runner that did not stop within the grace period, with the runner info its heartbeats gave, and cancels the run", async () => {
    const id = await runningRun("tok-cancel");
    const runner: RunnerInfo = { kind: "ecs", taskArn: "arn:aws:ecs:us-east-1:123456789012:task/aloft/abc", clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/aloft" };
    await cp.services.flowRuns.heartbeat(id, { runnerToken: "tok-cancel", runner });
    await cp.services.flowRuns.cancel(id);
    advance(29);
    await cp.services.flowRuns.heartbeat(id, { runnerToken: "tok-cancel", runner });
    expect((await monitor.sweep()).cancelled).not.toContain(id);
    advance(1.5);
    const outcome = await monitor.sweep();
    expect(outcome.cancelled).toContain(id);
    expect(outcome.stopped).toContain(id);
    expect(stops.filter((stop) => stop.runner.taskArn === runner.taskArn)).toEqual([
      { runner, reason: `flow run ${id} was cancelled and the runner did not stop within 30s of the cancel request` },
    ]);
    expect(await stateOf(id)).toMatchObject({ type: "CANCELLED", message: "the runner did not stop within 30s of the cancel request, so it was stopped" });
  });

  it("stops the execution of a cancelled Step Functions run at once, and cancels the run after the grace period if the mirror never does", async () => {
    const stateMachineArn = "arn:aws:states:us-east-1:123456789012:stateMachine:aloft-dev_etl";
    await cp.services.deployments.create({ name: "etl-sfn", flowName: "etl", engine: "step-functions", stateMachineArn });
    const executionStops: Array<{ stateMachineArn: string; runId: string; reason: string }> = [];
    const sfnMonitor = new RunMonitor({
      store: cp.store,
      flowRuns: cp.services.flowRuns,
      now: () => clock,
      timings: TIMINGS,
      enqueue: async () => {},
      stopRunner: async () => false,
      stateMachines: { stop: async (request) => (executionStops.push(request), true) },
    });
    const { run } = await cp.services.deployments.run("etl-sfn", {});
    // Claimed without a token (no runner beats for it) and started by the mirror.
    await cp.services.flowRuns.proposeState(run.id, { state: { type: "PENDING" }, controlPlane: true });
    await cp.services.flowRuns.proposeState(run.id, { state: { type: "RUNNING" }, controlPlane: true });
    await cp.services.flowRuns.cancel(run.id);

    const first = await sfnMonitor.sweep();
    expect(first.stopped).toContain(run.id);
    expect(executionStops.filter((stop) => stop.runId === run.id)).toEqual([{ stateMachineArn, runId: run.id, reason: `flow run ${run.id} was cancelled` }]);
    expect((await stateOf(run.id)).type).toBe("CANCELLING");

    advance(31);
    expect((await sfnMonitor.sweep()).cancelled).toContain(run.id);
    expect((await stateOf(run.id)).type).toBe("CANCELLED");
  });

  it("lets a runner that stops in time cancel the run itself, and stops nothing", async () => {
    const id = await runningRun("tok-polite");
    await cp.services.flowRuns.cancel(id);
    expect((await cp.services.flowRuns.heartbeat(id, { runnerToken: "tok-polite" })).action).toBe("cancel");
    expect((await cp.services.flowRuns.proposeState(id, { state: { type: "CANCELLED" }, runnerToken: "tok-polite" })).decision.status).toBe("ACCEPT");
    advance(60);
    expect((await monitor.sweep()).cancelled).not.toContain(id);
    expect(stops.some((stop) => stop.reason.includes(id))).toBe(false);
  });
});
