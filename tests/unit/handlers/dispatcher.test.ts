import { randomUUID } from "node:crypto";
import { ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { EcsComputeLauncher, RUNNER_CONTAINER_NAME } from "../../../lambdas/adapters/ecsLauncher.js";
import { LambdaComputeLauncher } from "../../../lambdas/adapters/lambdaLauncher.js";
import { dispatcherFromEnvironment, handler, type SqsRecord } from "../../../lambdas/handlers/dispatcher.js";
import { DispatchService } from "../../../lambdas/services/dispatch.js";
import { startWorkerPlane, type WorkerPlane } from "./workerPlane.js";

const RUNNER = {
  ALOFT_RUNNER_FUNCTION: "aloft-runner",
  ALOFT_CLUSTER_ARN: "arn:aws:ecs:us-east-1:123456789012:cluster/aloft",
  ALOFT_RUNNER_TASK_DEFINITION: "arn:aws:ecs:us-east-1:123456789012:task-definition/aloft-runner:3",
  ALOFT_RUNNER_SUBNETS: "subnet-aaa, subnet-bbb",
  ALOFT_RUNNER_SECURITY_GROUP: "sg-123",
};

const lambda = mockClient(LambdaClient);
const ecs = mockClient(ECSClient);
let plane: WorkerPlane;

beforeAll(async () => {
  plane = await startWorkerPlane();
  for (const [name, value] of Object.entries({ ...plane.env, ...RUNNER })) vi.stubEnv(name, value);
  await plane.services.deployments.create({ name: "etl", flowName: "etl", bundleId: "etl-1" });
  await plane.services.workPools.create({ name: "fargate-arm", type: "fargate" });
  await plane.services.deployments.create({ name: "etl-fargate", flowName: "etl", bundleId: "etl-1", workPool: "fargate-arm" });
});

beforeEach(() => {
  lambda.reset();
  ecs.reset();
  lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
  ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: "arn:aws:ecs:us-east-1:123456789012:task/aloft/1" }], failures: [] });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  lambda.restore();
  ecs.restore();
  await plane?.dispose();
});

function record(runId: string, options: { messageId?: string; receiveCount?: number; body?: string } = {}): SqsRecord & Record<string, unknown> {
  return {
    messageId: options.messageId ?? randomUUID(),
    receiptHandle: randomUUID(),
    body: options.body ?? JSON.stringify({ runId }),
    attributes: { ApproximateReceiveCount: String(options.receiveCount ?? 1) },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:aloft-work",
    awsRegion: "us-east-1",
  };
}

async function dueRun(deployment: string): Promise<string> {
  return (await plane.services.deployments.run(deployment, {})).run.id;
}

async function tokenOf(runId: string): Promise<string | undefined> {
  return (await plane.store.getFlowRun(runId))?.runnerToken;
}

function invokedRunIds(): string[] {
  return lambda.commandCalls(InvokeCommand).map((call) => (JSON.parse(new TextDecoder().decode(call.args[0].input.Payload as Uint8Array)) as { runId: string }).runId);
}

describe("dispatcher function", () => {
  it("claims a due run and invokes the runner Lambda asynchronously with its id and the claim's runner token", async () => {
    const runId = await dueRun("etl");

    const response = await handler({ Records: [record(runId)] });

    expect(response).toEqual({ batchItemFailures: [] });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    const runnerToken = await tokenOf(runId);
    expect(runnerToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect({ ...input, Payload: new TextDecoder().decode(input.Payload as Uint8Array) }).toEqual({
      FunctionName: "aloft-runner",
      InvocationType: "Event",
      Payload: JSON.stringify({ runId, runnerToken }),
    });
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
    expect((await plane.services.flowRuns.get(runId)).state.type).toBe("PENDING");
  });

  it("starts a Fargate task for a deployment whose work pool is a fargate pool, passing the runner token", async () => {
    const runId = await dueRun("etl-fargate");

    const response = await handler({ Records: [record(runId)] });

    expect(response).toEqual({ batchItemFailures: [] });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input)).toEqual([
      {
        cluster: RUNNER.ALOFT_CLUSTER_ARN,
        taskDefinition: RUNNER.ALOFT_RUNNER_TASK_DEFINITION,
        launchType: "FARGATE",
        count: 1,
        startedBy: "aloft-dispatcher",
        networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-aaa", "subnet-bbb"], securityGroups: ["sg-123"], assignPublicIp: "DISABLED" } },
        overrides: {
          containerOverrides: [
            { name: RUNNER_CONTAINER_NAME, environment: [{ name: "ALOFT_RUN_ID", value: runId }, { name: "ALOFT_RUNNER_TOKEN", value: await tokenOf(runId) }] },
          ],
        },
      },
    ]);
    expect((await plane.services.flowRuns.get(runId)).state.type).toBe("PENDING");
  });

  it("gives Fargate tasks a public IP when ALOFT_RUNNER_ASSIGN_PUBLIC_IP is ENABLED", async () => {
    const runId = await dueRun("etl-fargate");
    const dispatch = dispatcherFromEnvironment({ ...plane.env, ...RUNNER, ALOFT_RUNNER_ASSIGN_PUBLIC_IP: "ENABLED" });

    const outcome = await dispatch.dispatch({ runId, messageId: randomUUID(), receiveCount: 1 });

    expect(outcome.action).toBe("launched");
    expect(ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input)).toEqual([
      {
        cluster: RUNNER.ALOFT_CLUSTER_ARN,
        taskDefinition: RUNNER.ALOFT_RUNNER_TASK_DEFINITION,
        launchType: "FARGATE",
        count: 1,
        startedBy: "aloft-dispatcher",
        networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-aaa", "subnet-bbb"], securityGroups: ["sg-123"], assignPublicIp: "ENABLED" } },
        overrides: {
          containerOverrides: [
            { name: RUNNER_CONTAINER_NAME, environment: [{ name: "ALOFT_RUN_ID", value: runId }, { name: "ALOFT_RUNNER_TOKEN", value: await tokenOf(runId) }] },
          ],
        },
      },
    ]);
  });

  it("refuses an ALOFT_RUNNER_ASSIGN_PUBLIC_IP other than ENABLED or DISABLED at startup, naming the variable", () => {
    expect(() => dispatcherFromEnvironment({ ...plane.env, ...RUNNER, ALOFT_RUNNER_ASSIGN_PUBLIC_IP: "yes" })).toThrow(
      'ALOFT_RUNNER_ASSIGN_PUBLIC_IP must be ENABLED or DISABLED (whether Fargate runners get a public IP), not "yes"',
    );
  });

  it("launches one runner when the same message is delivered again", async () => {
    const runId = await dueRun("etl");
    const messageId = randomUUID();

    const first = await handler({ Records: [record(runId, { messageId })] });
    const again = await handler({ Records: [record(runId, { messageId }), record(runId, { messageId, receiveCount: 2 })] });

    expect([first, again]).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(invokedRunIds()).toEqual([runId]);
  });

  it("queues a run that is not due yet again for the rest of its wait, without claiming it", async () => {
    const { run } = await plane.services.deployments.run("etl", { scheduledTime: new Date(Date.now() + 600_000).toISOString() });
    const before = await plane.delayedCount();

    const response = await handler({ Records: [record(run.id)] });

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await plane.delayedCount()).toBe(before + 1);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect((await plane.services.flowRuns.get(run.id)).state).toMatchObject({ type: "SCHEDULED", name: "Scheduled" });
  });

  it("puts the run back to SCHEDULED and reports the record when the launch fails; the next delivery launches it", async () => {
    const runId = await dueRun("etl");
    const delivery = record(runId);
    lambda.reset();
    lambda.on(InvokeCommand).rejectsOnce(new Error("Rate exceeded")).resolves({ StatusCode: 202 });

    const failed = await handler({ Records: [delivery] });

    expect(failed).toEqual({ batchItemFailures: [{ itemIdentifier: delivery.messageId }] });
    const reverted = await plane.services.flowRuns.get(runId);
    expect(reverted.state).toMatchObject({ type: "SCHEDULED", name: "AwaitingRetry" });
    expect(reverted.state.message).toBe(`could not start a lambda runner for flow run ${runId}: Rate exceeded`);

    const redelivered = await handler({ Records: [{ ...delivery, attributes: { ApproximateReceiveCount: "2" } }] });

    expect(redelivered).toEqual({ batchItemFailures: [] });
    expect(invokedRunIds()).toEqual([runId, runId]);
    expect((await plane.services.flowRuns.get(runId)).state.type).toBe("PENDING");
  });

  it("treats a task ECS could not place as a failed launch", async () => {
    const runId = await dueRun("etl-fargate");
    ecs.reset();
    ecs.on(RunTaskCommand).resolves({ tasks: [], failures: [{ reason: "RESOURCE:ENI", detail: "no free addresses in subnet-aaa" }] });
    const delivery = record(runId);

    const response = await handler({ Records: [delivery] });

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: delivery.messageId }] });
    expect((await plane.services.flowRuns.get(runId)).state.message).toBe(
      `could not start a fargate runner for flow run ${runId}: ECS did not start the runner task for flow run ${runId}: RESOURCE:ENI (no free addresses in subnet-aaa)`,
    );
  });

  it("consumes the message of a cancelled run without launching anything", async () => {
    const runId = await dueRun("etl");
    await plane.services.flowRuns.cancel(runId);

    const response = await handler({ Records: [record(runId)] });

    expect(response).toEqual({ batchItemFailures: [] });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect((await plane.services.flowRuns.get(runId)).state.type).toBe("CANCELLED");
  });

  it("fails a run whose deployment no longer exists, with the reason", async () => {
    await plane.services.deployments.create({ name: "short-lived", flowName: "etl", bundleId: "etl-1" });
    const runId = await dueRun("short-lived");
    const deploymentId = (await plane.services.flowRuns.get(runId)).deploymentId;
    await plane.services.deployments.remove("short-lived");

    const response = await handler({ Records: [record(runId)] });

    expect(response).toEqual({ batchItemFailures: [] });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    const run = await plane.services.flowRuns.get(runId);
    expect(run.state.type).toBe("FAILED");
    expect(run.error).toEqual({ name: "DeploymentNotFound", message: `deployment ${deploymentId} of flow run ${runId} no longer exists` });
  });

  it("reports a message that is not a run message as a failure, and processes the rest of the batch", async () => {
    const runId = await dueRun("etl");
    const bad = record("", { body: "not json" });

    const response = await handler({ Records: [bad, record(runId)] });

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: bad.messageId }] });
    expect(invokedRunIds()).toEqual([runId]);
  });

  it("names the missing variable when the environment is incomplete", () => {
    const { ALOFT_RUNNER_SUBNETS: _subnets, ...rest } = { ...plane.env, ...RUNNER };
    expect(() => dispatcherFromEnvironment(rest)).toThrow(
      "ALOFT_RUNNER_SUBNETS is not set: this function needs the subnets (comma-separated) Fargate runners start in",
    );
  });
});

describe("DispatchService", () => {
  function service(now: () => number = Date.now): DispatchService {
    return new DispatchService({
      store: plane.store,
      flowRuns: plane.services.flowRuns,
      queue: plane.queue,
      launchers: {
        lambda: new LambdaComputeLauncher(new LambdaClient({ region: "us-east-1" }), "aloft-runner"),
        fargate: new EcsComputeLauncher(new ECSClient({ region: "us-east-1" }), { clusterArn: "c", taskDefinition: "t", subnets: ["s"], securityGroup: "g" }),
      },
      now,
    });
  }

  it("launches one runner when two deliveries of a message race", async () => {
    const runId = await dueRun("etl");
    const messageId = randomUUID();
    const dispatch = service();

    const outcomes = await Promise.all([
      dispatch.dispatch({ runId, messageId, receiveCount: 1 }),
      dispatch.dispatch({ runId, messageId, receiveCount: 1 }),
      dispatch.dispatch({ runId, messageId: randomUUID(), receiveCount: 1 }),
    ]);

    expect(outcomes.filter((outcome) => outcome.action === "launched")).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.action === "skipped")).toHaveLength(2);
    expect(invokedRunIds()).toEqual([runId]);
  });

  it("re-sends an early message with the seconds left until the run is due, at most 900", async () => {
    const now = Date.now();
    const { run: soon } = await plane.services.deployments.run("etl", { scheduledTime: new Date(now + 120_000).toISOString() });
    const { run: later } = await plane.services.deployments.run("etl", { scheduledTime: new Date(now + 7_200_000).toISOString() });
    plane.sent.length = 0;

    const outcomes = [await service(() => now).dispatch({ runId: soon.id, messageId: randomUUID(), receiveCount: 1 }), await service(() => now).dispatch({ runId: later.id, messageId: randomUUID(), receiveCount: 1 })];

    expect(outcomes).toEqual([
      { action: "deferred", delaySeconds: 120 },
      { action: "deferred", delaySeconds: 900 },
    ]);
    expect(plane.sent).toEqual([
      { QueueUrl: plane.queueUrl, MessageBody: JSON.stringify({ runId: soon.id }), DelaySeconds: 120 },
      { QueueUrl: plane.queueUrl, MessageBody: JSON.stringify({ runId: later.id }), DelaySeconds: 900 },
    ]);
  });

  it("holds back a run of a paused pool, and of a paused queue, for 30 s without claiming it", async () => {
    await plane.services.workPools.create({ name: "paused-pool", type: "lambda", queues: [{ name: "default" }, { name: "slow", paused: true }] });
    await plane.services.deployments.create({ name: "etl-paused-queue", flowName: "etl", bundleId: "etl-1", workPool: "paused-pool", workQueue: "slow" });
    await plane.services.deployments.create({ name: "etl-paused-pool", flowName: "etl", bundleId: "etl-1", workPool: "paused-pool" });
    const inPausedQueue = await dueRun("etl-paused-queue");
    const dispatch = dispatcherFromEnvironment({ ...plane.env, ...RUNNER });

    expect(await dispatch.dispatch({ runId: inPausedQueue, messageId: randomUUID(), receiveCount: 1 })).toEqual({ action: "deferred", delaySeconds: 30 });
    await plane.services.workPools.setPaused("paused-pool", true);
    const inPausedPool = await dueRun("etl-paused-pool");
    expect(await dispatch.dispatch({ runId: inPausedPool, messageId: randomUUID(), receiveCount: 1 })).toEqual({ action: "deferred", delaySeconds: 30 });

    await plane.services.workPools.setPaused("paused-pool", false);
    expect((await dispatch.dispatch({ runId: inPausedPool, messageId: randomUUID(), receiveCount: 1 })).action).toBe("launched");
    expect((await plane.services.flowRuns.get(inPausedQueue)).state.type).toBe("SCHEDULED");
    expect(invokedRunIds()).toEqual([inPausedPool]);
  });

  it("holds back a run whose queue has as many runs taken as its concurrency limit", async () => {
    await plane.services.workPools.create({ name: "limited", type: "lambda", queues: [{ name: "default", concurrencyLimit: 1 }] });
    await plane.services.deployments.create({ name: "etl-limited", flowName: "etl", bundleId: "etl-1", workPool: "limited" });
    const first = await dueRun("etl-limited");
    const second = await dueRun("etl-limited");
    const dispatch = dispatcherFromEnvironment({ ...plane.env, ...RUNNER });

    expect((await dispatch.dispatch({ runId: first, messageId: randomUUID(), receiveCount: 1 })).action).toBe("launched");
    expect(await dispatch.dispatch({ runId: second, messageId: randomUUID(), receiveCount: 1 })).toEqual({ action: "deferred", delaySeconds: 30 });
    await plane.services.flowRuns.proposeState(first, { state: { type: "RUNNING" }, runnerToken: (await tokenOf(first))! });
    expect((await dispatch.dispatch({ runId: second, messageId: randomUUID(), receiveCount: 1 })).action).toBe("deferred");
    await plane.services.flowRuns.proposeState(first, { state: { type: "COMPLETED" }, runnerToken: (await tokenOf(first))! });
    expect((await dispatch.dispatch({ runId: second, messageId: randomUUID(), receiveCount: 1 })).action).toBe("launched");
  });

  it("leaves a run of a local pool to its workers instead of launching it", async () => {
    await plane.services.workPools.create({ name: "laptop", type: "local" });
    await plane.services.deployments.create({ name: "etl-laptop", flowName: "etl", entrypoint: "flows/etl.ts:etl", workPool: "laptop" });
    const runId = await dueRun("etl-laptop");

    const outcome = await dispatcherFromEnvironment({ ...plane.env, ...RUNNER }).dispatch({ runId, messageId: randomUUID(), receiveCount: 1 });

    expect(outcome).toEqual({ action: "skipped", reason: `flow run ${runId} belongs to local work pool "laptop", whose workers take its runs` });
    expect(invokedRunIds()).toEqual([]);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
    expect(await plane.store.getFlowRun(runId)).toMatchObject({ state: { type: "SCHEDULED", name: "Scheduled" } });
  });
});
