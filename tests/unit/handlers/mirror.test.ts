import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { PayloadRef } from "../../../lambdas/store/records.js";
import { handler, mirrorFromEnvironment } from "../../../lambdas/handlers/mirror.js";
import { startWorkerPlane, type WorkerPlane } from "./workerPlane.js";

let plane: WorkerPlane;
const STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:etl";

beforeAll(async () => {
  plane = await startWorkerPlane();
  for (const [name, value] of Object.entries(plane.env)) vi.stubEnv(name, value);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await plane?.dispose();
});

/** An EventBridge "Step Functions Execution Status Change" event as AWS sends it. */
function statusChange(name: string, status: string, extra: Record<string, unknown> = {}) {
  const executionArn = `arn:aws:states:us-east-1:123456789012:execution:etl:${name}`;
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Step Functions Execution Status Change",
    source: "aws.states",
    account: "123456789012",
    time: new Date().toISOString(),
    region: "us-east-1",
    resources: [executionArn],
    detail: {
      executionArn,
      stateMachineArn: STATE_MACHINE,
      name,
      status,
      startDate: Date.now(),
      stopDate: status === "RUNNING" ? null : Date.now(),
      input: "{}",
      inputDetails: { included: true },
      output: null,
      outputDetails: null,
      error: null,
      cause: null,
      ...extra,
    },
  };
}

async function runningRun(): Promise<string> {
  const { run } = await plane.services.flowRuns.create({ flowName: "etl", initialState: "PENDING" });
  await handler(statusChange(run.id, "RUNNING"));
  return run.id;
}

describe("mirror function", () => {
  it("mirrors RUNNING onto the run named after the execution", async () => {
    const { run } = await plane.services.flowRuns.create({ flowName: "etl", initialState: "PENDING" });

    const outcome = await handler(statusChange(run.id, "RUNNING"));

    expect(outcome).toEqual({ action: "applied", state: "RUNNING" });
    expect((await plane.services.flowRuns.get(run.id)).state).toMatchObject({ type: "RUNNING", name: "Running" });
  });

  it("mirrors SUCCEEDED as COMPLETED with the parsed output as the result", async () => {
    const runId = await runningRun();

    await handler(statusChange(runId, "SUCCEEDED", { output: JSON.stringify({ rows: 11 }), outputDetails: { included: true } }));

    expect(await plane.services.flowRuns.get(runId)).toMatchObject({ state: { type: "COMPLETED" }, result: { rows: 11 } });
  });

  it("stores a result over 64 KB by reference in the payload bucket", async () => {
    const runId = await runningRun();
    const big = { text: "x".repeat(70_000) };

    await handler(statusChange(runId, "SUCCEEDED", { output: JSON.stringify(big) }));

    const stored = await plane.store.getFlowRun(runId);
    expect(stored?.result).toEqual(new PayloadRef(expect.stringMatching(new RegExp(`^runs/${runId}/result/`)) as unknown as string, JSON.stringify(big).length));
    expect((await plane.services.flowRuns.get(runId)).result).toEqual(big);
  });

  it("mirrors FAILED with the execution's error and cause", async () => {
    const runId = await runningRun();

    await handler(statusChange(runId, "FAILED", { error: "States.TaskFailed", cause: "extract: connection refused" }));

    expect(await plane.services.flowRuns.get(runId)).toMatchObject({
      state: { type: "FAILED", name: "Failed" },
      error: { name: "States.TaskFailed", message: "extract: connection refused" },
    });
  });

  it("mirrors TIMED_OUT as FAILED named TimedOut", async () => {
    const runId = await runningRun();

    await handler(statusChange(runId, "TIMED_OUT"));

    expect(await plane.services.flowRuns.get(runId)).toMatchObject({
      state: { type: "FAILED", name: "TimedOut" },
      error: { name: "States.Timeout", message: "the Step Functions execution timed out" },
    });
  });

  it("mirrors ABORTED as CANCELLED", async () => {
    const runId = await runningRun();

    await handler(statusChange(runId, "ABORTED"));

    expect((await plane.services.flowRuns.get(runId)).state.type).toBe("CANCELLED");
  });

  it("writes a redelivered event once", async () => {
    const runId = await runningRun();
    const event = statusChange(runId, "SUCCEEDED", { output: "42" });

    await handler(event);
    const again = await handler(event);

    expect(again).toEqual({ action: "duplicate", state: "COMPLETED" });
    const history = await plane.services.flowRuns.history(runId);
    expect(history.map((entry) => entry.state.type)).toEqual(["PENDING", "RUNNING", "COMPLETED"]);
  });

  it("refuses a RUNNING event that arrives after the run completed, leaving the run COMPLETED", async () => {
    const { run } = await plane.services.flowRuns.create({ flowName: "etl", initialState: "PENDING" });

    await handler(statusChange(run.id, "SUCCEEDED", { output: "true" }));
    const late = await handler(statusChange(run.id, "RUNNING"));

    expect(late).toMatchObject({ action: "refused", decision: "REJECT" });
    expect(await plane.services.flowRuns.get(run.id)).toMatchObject({ state: { type: "COMPLETED" }, result: true });
  });

  it("ignores an execution that no flow run is named after", async () => {
    const outcome = await handler(statusChange("not-an-aloft-run", "SUCCEEDED", { output: JSON.stringify({ text: "y".repeat(70_000) }) }));

    expect(outcome).toEqual({ action: "ignored", reason: "no flow run is named after execution arn:aws:states:us-east-1:123456789012:execution:etl:not-an-aloft-run" });
    expect(await plane.store.getFlowRun("not-an-aloft-run")).toBeUndefined();
  });

  it("refuses an event that is not a status change, naming the missing fields", async () => {
    await expect(handler({ source: "aws.states", detail: { name: "x" } })).rejects.toThrow(
      /^invalid Step Functions status change event \(detail\.executionArn: .*; detail\.status: /,
    );
  });

  it("names the missing variable when the environment is incomplete", () => {
    expect(() => mirrorFromEnvironment({ ALOFT_TABLE_NAME: "aloft" })).toThrow(
      "ALOFT_PAYLOAD_BUCKET is not set: this function needs the bucket for values over 64 KB",
    );
  });
});
