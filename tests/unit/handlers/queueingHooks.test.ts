import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceDeps } from "../../../lambdas/services/context.js";
import { queueingHooks } from "../../../lambdas/services/dispatch.js";
import { createServices, type Services } from "../../../lambdas/services/index.js";
import { startWorkerPlane, type WorkerPlane } from "./workerPlane.js";

/** What the API function composes with ALOFT_WORK_QUEUE_URL: deployment runs reach the SQS work queue as soon as they exist. */
let plane: WorkerPlane;
let services: Services;
const now = Date.parse("2026-11-22T10:00:00.000Z");

beforeAll(async () => {
  plane = await startWorkerPlane();
  const deps = serviceDeps(plane.store, undefined, queueingHooks(plane.queue, () => now));
  deps.now = () => now;
  services = createServices(deps);
  await services.deployments.create({ name: "etl", flowName: "etl", bundleId: "etl-1" });
});

afterAll(async () => plane?.dispose());

describe("queueingHooks", () => {
  it("sends a new deployment run to the work queue, held back until it is due", async () => {
    plane.sent.length = 0;
    const due = (await services.deployments.run("etl", {})).run;
    const later = (await services.deployments.run("etl", { scheduledTime: new Date(now + 120_000).toISOString() })).run;
    expect(plane.sent).toEqual([
      { QueueUrl: plane.queueUrl, MessageBody: JSON.stringify({ runId: due.id }) },
      { QueueUrl: plane.queueUrl, MessageBody: JSON.stringify({ runId: later.id }), DelaySeconds: 120 },
    ]);
  });

  it("sends nothing for a repeated create with the same idempotency key, nor for a run outside deployments", async () => {
    await services.deployments.run("etl", { idempotencyKey: "nightly-1" });
    plane.sent.length = 0;
    await services.deployments.run("etl", { idempotencyKey: "nightly-1" });
    await services.flowRuns.create({ flowName: "adhoc" });
    expect(plane.sent).toEqual([]);
  });

  it("sends a deployment run again when a user retries it", async () => {
    const { run } = await services.deployments.run("etl", {});
    await services.flowRuns.proposeState(run.id, { state: { type: "PENDING" }, controlPlane: true, claimToken: "tok" });
    await services.flowRuns.proposeState(run.id, { state: { type: "RUNNING" }, runnerToken: "tok" });
    await services.flowRuns.proposeState(run.id, { state: { type: "FAILED" }, runnerToken: "tok" });
    plane.sent.length = 0;

    await services.flowRuns.retry(run.id);

    expect(plane.sent).toEqual([{ QueueUrl: plane.queueUrl, MessageBody: JSON.stringify({ runId: run.id }) }]);
  });
});
