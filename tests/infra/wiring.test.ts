import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { synthesizeControlPlane, type SynthesizedControlPlane } from "./controlPlaneFixture.js";

let synthesized: SynthesizedControlPlane;
beforeAll(() => {
  synthesized = synthesizeControlPlane({ stage: "dev" });
});

type FunctionName = keyof SynthesizedControlPlane["controlPlane"]["functions"];

function environmentOf(name: FunctionName): Record<string, unknown> {
  const { template, controlPlane, logicalId } = synthesized;
  const fn = template.findResources("AWS::Lambda::Function")[logicalId(controlPlane.functions[name].function)] as {
    Properties: { Environment: { Variables: Record<string, unknown> } };
  };
  return fn.Properties.Environment.Variables;
}

describe("functions", () => {
  it("run handlers as arm64 Node 24 functions with X-Ray active tracing and Powertools configured", () => {
    const { template } = synthesized;
    const functions = Object.values(template.findResources("AWS::Lambda::Function", { Properties: { Handler: "index.handler" } })) as {
      Properties: { Runtime: string; Architectures: string[]; TracingConfig: { Mode: string }; Environment: { Variables: Record<string, string> } };
    }[];
    expect(functions).toHaveLength(6);
    for (const fn of functions) {
      expect(fn.Properties.Runtime).toBe("nodejs24.x");
      expect(fn.Properties.Architectures).toEqual(["arm64"]);
      expect(fn.Properties.TracingConfig).toEqual({ Mode: "Active" });
      expect(fn.Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: expect.stringMatching(/^aloft-(api|scheduler|dispatcher|monitor|mirror|runner)$/),
        POWERTOOLS_METRICS_NAMESPACE: "Aloft",
        POWERTOOLS_LOG_LEVEL: "INFO",
        NODE_OPTIONS: "--enable-source-maps",
      });
    }
  });

  it("reference their table, bucket, queue and (the API) the webhook signing key through the environment", () => {
    const { controlPlane, ref } = synthesized;
    const table = ref(controlPlane.data.table);
    const bucket = ref(controlPlane.data.bucket);
    const queueUrl = ref(controlPlane.messaging.workQueue);
    expect(environmentOf("api")).toMatchObject({ ALOFT_TABLE_NAME: table, ALOFT_PAYLOAD_BUCKET: bucket, ALOFT_WEBHOOK_SECRET_ARN: ref(controlPlane.webhookSigningKey) });
    expect(environmentOf("scheduler")).toMatchObject({ ALOFT_TABLE_NAME: table, ALOFT_WORK_QUEUE_URL: queueUrl });
    expect(environmentOf("monitor")).toMatchObject({ ALOFT_TABLE_NAME: table, ALOFT_WORK_QUEUE_URL: queueUrl });
    expect(environmentOf("mirror")).toMatchObject({ ALOFT_TABLE_NAME: table, ALOFT_PAYLOAD_BUCKET: bucket });
    expect(environmentOf("dispatcher")).toMatchObject({ ALOFT_TABLE_NAME: table, ALOFT_PAYLOAD_BUCKET: bucket, ALOFT_WORK_QUEUE_URL: queueUrl });
    expect(environmentOf("runner")).toMatchObject({ ALOFT_TABLE_NAME: table, ALOFT_PAYLOAD_BUCKET: bucket, ALOFT_BUNDLE_PREFIX: "bundles/" });
    for (const name of ["api", "scheduler", "monitor", "mirror", "runner"] as const) {
      expect(Object.keys(environmentOf(name)).filter((key) => key.startsWith("ALOFT_")).sort()).toEqual(
        {
          api: ["ALOFT_PAYLOAD_BUCKET", "ALOFT_STAGE", "ALOFT_TABLE_NAME", "ALOFT_WEBHOOK_SECRET_ARN", "ALOFT_WORK_QUEUE_URL"],
          scheduler: ["ALOFT_STAGE", "ALOFT_TABLE_NAME", "ALOFT_WORK_QUEUE_URL"],
          monitor: ["ALOFT_CLUSTER_ARN", "ALOFT_STAGE", "ALOFT_TABLE_NAME", "ALOFT_WORK_QUEUE_URL"],
          mirror: ["ALOFT_PAYLOAD_BUCKET", "ALOFT_STAGE", "ALOFT_TABLE_NAME"],
          runner: ["ALOFT_BUNDLE_PREFIX", "ALOFT_PAYLOAD_BUCKET", "ALOFT_STAGE", "ALOFT_TABLE_NAME"],
        }[name],
      );
    }
  });

  it("point the dispatcher at the runner function, the cluster, the task definition, its subnets and its security group", () => {
    const { controlPlane, ref, getAtt } = synthesized;
    expect(environmentOf("dispatcher")).toEqual(
      expect.objectContaining({
        ALOFT_TABLE_NAME: ref(controlPlane.data.table),
        ALOFT_WORK_QUEUE_URL: ref(controlPlane.messaging.workQueue),
        ALOFT_RUNNER_FUNCTION: ref(controlPlane.functions.runner.function),
        ALOFT_CLUSTER_ARN: getAtt(controlPlane.runners.cluster, "Arn"),
        ALOFT_RUNNER_TASK_DEFINITION: ref(controlPlane.runners.taskDefinition),
        ALOFT_RUNNER_SUBNETS: { "Fn::Join": [",", controlPlane.runners.subnets.map((subnet) => ref(subnet))] },
        ALOFT_RUNNER_SECURITY_GROUP: getAtt(controlPlane.runners.securityGroup, "GroupId"),
        // The new VPC has public subnets only and no NAT gateway.
        ALOFT_RUNNER_ASSIGN_PUBLIC_IP: "ENABLED",
      }),
    );
    expect(controlPlane.runners.subnets).toHaveLength(2);
  });

  it("feed the dispatcher from the work queue, reporting batch item failures", () => {
    const { template, controlPlane, ref, getAtt } = synthesized;
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 1);
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: getAtt(controlPlane.messaging.workQueue, "Arn"),
      FunctionName: ref(controlPlane.functions.dispatcher.function),
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("run the monitor every minute and send status changes of the stage's state machines (named aloft-<stage>_…) to the mirror", () => {
    const { template, controlPlane, getAtt } = synthesized;
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 minute)",
      Targets: [Match.objectLike({ Arn: getAtt(controlPlane.functions.monitor.function, "Arn") })],
    });
    const rules = template.findResources("AWS::Events::Rule", { Properties: { EventPattern: Match.anyValue() } });
    const mirrorRule = Object.values(rules) as { Properties: { EventPattern: unknown; EventBusName?: unknown; Targets: { Arn: unknown }[] } }[];
    expect(mirrorRule).toHaveLength(1);
    expect(mirrorRule[0]?.Properties.EventPattern).toEqual({
      source: ["aws.states"],
      "detail-type": ["Step Functions Execution Status Change"],
      detail: {
        stateMachineArn: [
          { prefix: { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":states:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":stateMachine:aloft-dev_"]] } },
        ],
      },
    });
    expect(mirrorRule[0]?.Properties.EventBusName).toBeUndefined(); // the default bus
    expect(mirrorRule[0]?.Properties.Targets.map((target) => target.Arn)).toEqual([getAtt(controlPlane.functions.mirror.function, "Arn")]);
  });

  it("send the execution status records of the state machines' log group to the mirror (Express executions have no status-change events)", () => {
    const { template, controlPlane, getAtt, ref } = synthesized;
    template.resourceCountIs("AWS::Logs::SubscriptionFilter", 1);
    template.hasResourceProperties("AWS::Logs::SubscriptionFilter", {
      LogGroupName: ref(controlPlane.stepFunctions.logGroup),
      DestinationArn: getAtt(controlPlane.functions.mirror.function, "Arn"),
      FilterPattern:
        '{ ($.type = "ExecutionStarted") || ($.type = "ExecutionSucceeded") || ($.type = "ExecutionFailed") || ($.type = "ExecutionTimedOut") || ($.type = "ExecutionAborted") }',
    });
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      FunctionName: getAtt(controlPlane.functions.mirror.function, "Arn"),
      Principal: "logs.amazonaws.com",
      SourceArn: getAtt(controlPlane.stepFunctions.logGroup, "Arn"),
    });
  });

  it("run the Fargate runner as an arm64 task whose container logs and knows its table and bucket", () => {
    const { template, controlPlane, ref, getAtt } = synthesized;
    template.hasResourceProperties("AWS::ECS::TaskDefinition", {
      RequiresCompatibilities: ["FARGATE"],
      RuntimePlatform: { CpuArchitecture: "ARM64", OperatingSystemFamily: "LINUX" },
      TaskRoleArn: getAtt(controlPlane.runners.taskRole, "Arn"),
      ContainerDefinitions: [
        Match.objectLike({
          Name: "runner",
          LogConfiguration: Match.objectLike({ LogDriver: "awslogs", Options: Match.objectLike({ "awslogs-group": ref(controlPlane.runners.logGroup) }) }),
          Environment: Match.arrayWith([
            { Name: "ALOFT_TABLE_NAME", Value: ref(controlPlane.data.table) },
            { Name: "ALOFT_PAYLOAD_BUCKET", Value: ref(controlPlane.data.bucket) },
            { Name: "ALOFT_BUNDLE_PREFIX", Value: "bundles/" },
          ]),
        }),
      ],
    });
    template.hasResourceProperties("AWS::ECS::Cluster", { ClusterSettings: [{ Name: "containerInsights", Value: "enabled" }] });
  });
});

describe("HTTP API", () => {
  type Route = { RouteKey: string; AuthorizationType?: string; Target: unknown };
  const routes = () => Object.values(synthesized.template.findResources("AWS::ApiGatewayV2::Route")).map((route) => (route as { Properties: Route }).Properties);

  it("requires IAM (SigV4) on every route except GET /health and webhook deliveries", () => {
    const byKey = Object.fromEntries(routes().map((route) => [route.RouteKey, route.AuthorizationType]));
    expect(byKey).toEqual({ $default: "AWS_IAM", "GET /health": "NONE", "POST /v1/webhooks/{name}": "NONE" });
  });

  it("sends every route to the API function with payload format 2.0", () => {
    const { template, controlPlane, getAtt } = synthesized;
    const integrations = Object.values(template.findResources("AWS::ApiGatewayV2::Integration")) as { Properties: Record<string, unknown> }[];
    expect(integrations).toHaveLength(1);
    expect(integrations[0]?.Properties).toMatchObject({ IntegrationType: "AWS_PROXY", PayloadFormatVersion: "2.0", IntegrationUri: getAtt(controlPlane.functions.api.function, "Arn") });
  });

  it("throttles the stage and writes JSON access logs to its log group", () => {
    const { template, controlPlane, getAtt } = synthesized;
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: { DestinationArn: getAtt(controlPlane.httpApi.accessLogGroup, "Arn"), Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
    });
  });
});

describe("schedules and Step Functions", () => {
  it("creates the schedule group and the state machines' log group", () => {
    const { template } = synthesized;
    template.hasResourceProperties("AWS::Scheduler::ScheduleGroup", { Name: "aloft-dev" });
    template.hasResourceProperties("AWS::Logs::LogGroup", { LogGroupName: "/aws/vendedlogs/states/aloft-dev" });
    template.hasResourceProperties("AWS::Events::EventBus", { Name: "aloft-dev" });
  });

  it("gives deployed state machines logging at level ALL and X-Ray tracing", () => {
    const { controlPlane, stack } = synthesized;
    expect(stack.resolve(controlPlane.stepFunctions.loggingConfiguration)).toEqual({
      level: "ALL",
      includeExecutionData: true,
      destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: synthesized.getAtt(controlPlane.stepFunctions.logGroup, "Arn") } }],
    });
    expect(controlPlane.stepFunctions.tracingConfiguration).toEqual({ enabled: true });
  });
});
