import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { handler, monitorFromEnvironment } from "../../../lambdas/handlers/monitor.js";
import { startWorkerPlane, type WorkerPlane } from "./workerPlane.js";

let plane: WorkerPlane;

beforeAll(async () => {
  plane = await startWorkerPlane();
  for (const [name, value] of Object.entries(plane.env)) vi.stubEnv(name, value);
  await plane.services.deployments.create({ name: "etl", flowName: "etl", bundleId: "etl-1" });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await plane?.dispose();
});

const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();

describe("monitor function", () => {
  it("marks overdue SCHEDULED runs Late, keeps their due time, and queues the deployment runs again", async () => {
    const missed = (await plane.services.deployments.run("etl", { scheduledTime: ago(60) })).run;
    const adHoc = (await plane.services.flowRuns.create({ flowName: "report", scheduledTime: ago(60) })).run;
    const justDue = (await plane.services.deployments.run("etl", { scheduledTime: ago(5) })).run;
    const future = (await plane.services.deployments.run("etl", { scheduledTime: ago(-3600) })).run;
    const claimed = (await plane.services.deployments.run("etl", { scheduledTime: ago(60) })).run;
    await plane.services.flowRuns.proposeState(claimed.id, { state: { type: "PENDING" } });

    const outcome = await handler({ "detail-type": "Scheduled Event", source: "aws.events" });

    expect(new Set(outcome.late)).toEqual(new Set([missed.id, adHoc.id]));
    expect(outcome.requeued).toEqual([missed.id]);
    expect(await plane.drain()).toEqual([{ runId: missed.id }]);
    const late = await plane.services.flowRuns.get(missed.id);
    expect(late.state).toMatchObject({ type: "SCHEDULED", name: "Late" });
    expect(late.scheduledTime).toBe(missed.scheduledTime);
    expect(late.transitionIds).toContain(`late:${missed.id}:${missed.version}`);
    for (const untouched of [justDue, future]) expect((await plane.services.flowRuns.get(untouched.id)).state.name).toBe("Scheduled");
    expect((await plane.services.flowRuns.get(claimed.id)).state.type).toBe("PENDING");
  });

  it("marks a run Late and queues it once, however many sweeps see it", async () => {
    const missed = (await plane.services.deployments.run("etl", { scheduledTime: ago(120) })).run;

    const first = await handler();
    const second = await handler();

    expect(first.late).toContain(missed.id);
    expect(second.late).toEqual([]);
    expect(second.requeued).toEqual([]);
    expect((await plane.drain()).filter((message) => message.runId === missed.id)).toHaveLength(1);
    const history = await plane.services.flowRuns.history(missed.id);
    expect(history.filter((entry) => entry.state.name === "Late")).toHaveLength(1);
  });

  it("names the missing variable when the environment is incomplete", () => {
    expect(() => monitorFromEnvironment({ ALOFT_WORK_QUEUE_URL: "https://sqs" })).toThrow(
      "ALOFT_TABLE_NAME is not set: this function needs the name of the control plane's DynamoDB table",
    );
  });
});
