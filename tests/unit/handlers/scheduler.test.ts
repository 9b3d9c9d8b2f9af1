import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { handler, schedulerFromEnvironment } from "../../../lambdas/handlers/scheduler.js";
import { ScheduleService } from "../../../lambdas/services/scheduling.js";
import { startWorkerPlane, type WorkerPlane } from "./workerPlane.js";

let plane: WorkerPlane;
const NOW = Date.parse("2026-11-01T10:00:00.000Z");

beforeAll(async () => {
  plane = await startWorkerPlane();
  for (const [name, value] of Object.entries(plane.env)) vi.stubEnv(name, value);
  await plane.services.deployments.create({ name: "nightly-etl", flowName: "etl", bundleId: "etl-1", parameters: { full: false, day: "any" } });
  await plane.services.deployments.create({ name: "paused-etl", flowName: "etl", bundleId: "etl-1", paused: true });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await plane?.dispose();
});

describe("scheduler function", () => {
  it("creates a SCHEDULED run of the deployment for the firing and queues it for dispatch", async () => {
    const due = new Date(Date.now() - 1_000).toISOString();
    const result = await handler({ deployment: "nightly-etl", parameters: { full: true }, scheduledTime: due });

    expect(result).toMatchObject({ status: "created" });
    const runId = (result as { runId: string }).runId;
    const run = await plane.services.flowRuns.get(runId);
    expect(run).toMatchObject({ flowName: "etl", state: { type: "SCHEDULED" }, scheduledTime: due, parameters: { full: true, day: "any" } });
    expect(await plane.drain()).toEqual([{ runId }]);
  });

  it("makes one run and sends one message when the same firing is delivered twice", async () => {
    const firing = { deployment: "nightly-etl", scheduledTime: "2026-01-01T02:00:00Z" };

    const first = await handler(firing);
    const second = await handler(firing);

    expect(first).toMatchObject({ status: "created" });
    expect(second).toEqual({ status: "existing", runId: (first as { runId: string }).runId });
    const runs = await plane.services.flowRuns.list({ deploymentId: (await plane.services.deployments.get("nightly-etl")).id }, { limit: 100 });
    expect(runs.items.filter((run) => run.scheduledTime === "2026-01-01T02:00:00.000Z")).toHaveLength(1);
    expect(await plane.drain()).toEqual([{ runId: (first as { runId: string }).runId }]);
  });

  it("holds the message back until the run is due", async () => {
    const result = await handler({ deployment: "nightly-etl", scheduledTime: new Date(Date.now() + 120_000).toISOString() });

    expect(result).toMatchObject({ status: "created" });
    expect((result as { delaySeconds: number }).delaySeconds).toBeGreaterThan(100);
    expect(await plane.drain()).toEqual([]);
    expect(await plane.delayedCount()).toBe(1);
  });

  it("takes the due time of an EventBridge event from its time", async () => {
    const result = await handler({ time: "2026-02-01T00:00:00Z", detail: { deployment: "nightly-etl" } });

    const run = await plane.services.flowRuns.get((result as { runId: string }).runId);
    expect(run.scheduledTime).toBe("2026-02-01T00:00:00.000Z");
    await plane.drain();
  });

  it("skips a paused deployment's firing without creating a run", async () => {
    const result = await handler({ deployment: "paused-etl", scheduledTime: "2026-01-01T00:00:00Z" });

    expect(result).toEqual({ status: "skipped", reason: 'deployment "paused-etl" is paused; resume it to create runs' });
  });

  it("refuses an event without a due time, naming the missing field", async () => {
    await expect(handler({ deployment: "nightly-etl" })).rejects.toThrow(
      'invalid schedule event: scheduledTime is missing (set it to "<aws.scheduler.scheduled-time>" in the schedule\'s input)',
    );
    await expect(handler({ deployment: "", scheduledTime: "yesterday" })).rejects.toThrow(/^invalid schedule event \(deployment: .*; scheduledTime: /);
  });

  it("names the missing variable when the environment is incomplete", () => {
    expect(() => schedulerFromEnvironment({ ALOFT_TABLE_NAME: "aloft" })).toThrow(
      "ALOFT_WORK_QUEUE_URL is not set: this function needs the URL of the SQS work queue",
    );
  });
});

describe("ScheduleService", () => {
  it("delays the message by the seconds until the run is due, at most 900", async () => {
    const schedules = new ScheduleService({ deployments: plane.services.deployments, queue: plane.queue, now: () => NOW });
    plane.sent.length = 0;

    const soon = await schedules.fire({ deployment: "nightly-etl", scheduledTime: "2026-11-01T10:05:00.000Z" });
    const later = await schedules.fire({ deployment: "nightly-etl", scheduledTime: "2026-11-01T12:00:00.000Z" });

    expect([soon.delaySeconds, later.delaySeconds]).toEqual([300, 900]);
    expect(plane.sent).toEqual([
      { QueueUrl: plane.queueUrl, MessageBody: JSON.stringify({ runId: soon.run.id }), DelaySeconds: 300 },
      { QueueUrl: plane.queueUrl, MessageBody: JSON.stringify({ runId: later.run.id }), DelaySeconds: 900 },
    ]);
  });
});
