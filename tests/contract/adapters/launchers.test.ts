import { DescribeTaskDefinitionCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand, type TaskDefinition } from "@aws-sdk/client-ecs";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { EcsComputeLauncher } from "../../../lambdas/adapters/ecsLauncher.js";
import { LambdaComputeLauncher } from "../../../lambdas/adapters/lambdaLauncher.js";

// No emulator runs a Lambda function or an ECS task, so these assert the exact requests made.
const lambda = mockClient(LambdaClient);
const ecs = mockClient(ECSClient);

beforeEach(() => {
  lambda.reset();
  ecs.reset();
});

afterAll(() => {
  lambda.restore();
  ecs.restore();
});

function errorNamed(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

describe("LambdaComputeLauncher", () => {
  const launcher = new LambdaComputeLauncher(new LambdaClient({ region: "eu-west-1" }), "arn:aws:lambda:eu-west-1:123456789012:function:aloft-runner");

  it("invokes the runner asynchronously with the run id and the claim token, and reports the invocation's request id", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202, $metadata: { requestId: "req-1" } });

    const runner = await launcher.launch({ runId: "run-1", runnerToken: "token-1", workPool: "default" });

    expect(runner).toEqual({ kind: "lambda", requestId: "req-1" });
    const inputs = lambda.commandCalls(InvokeCommand).map((call) => call.args[0].input);
    expect(inputs).toEqual([{ FunctionName: "arn:aws:lambda:eu-west-1:123456789012:function:aloft-runner", InvocationType: "Event", Payload: expect.any(Uint8Array) }]);
    expect(JSON.parse(new TextDecoder().decode(inputs[0]!.Payload as Uint8Array))).toEqual({ runId: "run-1", runnerToken: "token-1" });
  });

  it("passes the pool's timeout and environment in the payload", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });

    await launcher.launch({ runId: "run-2", runnerToken: "token-2", job: { timeout: 600, environment: { STAGE: "prod" } } });

    const [call] = lambda.commandCalls(InvokeCommand);
    expect(new TextDecoder().decode(call?.args[0].input.Payload as Uint8Array)).toBe('{"runId":"run-2","runnerToken":"token-2","timeoutSeconds":600,"environment":{"STAGE":"prod"}}');
  });

  it("fails when Lambda did not queue the event", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: "Unhandled" });

    await expect(launcher.launch({ runId: "run-2" })).rejects.toThrow("Lambda did not queue the runner for flow run run-2: status 200 (Unhandled)");
  });

  it("fails with Lambda's error when the invoke is refused", async () => {
    lambda.on(InvokeCommand).rejects(new Error("Rate exceeded"));

    await expect(launcher.launch({ runId: "run-3" })).rejects.toThrow("Rate exceeded");
  });

  it("cannot stop an invocation: stop answers false and calls nothing", async () => {
    expect(await launcher.stop({ kind: "lambda", requestId: "req-1" }, "cancelled")).toBe(false);
    expect(lambda.calls()).toHaveLength(0);
  });
});

describe("EcsComputeLauncher", () => {
  const config = { clusterArn: "arn:aws:ecs:eu-west-1:123456789012:cluster/aloft", taskDefinition: "aloft-runner:7", subnets: ["subnet-1"], securityGroup: "sg-1" };
  const taskArn = "arn:aws:ecs:eu-west-1:123456789012:task/aloft/abc";
  const launcher = () => new EcsComputeLauncher(new ECSClient({ region: "eu-west-1" }), config);

  it("runs the runner task on Fargate in the given subnets with ALOFT_RUN_ID and ALOFT_RUNNER_TOKEN set, and reports the task", async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn }], failures: [] });

    const runner = await new EcsComputeLauncher(new ECSClient({ region: "eu-west-1" }), { ...config, assignPublicIp: "ENABLED" }).launch({ runId: "run-1", runnerToken: "token-1", workPool: "fargate" });

    expect(runner).toEqual({ kind: "ecs", taskArn, clusterArn: config.clusterArn });
    expect(ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input)).toEqual([
      {
        cluster: config.clusterArn,
        taskDefinition: "aloft-runner:7",
        launchType: "FARGATE",
        count: 1,
        startedBy: "aloft-dispatcher",
        networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-1"], securityGroups: ["sg-1"], assignPublicIp: "ENABLED" } },
        overrides: {
          containerOverrides: [
            {
              name: "runner",
              environment: [
                { name: "ALOFT_RUN_ID", value: "run-1" },
                { name: "ALOFT_RUNNER_TOKEN", value: "token-1" },
              ],
            },
          ],
        },
      },
    ]);
  });

  it("overrides the task's and the container's cpu and memory, and adds the timeout and the pool's environment", async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn }], failures: [] });

    await launcher().launch({ runId: "run-2", runnerToken: "token-2", job: { cpu: 2048, memory: 8192, timeout: 7200, environment: { STAGE: "prod", REGION: "eu" } } });

    const [call] = ecs.commandCalls(RunTaskCommand);
    expect(call?.args[0].input.overrides).toEqual({
      cpu: "2048",
      memory: "8192",
      containerOverrides: [
        {
          name: "runner",
          cpu: 2048,
          memory: 8192,
          environment: [
            { name: "ALOFT_RUN_ID", value: "run-2" },
            { name: "ALOFT_RUNNER_TOKEN", value: "token-2" },
            { name: "ALOFT_JOB_TIMEOUT_SECONDS", value: "7200" },
            { name: "STAGE", value: "prod" },
            { name: "REGION", value: "eu" },
          ],
        },
      ],
    });
  });

  it("runs a pool's own image in a copy of the runner task definition, registered once and reused", async () => {
    const base: TaskDefinition = {
      taskDefinitionArn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/aloft-runner:7",
      family: "aloft-runner",
      revision: 7,
      taskRoleArn: "arn:aws:iam::123456789012:role/runner-task",
      executionRoleArn: "arn:aws:iam::123456789012:role/runner-execution",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "1024",
      memory: "2048",
      runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
      containerDefinitions: [
        { name: "runner", image: "aloft/runner:1", essential: true },
        { name: "log-router", image: "fluent-bit:2", essential: false },
      ],
      status: "ACTIVE",
    };
    const copyArn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/aloft-runner-custom:1";
    ecs.on(DescribeTaskDefinitionCommand).rejects(errorNamed("ClientException", "Unable to describe task definition."));
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: "aloft-runner:7" }).resolves({ taskDefinition: base });
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: copyArn } });
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn }], failures: [] });
    const ecsLauncher = launcher();

    await ecsLauncher.launch({ runId: "run-3", job: { image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/etl:7" } });
    await ecsLauncher.launch({ runId: "run-4", job: { image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/etl:7" } });

    const registrations = ecs.commandCalls(RegisterTaskDefinitionCommand).map((call) => call.args[0].input);
    expect(registrations).toEqual([
      {
        family: expect.stringMatching(/^aloft-runner-[0-9a-f]{12}$/),
        taskRoleArn: base.taskRoleArn,
        executionRoleArn: base.executionRoleArn,
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        cpu: "1024",
        memory: "2048",
        runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
        containerDefinitions: [
          { name: "runner", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/etl:7", essential: true },
          { name: "log-router", image: "fluent-bit:2", essential: false },
        ],
      },
    ]);
    expect(ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input.taskDefinition)).toEqual([copyArn, copyArn]);
  });

  it("reuses a copy registered earlier (by another dispatcher) when its image and roles still match", async () => {
    const base: TaskDefinition = { family: "aloft-runner", taskRoleArn: "task", executionRoleArn: "exec", cpu: "1024", memory: "2048", containerDefinitions: [{ name: "runner", image: "aloft/runner:1" }] };
    const earlier: TaskDefinition = { ...base, taskDefinitionArn: "arn:earlier-copy:3", containerDefinitions: [{ name: "runner", image: "etl:9" }] };
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: earlier });
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: "aloft-runner:7" }).resolves({ taskDefinition: base });
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn }], failures: [] });

    await launcher().launch({ runId: "run-5", job: { image: "etl:9" } });

    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(ecs.commandCalls(RunTaskCommand)[0]?.args[0].input.taskDefinition).toBe("arn:earlier-copy:3");
  });

  it("fails when ECS started no task", async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [], failures: [] });

    await expect(launcher().launch({ runId: "run-2" })).rejects.toThrow("ECS did not start the runner task for flow run run-2: no task was started");
  });

  it("fails with ECS's reason when it could not place the task", async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [], failures: [{ reason: "RESOURCE:CPU", detail: "no capacity" }] });

    await expect(launcher().launch({ runId: "run-6" })).rejects.toThrow("ECS did not start the runner task for flow run run-6: RESOURCE:CPU (no capacity)");
  });

  it("stops a runner's task with the reason, in the runner's cluster", async () => {
    ecs.on(StopTaskCommand).resolves({ task: { taskArn, lastStatus: "STOPPING" } });

    const stopped = await launcher().stop({ kind: "ecs", taskArn, clusterArn: "arn:aws:ecs:eu-west-1:123456789012:cluster/other" }, `cancelled: ${"x".repeat(300)}`);

    expect(stopped).toBe(true);
    expect(ecs.commandCalls(StopTaskCommand).map((call) => call.args[0].input)).toEqual([
      { cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/other", task: taskArn, reason: `cancelled: ${"x".repeat(244)}` },
    ]);
  });

  it("answers false for a task ECS does not know and for a runner that is not an ECS task", async () => {
    ecs.on(StopTaskCommand).rejects(errorNamed("InvalidParameterException", "The referenced task was not found."));

    expect(await launcher().stop({ kind: "ecs", taskArn }, "cancelled")).toBe(false);
    expect(await launcher().stop({ kind: "process", pid: 42 }, "cancelled")).toBe(false);
    expect(ecs.commandCalls(StopTaskCommand).map((call) => call.args[0].input.cluster)).toEqual([config.clusterArn]);
  });
});
