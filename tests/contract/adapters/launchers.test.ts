import { ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";
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

describe("LambdaComputeLauncher", () => {
  const launcher = new LambdaComputeLauncher(new LambdaClient({ region: "eu-west-1" }), "arn:aws:lambda:eu-west-1:123456789012:function:aloft-runner");

  it("invokes the runner asynchronously with the run id as the payload", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });

    await launcher.launch({ runId: "run-1", workPool: "default" });

    const [call] = lambda.commandCalls(InvokeCommand);
    expect(call?.args[0].input.FunctionName).toBe("arn:aws:lambda:eu-west-1:123456789012:function:aloft-runner");
    expect(call?.args[0].input.InvocationType).toBe("Event");
    expect(new TextDecoder().decode(call?.args[0].input.Payload as Uint8Array)).toBe('{"runId":"run-1"}');
  });

  it("fails when Lambda did not queue the event", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: "Unhandled" });

    await expect(launcher.launch({ runId: "run-2" })).rejects.toThrow("Lambda did not queue the runner for flow run run-2: status 200 (Unhandled)");
  });

  it("fails with Lambda's error when the invoke is refused", async () => {
    lambda.on(InvokeCommand).rejects(new Error("Rate exceeded"));

    await expect(launcher.launch({ runId: "run-3" })).rejects.toThrow("Rate exceeded");
  });
});

describe("EcsComputeLauncher", () => {
  const config = { clusterArn: "arn:aws:ecs:eu-west-1:123456789012:cluster/aloft", taskDefinition: "aloft-runner:7", subnets: ["subnet-1"], securityGroup: "sg-1" };

  it("runs the runner task on Fargate in the given subnets with ALOFT_RUN_ID set", async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: "task-1" }], failures: [] });

    await new EcsComputeLauncher(new ECSClient({ region: "eu-west-1" }), { ...config, assignPublicIp: "ENABLED" }).launch({ runId: "run-1", workPool: "fargate" });

    expect(ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input)).toEqual([
      {
        cluster: config.clusterArn,
        taskDefinition: "aloft-runner:7",
        launchType: "FARGATE",
        count: 1,
        startedBy: "aloft-dispatcher",
        networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-1"], securityGroups: ["sg-1"], assignPublicIp: "ENABLED" } },
        overrides: { containerOverrides: [{ name: "runner", environment: [{ name: "ALOFT_RUN_ID", value: "run-1" }] }] },
      },
    ]);
  });

  it("fails when ECS started no task", async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [], failures: [] });

    await expect(new EcsComputeLauncher(new ECSClient({ region: "eu-west-1" }), config).launch({ runId: "run-2" })).rejects.toThrow(
      "ECS did not start the runner task for flow run run-2: no task was started",
    );
  });
});
