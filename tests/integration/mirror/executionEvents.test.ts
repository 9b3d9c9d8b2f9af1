import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { handler, statusChangesFromLogs } from "../../../lambdas/handlers/mirror.js";
import { startWorkerPlane, type WorkerPlane } from "../../unit/handlers/workerPlane.js";

/** Events as AWS delivers them (tests/fixtures/stepfunctions), for the execution named after `runId`. */
function fixture(name: string, runId: string): Record<string, unknown> {
  const text = readFileSync(new URL(`../../fixtures/stepfunctions/${name}.json`, import.meta.url), "utf8");
  return JSON.parse(text.replaceAll("OTHER_RUN_ID", "not-an-aloft-run").replaceAll("RUN_ID", runId)) as Record<string, unknown>;
}

/** A CloudWatch Logs subscription delivery of some of the fixture's log events (gzipped, base64). */
function logsDelivery(runId: string, pick: (message: { type: string }) => boolean = () => true): { awslogs: { data: string } } {
  const batch = fixture("express-execution-logs", runId) as { logEvents: { message: string }[] };
  const logEvents = batch.logEvents.filter((logEvent) => pick(JSON.parse(logEvent.message) as { type: string }));
  return { awslogs: { data: gzipSync(JSON.stringify({ ...batch, logEvents })).toString("base64") } };
}

let plane: WorkerPlane;

beforeAll(async () => {
  plane = await startWorkerPlane();
  for (const [name, value] of Object.entries(plane.env)) vi.stubEnv(name, value);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await plane?.dispose();
});

/** A run the dispatcher has claimed (PENDING) and started as an execution. */
async function startedRun(): Promise<string> {
  return (await plane.services.flowRuns.create({ flowName: "etl", initialState: "PENDING" })).run.id;
}

async function historyOf(runId: string): Promise<string[]> {
  return (await plane.services.flowRuns.history(runId)).map((entry) => `${entry.state.type}${entry.state.name ? `/${entry.state.name}` : ""}`);
}

describe("mirror, Standard executions (EventBridge status changes)", () => {
  it("follows an execution from RUNNING to COMPLETED, with its output as the run's result", async () => {
    const runId = await startedRun();

    await handler(fixture("execution-running", runId));
    await handler(fixture("execution-succeeded", runId));

    expect(await plane.services.flowRuns.get(runId)).toMatchObject({ state: { type: "COMPLETED" }, result: { rows: 11, files: ["a.csv", "b.csv"] } });
    expect(await historyOf(runId)).toEqual(["PENDING/Pending", "RUNNING/Running", "COMPLETED/Completed"]);
  });

  it("writes each transition once when every event is delivered twice, duplicates interleaved", async () => {
    const runId = await startedRun();
    const running = fixture("execution-running", runId);
    const succeeded = fixture("execution-succeeded", runId);

    const outcomes = [await handler(running), await handler(succeeded), await handler(running), await handler(succeeded)];

    expect(outcomes).toEqual([
      { action: "applied", state: "RUNNING" },
      { action: "applied", state: "COMPLETED" },
      { action: "duplicate", state: "COMPLETED" },
      { action: "duplicate", state: "COMPLETED" },
    ]);
    expect(await historyOf(runId)).toEqual(["PENDING/Pending", "RUNNING/Running", "COMPLETED/Completed"]);
  });

  it("completes a run whose SUCCEEDED arrives before its RUNNING, and the late RUNNING changes nothing", async () => {
    const runId = await startedRun();

    await handler(fixture("execution-succeeded", runId));
    const late = await handler(fixture("execution-running", runId));

    expect(late).toMatchObject({ action: "refused", decision: "REJECT" });
    expect(await plane.services.flowRuns.get(runId)).toMatchObject({ state: { type: "COMPLETED" }, result: { rows: 11, files: ["a.csv", "b.csv"] } });
    expect(await historyOf(runId)).toEqual(["PENDING/Pending", "COMPLETED/Completed"]);
  });

  it("keeps the first terminal state when a conflicting one arrives later", async () => {
    const runId = await startedRun();

    await handler(fixture("execution-succeeded", runId));
    const failed = await handler(fixture("execution-failed-task", runId));

    expect(failed).toMatchObject({ action: "refused" });
    expect((await plane.services.flowRuns.get(runId)).state.type).toBe("COMPLETED");
  });

  it("fails the run with the task's error name and the message the task threw, not the Lambda's JSON", async () => {
    const runId = await startedRun();

    await handler(fixture("execution-running", runId));
    await handler(fixture("execution-failed-task", runId));

    expect(await plane.services.flowRuns.get(runId)).toMatchObject({
      state: { type: "FAILED", name: "Failed" },
      error: { name: "Aloft.TaskFailed", message: "extract: connection refused (db.internal:5432)" },
    });
  });

  it("fails the run as TimedOut when a state timed out (States.Timeout) or the execution did (TIMED_OUT)", async () => {
    const stateTimeout = await startedRun();
    const executionTimeout = await startedRun();

    await handler(fixture("execution-failed-timeout", stateTimeout));
    await handler(fixture("execution-timed-out", executionTimeout));

    expect(await plane.services.flowRuns.get(stateTimeout)).toMatchObject({
      state: { type: "FAILED", name: "TimedOut", message: "a state of the Step Functions execution timed out (States.Timeout)" },
      error: { name: "States.Timeout", message: "State 'train' has timed out" },
    });
    expect(await plane.services.flowRuns.get(executionTimeout)).toMatchObject({
      state: { type: "FAILED", name: "TimedOut" },
      error: { name: "States.Timeout", message: "the Step Functions execution timed out" },
    });
  });

  it("cancels a run whose execution was stopped while it was CANCELLING", async () => {
    const runId = await startedRun();
    await handler(fixture("execution-running", runId));
    await plane.services.flowRuns.proposeState(runId, { state: { type: "CANCELLING" } });

    await handler(fixture("execution-aborted", runId));

    expect((await plane.services.flowRuns.get(runId)).state.type).toBe("CANCELLED");
  });
});

describe("mirror, Express executions (the state machines' log group, by subscription)", () => {
  it("reads only the execution status records of Express executions from a delivery", () => {
    const changes = statusChangesFromLogs(logsDelivery("run-1").awslogs.data);

    expect(changes).toEqual([
      {
        executionArn: "arn:aws:states:eu-west-1:123456789012:express:aloft-prod_quick-report:run-1:8d3f0c1e-2b4a-4c6d-9e8f-7a6b5c4d3e2f",
        name: "run-1",
        status: "RUNNING",
      },
      {
        executionArn: "arn:aws:states:eu-west-1:123456789012:express:aloft-prod_quick-report:run-1:8d3f0c1e-2b4a-4c6d-9e8f-7a6b5c4d3e2f",
        name: "run-1",
        status: "SUCCEEDED",
        output: '"report.pdf"',
        outputDetails: { truncated: false },
      },
    ]);
  });

  it("follows an Express execution to COMPLETED with its output, once, however often the delivery comes", async () => {
    const runId = await startedRun();
    const delivery = logsDelivery(runId);

    const first = await handler(delivery);
    const again = await handler(delivery);

    expect(first).toEqual([
      { action: "applied", state: "RUNNING" },
      { action: "applied", state: "COMPLETED" },
    ]);
    expect(again).toEqual([
      { action: "duplicate", state: "COMPLETED" },
      { action: "duplicate", state: "COMPLETED" },
    ]);
    expect(await plane.services.flowRuns.get(runId)).toMatchObject({ state: { type: "COMPLETED" }, result: "report.pdf" });
    expect(await historyOf(runId)).toEqual(["PENDING/Pending", "RUNNING/Running", "COMPLETED/Completed"]);
  });

  it("leaves an Express run COMPLETED when its ExecutionStarted record comes in a later delivery", async () => {
    const runId = await startedRun();

    await handler(logsDelivery(runId, (record) => record.type === "ExecutionSucceeded"));
    await handler(logsDelivery(runId, (record) => record.type === "ExecutionStarted"));

    expect((await plane.services.flowRuns.get(runId)).state.type).toBe("COMPLETED");
    expect(await historyOf(runId)).toEqual(["PENDING/Pending", "COMPLETED/Completed"]);
  });
});
