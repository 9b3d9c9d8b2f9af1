import { beforeAll, describe, expect, it } from "vitest";
import { arnWithSuffix, expectedStatements, statementsOfRole, synthesizeControlPlane, type NormalizedStatement, type SynthesizedControlPlane } from "./controlPlaneFixture.js";

let synthesized: SynthesizedControlPlane;
beforeAll(() => {
  synthesized = synthesizeControlPlane({ stage: "prod" });
});

/** What each function's (and the runner task's) role may do, statement by statement. */
describe("least-privilege IAM", () => {
  const shared = () => {
    const { controlPlane, getAtt } = synthesized;
    const table = getAtt(controlPlane.data.table, "Arn");
    return {
      table,
      indexes: { actions: ["dynamodb:Query"], resources: [arnWithSuffix(table, "/index/*")] },
      payloads: { actions: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], resources: [arnWithSuffix(getAtt(controlPlane.data.bucket, "Arn"), "/payloads/*")] },
      keys: (...keys: ("table" | "bucket" | "queue")[]) => ({
        actions: ["kms:Decrypt", "kms:GenerateDataKey"],
        resources: keys.map((key) =>
          getAtt(key === "table" ? controlPlane.data.tableKey : key === "bucket" ? controlPlane.data.bucketKey : controlPlane.messaging.queueKey, "Arn"),
        ),
      }),
      sendToWorkQueue: { actions: ["sqs:SendMessage"], resources: [getAtt(controlPlane.messaging.workQueue, "Arn")] },
    };
  };
  const baseline = (name: keyof SynthesizedControlPlane["controlPlane"]["functions"]): NormalizedStatement[] => [
    { actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [synthesized.getAtt(synthesized.controlPlane.functions[name].logGroup, "Arn")] },
    { actions: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], resources: ["*"] },
  ];
  const statementsOf = (name: keyof SynthesizedControlPlane["controlPlane"]["functions"]) =>
    statementsOfRole(synthesized.template, synthesized.logicalId(synthesized.controlPlane.functions[name].role));
  const itemActions = ["dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"];

  it("lets the API function read and write run state (never Scan), payloads under payloads/, queue deployment runs, use the table, bucket and queue keys, and read the webhook signing key", () => {
    const { table, indexes, payloads, keys, sendToWorkQueue } = shared();
    expect(statementsOf("api")).toEqual(
      expectedStatements([
        ...baseline("api"),
        { actions: [...itemActions, "dynamodb:BatchGetItem", "dynamodb:DeleteItem"], resources: [table] },
        indexes,
        payloads,
        keys("table", "bucket", "queue"),
        sendToWorkQueue,
        { actions: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], resources: [synthesized.ref(synthesized.controlPlane.webhookSigningKey)] },
        // Resuming approvals of compiled flows: SendTaskSuccess takes no resource ARN.
        { actions: ["states:SendTaskSuccess"], resources: ["*"] },
      ]),
    );
  });

  it("lets only the API function decrypt the webhook signing key, and only through Secrets Manager", () => {
    const { template, controlPlane, getAtt, logicalId } = synthesized;
    const key = controlPlane.webhookSigningKey.encryptionKey!;
    const policy = (template.findResources("AWS::KMS::Key")[logicalId(key)] as { Properties: { KeyPolicy: { Statement: Array<Record<string, unknown>> } } }).Properties.KeyPolicy;
    // Statements naming a principal other than the account itself (a role, by its ARN).
    const decrypters = policy.Statement.filter((statement) => JSON.stringify(statement.Principal).includes("Fn::GetAtt"));
    expect(decrypters).toEqual([
      {
        Action: "kms:Decrypt",
        Condition: { StringEquals: { "kms:ViaService": { "Fn::Join": ["", ["secretsmanager.", { Ref: "AWS::Region" }, ".amazonaws.com"]] } } },
        Effect: "Allow",
        Principal: { AWS: getAtt(controlPlane.functions.api.role, "Arn") },
        Resource: "*",
      },
    ]);
    for (const name of ["scheduler", "dispatcher", "monitor", "mirror", "runner"] as const) {
      expect(JSON.stringify(statementsOf(name))).not.toContain("secretsmanager");
    }
  });

  it("lets the scheduler function write run state and send to the work queue, and nothing else", () => {
    const { table, indexes, keys, sendToWorkQueue } = shared();
    expect(statementsOf("scheduler")).toEqual(
      expectedStatements([...baseline("scheduler"), { actions: itemActions, resources: [table] }, indexes, sendToWorkQueue, keys("table", "queue")]),
    );
  });

  it("lets the dispatcher consume the work queue, invoke the runner function, run only the runner task definition and its image copies in the runner cluster, and start only its stage's state machines", () => {
    const { controlPlane, getAtt, ref } = synthesized;
    const { table, indexes, keys, sendToWorkQueue } = shared();
    const stateMachines = { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":states:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":stateMachine:aloft-prod_*"]] };
    const workQueue = getAtt(controlPlane.messaging.workQueue, "Arn");
    expect(statementsOf("dispatcher")).toEqual(
      expectedStatements([
        ...baseline("dispatcher"),
        { actions: itemActions, resources: [table] },
        indexes,
        sendToWorkQueue,
        { actions: ["lambda:InvokeFunction"], resources: [getAtt(controlPlane.functions.runner.function, "Arn")] },
        {
          actions: ["ecs:RunTask"],
          resources: [ref(controlPlane.runners.taskDefinition)],
          condition: { ArnEquals: { "ecs:cluster": getAtt(controlPlane.runners.cluster, "Arn") } },
        },
        {
          actions: ["ecs:RunTask"],
          resources: [{ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":ecs:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, `:task-definition/${controlPlane.runners.taskDefinition.family}-*`]] }],
          condition: { ArnEquals: { "ecs:cluster": getAtt(controlPlane.runners.cluster, "Arn") } },
        },
        { actions: ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"], resources: ["*"] },
        {
          actions: ["iam:PassRole"],
          resources: [getAtt(controlPlane.runners.taskRole, "Arn"), getAtt(controlPlane.runners.taskDefinition.executionRole!, "Arn")],
          condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
        },
        { actions: ["states:StartExecution"], resources: [stateMachines] },
        { actions: ["s3:GetObject"], resources: [arnWithSuffix(getAtt(controlPlane.data.bucket, "Arn"), "/payloads/*")] },
        keys("table", "queue", "bucket"),
        // The SQS event source mapping polls with the function's role.
        { actions: ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], resources: [workQueue] },
        { actions: ["kms:Decrypt"], resources: [getAtt(controlPlane.messaging.queueKey, "Arn")] },
      ]),
    );
  });

  it("lets the monitor query and update run state, re-queue late and crashed runs, stop runner tasks of the runners' cluster only, and stop executions of the stage's state machines", () => {
    const { table, indexes, keys, sendToWorkQueue } = shared();
    expect(statementsOf("monitor")).toEqual(
      expectedStatements([
        ...baseline("monitor"),
        { actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"], resources: [table] },
        indexes,
        sendToWorkQueue,
        keys("table", "queue"),
        { actions: ["ecs:StopTask"], resources: ["*"], condition: { ArnEquals: { "ecs:cluster": synthesized.getAtt(synthesized.controlPlane.runners.cluster, "Arn") } } },
        {
          actions: ["states:StopExecution"],
          resources: [{ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":states:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":execution:aloft-prod_*"]] }],
        },
      ]),
    );
  });

  it("lets the mirror update run state and store results under payloads/", () => {
    const { table, indexes, payloads, keys } = shared();
    expect(statementsOf("mirror")).toEqual(
      expectedStatements([
        ...baseline("mirror"),
        { actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"], resources: [table] },
        indexes,
        payloads,
        keys("table", "bucket"),
      ]),
    );
  });

  it("lets the runner function and the Fargate runner task read bundles under bundles/ and read and write payloads and run state", () => {
    const { controlPlane, getAtt, logicalId, template } = synthesized;
    const { table, indexes, payloads, keys } = shared();
    const runnerGrants: NormalizedStatement[] = [
      { actions: itemActions, resources: [table] },
      indexes,
      { actions: ["s3:GetObject"], resources: [arnWithSuffix(getAtt(controlPlane.data.bucket, "Arn"), "/bundles/*")] },
      payloads,
      keys("table", "bucket"),
    ];
    expect(statementsOf("runner")).toEqual(expectedStatements([...baseline("runner"), ...runnerGrants]));
    expect(statementsOfRole(template, logicalId(controlPlane.runners.taskRole))).toEqual(expectedStatements(runnerGrants));
  });

  it("lets the schedule group's role invoke the scheduler function and nothing else, only for schedules of this account", () => {
    const { controlPlane, getAtt, logicalId, template } = synthesized;
    expect(statementsOfRole(template, logicalId(controlPlane.messaging.schedulerRole))).toEqual(
      expectedStatements([{ actions: ["lambda:InvokeFunction"], resources: [getAtt(controlPlane.functions.scheduler.function, "Arn")] }]),
    );
    const role = template.findResources("AWS::IAM::Role")[logicalId(controlPlane.messaging.schedulerRole)] as {
      Properties: { AssumeRolePolicyDocument: { Statement: { Principal: unknown; Condition: Record<string, unknown> }[] } };
    };
    const [trust] = role.Properties.AssumeRolePolicyDocument.Statement;
    expect(trust?.Principal).toEqual({ Service: "scheduler.amazonaws.com" });
    expect(Object.keys(trust?.Condition ?? {}).sort()).toEqual(["ArnLike", "StringEquals"]);
  });

  it("uses no AWS-managed policies on any role", () => {
    const roles = Object.values(synthesized.template.findResources("AWS::IAM::Role")) as { Properties: { ManagedPolicyArns?: unknown[] } }[];
    expect(roles.filter((role) => (role.Properties.ManagedPolicyArns ?? []).length > 0)).toEqual([]);
  });
});
