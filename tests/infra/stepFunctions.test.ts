import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { FlowStateMachine, stateMachineName, type CompiledDefinition } from "../../infra/flowStateMachine.js";
import { AloftControlPlane } from "../../infra/index.js";
import { runCfnLint } from "../support/cfnLint.js";
import { expectedStatements, statementsOfRole } from "./controlPlaneFixture.js";

const CDK_CONTEXT = (JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as { context: Record<string, unknown> }).context;

/** A definition in the compiled-ASL contract's shape: a task, a subflow and a Fargate task. */
const PARENT: CompiledDefinition = {
  definition: {
    StartAt: "extract",
    States: {
      extract: {
        Type: "Task",
        Resource: "arn:aws:states:::lambda:invoke",
        Parameters: {
          FunctionName: "${AloftTaskFunctionArn}",
          Payload: { kind: "aloft.task", flowName: "etl", task: "extract", args: {}, "flowRunId.$": "$$.Execution.Name", "executionArn.$": "$$.Execution.Id", "attempt.$": "$$.State.RetryCount" },
        },
        ResultSelector: { "value.$": "$.Payload" },
        ResultPath: "$.results.extract",
        Next: "Subflow load-orders",
      },
      "Subflow load-orders": {
        Type: "Task",
        Resource: "arn:aws:states:::states:startExecution.sync:2",
        Parameters: { StateMachineArn: "${AloftStateMachineArn_load_orders}", Input: { params: {}, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id" } },
        ResultSelector: { "value.$": "$.Output" },
        ResultPath: "$.results.Subflow_load_orders",
        Next: "train",
      },
      train: {
        Type: "Task",
        Resource: "arn:aws:states:::ecs:runTask.sync",
        Parameters: {
          LaunchType: "FARGATE",
          Cluster: "${AloftClusterArn}",
          TaskDefinition: "${AloftRunnerTaskDefinitionArn}",
          NetworkConfiguration: {
            AwsvpcConfiguration: { Subnets: ["${AloftSubnet0}", "${AloftSubnet1}"], SecurityGroups: ["${AloftSecurityGroupId}"], AssignPublicIp: "${AloftAssignPublicIp}" },
          },
          Overrides: { ContainerOverrides: [{ Name: "${AloftRunnerContainerName}", Environment: [{ Name: "ALOFT_TASK_INVOCATION", "Value.$": "States.JsonToString($.results)" }] }] },
        },
        ResultPath: null,
        End: true,
      },
    },
  },
  substitutions: [
    "AloftTaskFunctionArn",
    "AloftStateMachineArn_load_orders",
    "AloftClusterArn",
    "AloftRunnerTaskDefinitionArn",
    "AloftSubnet0",
    "AloftSubnet1",
    "AloftSecurityGroupId",
    "AloftAssignPublicIp",
    "AloftRunnerContainerName",
  ],
};

/** A child flow: one task. */
const CHILD: CompiledDefinition = {
  definition: {
    StartAt: "load",
    States: {
      load: {
        Type: "Task",
        Resource: "arn:aws:states:::lambda:invoke",
        Parameters: { FunctionName: "${AloftTaskFunctionArn}", Payload: { kind: "aloft.task", flowName: "load-orders", task: "load", args: {} } },
        OutputPath: "$.Payload",
        End: true,
      },
    },
  },
  substitutions: ["AloftTaskFunctionArn"],
};

let app: App;
let stack: Stack;
let controlPlane: AloftControlPlane;
let taskFunction: lambda.Function;
let parent: FlowStateMachine;
let child: FlowStateMachine;
let express: FlowStateMachine;
let sweep: FlowStateMachine;
let template: Template;
const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId((construct.node.defaultChild ?? construct) as never);
const getAtt = (construct: { node: { defaultChild?: unknown } }, attribute = "Arn") => ({ "Fn::GetAtt": [logicalId(construct), attribute] });
const ref = (construct: { node: { defaultChild?: unknown } }) => ({ Ref: logicalId(construct) });
const arn = (service: string, resource: string) => ({
  "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:${service}:`, { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, resource]],
});

beforeAll(() => {
  app = new App({ context: CDK_CONTEXT });
  stack = new Stack(app, "AloftStateMachines");
  controlPlane = new AloftControlPlane(stack, "Aloft", { stage: "prod" });
  taskFunction = new lambda.Function(stack, "Tasks", { runtime: lambda.Runtime.NODEJS_24_X, handler: "index.handler", code: lambda.Code.fromInline("export const handler = async () => 1;") });
  child = new FlowStateMachine(stack, "Child", {
    controlPlane,
    stateMachineName: stateMachineName(controlPlane, "nightly-etl", "load-orders"),
    purpose: "subflow load-orders of deployment nightly-etl",
    type: "STANDARD",
    compiled: CHILD,
    taskFunction,
  });
  parent = new FlowStateMachine(stack, "Parent", {
    controlPlane,
    stateMachineName: stateMachineName(controlPlane, "nightly-etl"),
    purpose: "deployment nightly-etl",
    type: "STANDARD",
    compiled: PARENT,
    taskFunction,
    subflows: { load_orders: child.stateMachine },
  });
  express = new FlowStateMachine(stack, "Express", {
    controlPlane,
    stateMachineName: stateMachineName(controlPlane, "reports/quick.v2"),
    purpose: "deployment reports/quick.v2",
    type: "EXPRESS",
    compiled: CHILD,
    taskFunction,
  });
  sweep = new FlowStateMachine(stack, "Sweep", {
    controlPlane,
    stateMachineName: stateMachineName(controlPlane, "sweep"),
    purpose: "deployment sweep",
    type: "STANDARD",
    compiled: {
      definition: {
        StartAt: "Map load",
        States: {
          "Map load": {
            Type: "Map",
            ItemsPath: "$.params.items",
            ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" }, StartAt: "load", States: (CHILD.definition as { States: unknown }).States },
            End: true,
          },
        },
      },
      substitutions: ["AloftTaskFunctionArn"],
    },
    taskFunction,
  });
  template = Template.fromStack(stack);
});

function machine(construct: FlowStateMachine): Record<string, unknown> {
  return (template.findResources("AWS::StepFunctions::StateMachine")[logicalId(construct.stateMachine)] as { Properties: Record<string, unknown> }).Properties;
}

describe("FlowStateMachine", () => {
  it("deploys the compiled definition as a STANDARD state machine named aloft-<stage>_<deployment>, logging ALL with execution data to the control plane's log group, with X-Ray", () => {
    const properties = machine(parent);
    expect(properties.StateMachineName).toBe("aloft-prod_nightly-etl");
    expect(properties.StateMachineType).toBe("STANDARD");
    expect(properties.DefinitionString).toBe(JSON.stringify(PARENT.definition));
    expect(JSON.parse(properties.DefinitionString as string)).toMatchObject({ StartAt: "extract", States: { extract: { Type: "Task" }, "Subflow load-orders": {}, train: {} } });
    expect(properties.LoggingConfiguration).toEqual({
      Level: "ALL",
      IncludeExecutionData: true,
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: getAtt(controlPlane.stepFunctions.logGroup) } }],
    });
    expect(properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(properties.RoleArn).toEqual(getAtt(parent.role));
  });

  it("fills every placeholder with the resource it names: the task function, the subflow's machine, the runner cluster, task definition, subnets and security group", () => {
    const runners = controlPlane.runners;
    expect(machine(parent).DefinitionSubstitutions).toEqual({
      AloftTaskFunctionArn: getAtt(taskFunction),
      AloftStateMachineArn_load_orders: getAtt(child.stateMachine),
      AloftClusterArn: getAtt(runners.cluster),
      AloftRunnerTaskDefinitionArn: ref(runners.taskDefinition),
      AloftSubnet0: ref(runners.subnets[0]!),
      AloftSubnet1: ref(runners.subnets[1]!),
      AloftSecurityGroupId: getAtt(runners.securityGroup, "GroupId"),
      AloftAssignPublicIp: "ENABLED",
      AloftRunnerContainerName: "runner",
    });
    expect(machine(child).DefinitionSubstitutions).toEqual({ AloftTaskFunctionArn: getAtt(taskFunction) });
  });

  it("lets the parent's role invoke exactly the task function, run exactly its subflow's machine and the runner task, and nothing else", () => {
    const runners = controlPlane.runners;
    expect(statementsOfRole(template, logicalId(parent.role))).toEqual(
      expectedStatements([
        {
          actions: [
            "logs:CreateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:DescribeLogGroups",
            "logs:DescribeResourcePolicies",
            "logs:GetLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:UpdateLogDelivery",
          ],
          resources: ["*"],
        },
        { actions: ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"], resources: ["*"] },
        { actions: ["lambda:InvokeFunction"], resources: [getAtt(taskFunction)] },
        { actions: ["states:StartExecution"], resources: [getAtt(child.stateMachine)] },
        {
          actions: ["states:DescribeExecution", "states:StopExecution"],
          resources: [
            { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":states:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":execution:", getAtt(child.stateMachine, "Name"), ":*"]] },
          ],
        },
        { actions: ["events:DescribeRule", "events:PutRule", "events:PutTargets"], resources: [arn("events", ":rule/StepFunctionsGetEventsForStepFunctionsExecutionRule")] },
        { actions: ["ecs:RunTask"], resources: [ref(runners.taskDefinition)], condition: { ArnEquals: { "ecs:cluster": getAtt(runners.cluster) } } },
        { actions: ["ecs:DescribeTasks", "ecs:StopTask"], resources: [{ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":ecs:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":task/", ref(runners.cluster), "/*"]] }] },
        { actions: ["events:DescribeRule", "events:PutRule", "events:PutTargets"], resources: [arn("events", ":rule/StepFunctionsGetEventsForECSTaskRule")] },
        {
          actions: ["iam:PassRole"],
          resources: [getAtt(runners.taskRole), getAtt(runners.taskDefinition.executionRole!)],
          condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
        },
      ]),
    );
  });

  it("gives a machine that only runs tasks nothing beyond logs, X-Ray and invoking the task function", () => {
    const actions = statementsOfRole(template, logicalId(child.role)).flatMap((statement) => statement.actions);
    expect(actions.filter((action) => !action.startsWith("logs:") && !action.startsWith("xray:"))).toEqual(["lambda:InvokeFunction"]);
  });

  it("lets a machine with a Distributed Map start executions of itself and describe and stop its child executions", () => {
    const own = (resource: string) => ({ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":states:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, resource]] });
    expect(statementsOfRole(template, logicalId(sweep.role)).filter((statement) => !statement.actions.some((action) => action.startsWith("logs:") || action.startsWith("xray:")))).toEqual(
      expectedStatements([
        { actions: ["lambda:InvokeFunction"], resources: [getAtt(taskFunction)] },
        { actions: ["states:StartExecution"], resources: [own(":stateMachine:aloft-prod_sweep")] },
        { actions: ["states:DescribeExecution", "states:StopExecution"], resources: [own(":execution:aloft-prod_sweep/*")] },
      ]),
    );
  });

  it("lets only Step Functions of this account assume a machine's role", () => {
    const role = template.findResources("AWS::IAM::Role")[logicalId(parent.role)] as { Properties: { AssumeRolePolicyDocument: { Statement: unknown[] } } };
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: "sts:AssumeRole",
        Effect: "Allow",
        Principal: { Service: "states.amazonaws.com" },
        Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
      },
    ]);
  });

  it("creates the role's policy before the state machine, which Step Functions checks for log delivery", () => {
    const resource = template.findResources("AWS::StepFunctions::StateMachine")[logicalId(parent.stateMachine)] as { DependsOn: string[] };
    expect(resource.DependsOn).toEqual(expect.arrayContaining([logicalId(parent.role), stack.getLogicalId(parent.role.node.findChild("DefaultPolicy").node.defaultChild as never)]));
  });

  it("gives Fargate tasks a public IP when the runners are in public subnets, whatever the compiled definition says", () => {
    const train = (PARENT.definition as { States: { train: { Parameters: { NetworkConfiguration: { AwsvpcConfiguration: Record<string, unknown> } } } } }).States.train;
    const compiled: CompiledDefinition = {
      definition: {
        StartAt: "train",
        States: {
          train: { ...train, Parameters: { ...train.Parameters, NetworkConfiguration: { AwsvpcConfiguration: { ...train.Parameters.NetworkConfiguration.AwsvpcConfiguration, AssignPublicIp: "DISABLED" } } } },
        },
      },
      substitutions: ["AloftClusterArn", "AloftRunnerTaskDefinitionArn", "AloftSubnet0", "AloftSubnet1", "AloftSecurityGroupId", "AloftRunnerContainerName"],
    };
    const scratch = new Stack(new App({ context: CDK_CONTEXT }), "PublicSubnets");
    const plane = new AloftControlPlane(scratch, "Aloft", { stage: "dev" });
    expect(plane.runners.publicSubnets).toBe(true);
    const machine = new FlowStateMachine(scratch, "Fargate", {
      controlPlane: plane,
      stateMachineName: "aloft-dev_fargate",
      purpose: "deployment fargate",
      type: "STANDARD",
      compiled,
    });
    const definition = JSON.parse(scratch.resolve(machine.stateMachine.definitionString) as string) as typeof PARENT.definition;
    expect((definition as { States: { train: { Parameters: { NetworkConfiguration: unknown } } } }).States.train.Parameters.NetworkConfiguration).toEqual({
      AwsvpcConfiguration: { Subnets: ["${AloftSubnet0}", "${AloftSubnet1}"], SecurityGroups: ["${AloftSecurityGroupId}"], AssignPublicIp: "ENABLED" },
    });
  }, 120_000); // a control plane of its own: six functions bundled

  it("deploys an EXPRESS machine when asked, with names made safe for Step Functions", () => {
    expect(machine(express)).toMatchObject({ StateMachineName: "aloft-prod_reports-quick-v2", StateMachineType: "EXPRESS" });
  });

  it("names long deployments within 80 characters, keeping them apart with a hash", () => {
    const long = stateMachineName(controlPlane, "a".repeat(100));
    expect(long).toHaveLength(80);
    expect(long).toMatch(/^aloft-prod_a{60}-[0-9a-f]{8}$/);
    expect(stateMachineName(controlPlane, "a".repeat(101))).not.toBe(long);
  });

  it("has no unacknowledged cdk-nag AwsSolutions finding on the machines and their roles, Fargate and subflow grants included", () => {
    const machines = [parent, child, express, sweep].map((machine) => machine.node.path);
    const findings = new AwsSolutionsChecks(app).validateScope(app).violations.flatMap((violation) =>
      violation.violatingResources
        .filter((resource) => machines.some((path) => (resource.constructPath ?? "").startsWith(`${path}/`)))
        .map((resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}: ${violation.description}`),
    );
    expect(findings).toEqual([]);
  });

  it("passes cfn-lint with machines that start subflows, Fargate tasks and a Distributed Map", async () => {
    const directory = await mkdtemp(join(tmpdir(), "aloft-state-machines-"));
    try {
      const file = join(directory, "state-machines.template.json");
      await writeFile(file, JSON.stringify(template.toJSON(), null, 1));
      // W3005: CDK adds an explicit DependsOn on each function's role, which a GetAtt already implies.
      const result = await runCfnLint([file], ["--ignore-checks", "W3005"]);
      expect(result.stdout + result.stderr).toBe("");
      expect(result.exitCode).toBe(0);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it("refuses, naming each problem, a placeholder it cannot fill, one the definition uses unlisted, and an EXPRESS machine that waits", () => {
    const scratch = new Stack(new App({ context: CDK_CONTEXT }), "Scratch");
    const plane = new AloftControlPlane(scratch, "Aloft", { stage: "dev" });
    const compiled: CompiledDefinition = { definition: { ...PARENT.definition, Comment: "${AloftMystery}" }, substitutions: [...PARENT.substitutions, "AloftOther"] };
    expect(
      () =>
        new FlowStateMachine(scratch, "Bad", {
          controlPlane: plane,
          stateMachineName: "aloft-dev_bad",
          purpose: "deployment bad",
          type: "EXPRESS",
          compiled,
        }),
    ).toThrow(
      "Scratch/Bad: deployment bad: the definition uses ${AloftMystery}, which its substitutions do not list; ${AloftTaskFunctionArn} needs the bundle's task function; " +
        "${AloftStateMachineArn_load_orders} names a subflow with no state machine; ${AloftOther} is not a placeholder Aloft fills " +
        "(AloftTaskFunctionArn, AloftStateMachineArn_<flow>, AloftClusterArn, AloftRunnerTaskDefinitionArn, AloftSubnet0, AloftSubnet1, AloftSecurityGroupId, AloftRunnerContainerName, AloftAssignPublicIp); " +
        "an EXPRESS state machine cannot wait for arn:aws:states:::states:startExecution.sync:2, arn:aws:states:::ecs:runTask.sync (subflows, Fargate tasks and approvals need STANDARD)",
    );
    expect(() => new FlowStateMachine(scratch, "Unprefixed", { controlPlane: plane, stateMachineName: "etl", purpose: "deployment etl", type: "STANDARD", compiled: CHILD, taskFunction: lambda.Function.fromFunctionName(scratch, "Fn", "tasks") })).toThrow(
      "Scratch/Unprefixed: state machine name etl must start with aloft-dev_, the prefix the control plane starts and mirrors",
    );
  });
});
