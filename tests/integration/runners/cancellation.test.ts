import { mkdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PoolRunResult } from "../../../sdk/runner/runnerPool.js";
import { startWorker } from "../../../sdk/runner/worker.js";
import { startRunnersPlane, type RunnersPlane } from "./runnersPlane.js";

let plane: RunnersPlane;

beforeAll(async () => {
  plane = await startRunnersPlane({ heartbeatSeconds: 0.5, cancelGraceSeconds: 1 });
  await mkdir(plane.effects, { recursive: true });
});
afterAll(() => plane?.dispose());

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("cancelling a run on a local runner", () => {
  it("aborts the flow's signal on the runner's next heartbeat and ends the run CANCELLED", async () => {
    const [id] = await plane.queueRuns("cancel-me", "untilCancelled", 1);
    const results = new Map<string, PoolRunResult>();
    const worker = startWorker({ pool: "local", runners: plane.launcher(1), client: plane.client, claimWaitSeconds: 1, onRun: (job, result) => results.set(job.runId, result) });
    try {
      await until(async () => (await plane.client.flowRuns.get(id!)).state.type === "RUNNING", "the run to start");
      await plane.client.flowRuns.cancel(id!);
      await until(async () => results.has(id!), "the runner to finish the run");
    } finally {
      await worker.stop();
    }
    expect(results.get(id!)).toMatchObject({ action: "ran", state: { type: "CANCELLED" } });
    expect((await plane.client.flowRuns.history(id!)).map((entry) => entry.state.type)).toEqual(["SCHEDULED", "PENDING", "RUNNING", "CANCELLING", "CANCELLED"]);
  });

  it("kills a runner that does not stop within the grace period, and the run becomes CANCELLED", async () => {
    const [id] = await plane.queueRuns("stubborn", "stubborn", 1);
    const launcher = plane.launcher(1);
    const results = new Map<string, PoolRunResult>();
    const worker = startWorker({ pool: "local", runners: launcher, client: plane.client, claimWaitSeconds: 1, onRun: (job, result) => results.set(job.runId, result) });
    try {
      await until(async () => (await plane.client.flowRuns.get(id!)).state.type === "RUNNING", "the run to start");
      const [pid] = launcher.pool.busyPids();
      await plane.client.flowRuns.cancel(id!);
      await until(async () => results.has(id!), "the runner to be stopped");
      expect(results.get(id!)).toEqual({ action: "lost", reason: `runner process ${pid} was killed (SIGKILL)` });
    } finally {
      await worker.stop();
    }
    const run = await plane.client.flowRuns.get(id!);
    expect(run.state.type).toBe("CANCELLED");
    expect(run.state.message).toMatch(/did not stop within 1s of the cancel request, so it was stopped/);
  });
});
