import { randomUUID } from "node:crypto";
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { handler, type SqsRecord } from "../../../lambdas/handlers/dispatcher.js";
import { startWorkerPlane, type WorkerPlane } from "./workerPlane.js";

const RUNNER = {
  ALOFT_RUNNER_FUNCTION: "aloft-runner",
  ALOFT_CLUSTER_ARN: "arn:aws:ecs:us-east-1:123456789012:cluster/aloft",
  ALOFT_RUNNER_TASK_DEFINITION: "arn:aws:ecs:us-east-1:123456789012:task-definition/aloft-runner:3",
  ALOFT_RUNNER_SUBNETS: "subnet-aaa",
  ALOFT_RUNNER_SECURITY_GROUP: "sg-123",
};
const STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:aloft-dev-etl-sfn";

const sfn = mockClient(SFNClient);
const lambda = mockClient(LambdaClient);
let plane: WorkerPlane;

beforeAll(async () => {
  plane = await startWorkerPlane();
  for (const [name, value] of Object.entries({ ...plane.env, ...RUNNER })) vi.stubEnv(name, value);
  await plane.services.deployments.create({ name: "etl-sfn", flowName: "etl", bundleId: "etl-1", engine: "step-functions", stateMachineArn: STATE_MACHINE });
  await plane.services.deployments.create({ name: "etl-sfn-undeployed", flowName: "etl", bundleId: "etl-1", engine: "step-functions" });
});

beforeEach(() => {
  sfn.reset();
  lambda.reset();
  sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({ executionArn: executionArn(input.name), startDate: new Date() }));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  sfn.restore();
  lambda.restore();
  await plane?.dispose();
});

function executionArn(runId: string): string {
  return `arn:aws:states:us-east-1:123456789012:execution:aloft-dev-etl-sfn:${runId}`;
}

function record(runId: string, messageId: string = randomUUID()): SqsRecord {
  return { messageId, body: JSON.stringify({ runId }), attributes: { ApproximateReceiveCount: "1" } };
}

async function dueRun(deployment: string, parameters: Record<string, unknown> = {}): Promise<string> {
  return (await plane.services.deployments.run(deployment, { parameters })).run.id;
}

describe("dispatcher function, step-functions deployments", () => {
  it("claims the run and starts one execution of the deployment's state machine, named after the run, with its parameters", async () => {
    const runId = await dueRun("etl-sfn", { day: "2026-11-01", limit: 3 });

    const response = await handler({ Records: [record(runId)] });

    expect(response).toEqual({ batchItemFailures: [] });
    expect(sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input)).toEqual([
      { stateMachineArn: STATE_MACHINE, name: runId, input: JSON.stringify({ params: { day: "2026-11-01", limit: 3 } }) },
    ]);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect((await plane.services.flowRuns.get(runId)).state.type).toBe("PENDING");
  });

  it("passes parameters over 64 KB, stored in the payload bucket, as the execution input", async () => {
    const text = "p".repeat(70_000);
    const runId = await dueRun("etl-sfn", { text });

    await handler({ Records: [record(runId)] });

    expect(sfn.commandCalls(StartExecutionCommand).map((call) => JSON.parse(call.args[0].input.input!) as unknown)).toEqual([{ params: { text } }]);
  });

  it("starts one execution when the same message is delivered twice", async () => {
    const runId = await dueRun("etl-sfn");
    const messageId = randomUUID();

    await handler({ Records: [record(runId, messageId)] });
    await handler({ Records: [record(runId, messageId)] });

    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it("treats ExecutionAlreadyExists as the run's execution started by an earlier attempt", async () => {
    const runId = await dueRun("etl-sfn");
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: `Execution Already Exists: '${executionArn(runId)}'`, $metadata: {} }));

    const response = await handler({ Records: [record(runId)] });

    expect(response).toEqual({ batchItemFailures: [] });
    expect((await plane.services.flowRuns.get(runId)).state.type).toBe("PENDING");
  });

  it("puts the run back to SCHEDULED and fails the delivery when Step Functions refuses the start", async () => {
    const runId = await dueRun("etl-sfn");
    const messageId = randomUUID();
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));

    const response = await handler({ Records: [record(runId, messageId)] });

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: messageId }] });
    expect((await plane.services.flowRuns.get(runId)).state).toMatchObject({
      type: "SCHEDULED",
      name: "AwaitingRetry",
      message: `could not start the Step Functions execution for flow run ${runId}: Rate exceeded`,
    });
  });

  it("fails a run of a step-functions deployment that has no state machine, saying how to deploy one", async () => {
    const runId = await dueRun("etl-sfn-undeployed");

    const response = await handler({ Records: [record(runId)] });

    expect(response).toEqual({ batchItemFailures: [] });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    const reason = 'deployment etl-sfn-undeployed has engine "step-functions" but no state machine: deploy it with the CDK FlowBundle construct';
    expect(await plane.services.flowRuns.get(runId)).toMatchObject({
      state: { type: "FAILED", message: reason },
      error: { name: "StateMachineUnavailable", message: reason },
    });
  });
});
