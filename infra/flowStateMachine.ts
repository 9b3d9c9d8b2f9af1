import { createHash } from "node:crypto";
import { ArnFormat, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import type { AloftControlPlane } from "./controlPlane.js";
import { acknowledgeWildcards } from "./handlerFunction.js";
import { RUNNER_CONTAINER_NAME } from "./runners.js";

/** Standard (exactly once, up to a year, the default) or Express (at least once, up to five minutes). */
export type StateMachineType = "STANDARD" | "EXPRESS";

/** A definition compiled from a flow, as `compileFlow` returns it (the parts a state machine needs). */
export interface CompiledDefinition {
  /** The Amazon States Language definition (JSONPath), with `${Name}` placeholders. */
  readonly definition: Record<string, unknown>;
  /** The placeholder names the definition uses, without `${}`. */
  readonly substitutions: readonly string[];
}

/** Options for {@link FlowStateMachine}. */
export interface FlowStateMachineProps {
  readonly controlPlane: AloftControlPlane;
  /** The state machine's name; it must start with the control plane's `stepFunctions.namePrefix`. */
  readonly stateMachineName: string;
  /** What the role's description names (`deployment nightly-etl`, `subflow load of nightly-etl`). */
  readonly purpose: string;
  readonly type: StateMachineType;
  readonly compiled: CompiledDefinition;
  /** The bundle's task Lambda; required when the definition invokes it. */
  readonly taskFunction?: lambda.IFunction;
  /** The state machines of the flow's subflows, by the sanitized flow name of their placeholders. */
  readonly subflows?: Readonly<Record<string, sfn.CfnStateMachine>>;
}

const TASK_FUNCTION = "AloftTaskFunctionArn";
const SUBFLOW_PREFIX = "AloftStateMachineArn_";
const FARGATE_PLACEHOLDERS = ["AloftClusterArn", "AloftRunnerTaskDefinitionArn", "AloftSubnet0", "AloftSubnet1", "AloftSecurityGroupId", "AloftRunnerContainerName", "AloftAssignPublicIp"];

/**
 * One state machine compiled from a flow: the definition with its placeholders filled by
 * DefinitionSubstitutions (the task Lambda, the subflows' state machines, the control plane's
 * Fargate runner cluster, task definition, subnets and security group), logging level ALL with
 * execution data to the control plane's Step Functions log group, X-Ray tracing, and a role of its
 * own allowed exactly what the definition invokes: `lambda:InvokeFunction` on the task function;
 * for subflows `states:StartExecution` on their machines, `DescribeExecution` / `StopExecution`
 * on their executions and the managed EventBridge rule `.sync` needs; for Fargate tasks
 * `ecs:RunTask` of the runner task definition in the cluster, `ecs:StopTask` / `DescribeTasks`
 * of tasks in the cluster, the rule, and `iam:PassRole` of the task's two roles to ECS; for a
 * Distributed Map, `states:StartExecution` on itself and `DescribeExecution` / `StopExecution` of
 * its child executions.
 *
 * @example
 * ```ts
 * const machine = new FlowStateMachine(this, "NightlyEtl", {
 *   controlPlane,
 *   stateMachineName: stateMachineName(controlPlane, "nightly-etl"),
 *   purpose: "deployment nightly-etl",
 *   type: "STANDARD",
 *   compiled: await compileFlow(etl),
 *   taskFunction,
 * });
 * machine.stateMachine.attrArn;
 * ```
 */
export class FlowStateMachine extends Construct {
  readonly stateMachine: sfn.CfnStateMachine;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: FlowStateMachineProps) {
    super(scope, id);
    const { controlPlane, compiled } = props;
    const support = controlPlane.stepFunctions;
    if (!props.stateMachineName.startsWith(support.namePrefix)) {
      throw new Error(`${this.node.path}: state machine name ${props.stateMachineName} must start with ${support.namePrefix}, the prefix the control plane starts and mirrors`);
    }
    const body = JSON.stringify(placeFargateTasks(compiled.definition, controlPlane.runners.publicSubnets));
    validateDefinition(this.node.path, props, body);

    this.role = support.createRole(this, "Role", `Aloft state machine of ${props.purpose}`);
    const allow = (actions: string[], resources: string[], reason?: string, conditions?: Record<string, Record<string, unknown>>) => {
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources, ...(conditions ? { conditions } : {}) }));
      acknowledgeWildcards(this.role, resources, reason);
    };
    const stack = Stack.of(this);
    const substitutions: Record<string, string> = {};
    const used = new Set(compiled.substitutions);

    if (used.has(TASK_FUNCTION)) {
      const taskFunction = props.taskFunction!;
      substitutions[TASK_FUNCTION] = taskFunction.functionArn;
      allow(["lambda:InvokeFunction"], [taskFunction.functionArn]);
    }

    const children = compiled.substitutions.filter((name) => name.startsWith(SUBFLOW_PREFIX)).sort();
    if (children.length > 0) {
      const machines = children.map((name) => props.subflows![name.slice(SUBFLOW_PREFIX.length)]!);
      children.forEach((name, index) => (substitutions[name] = machines[index]!.attrArn));
      allow(["states:StartExecution"], machines.map((machine) => machine.attrArn));
      const executions = machines.map((machine) =>
        stack.formatArn({ service: "states", resource: "execution", resourceName: `${machine.attrName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      );
      allow(["states:DescribeExecution", "states:StopExecution"], executions, "startExecution.sync describes and stops the child executions it starts, whose names Step Functions generates.");
      allow(["events:DescribeRule", "events:PutRule", "events:PutTargets"], [managedRule(stack, "StepFunctionsGetEventsForStepFunctionsExecutionRule")]);
    }

    if (body.includes('"Mode":"DISTRIBUTED"')) {
      // A Distributed Map runs its items as child executions of this same machine. Its ARN is built from the
      // name (a token would make the role's policy depend on the machine, which depends on the role).
      const self = stack.formatArn({ service: "states", resource: "stateMachine", resourceName: props.stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
      const children = stack.formatArn({ service: "states", resource: "execution", resourceName: `${props.stateMachineName}/*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
      allow(["states:StartExecution"], [self]);
      allow(["states:DescribeExecution", "states:StopExecution"], [children], "A Distributed Map describes and stops the child executions it starts for its items, whose names Step Functions generates.");
    }

    if (FARGATE_PLACEHOLDERS.some((name) => used.has(name))) {
      const runners = controlPlane.runners;
      const subnets = runners.subnets.map((subnet) => subnet.subnetId);
      Object.assign(substitutions, {
        AloftClusterArn: runners.cluster.clusterArn,
        AloftRunnerTaskDefinitionArn: runners.taskDefinition.taskDefinitionArn,
        AloftSubnet0: subnets[0]!,
        AloftSubnet1: subnets[1] ?? subnets[0]!,
        AloftSecurityGroupId: runners.securityGroup.securityGroupId,
        AloftRunnerContainerName: RUNNER_CONTAINER_NAME,
        AloftAssignPublicIp: runners.publicSubnets ? "ENABLED" : "DISABLED",
      });
      for (const name of FARGATE_PLACEHOLDERS) if (!used.has(name)) delete substitutions[name];
      allow(["ecs:RunTask"], [runners.taskDefinition.taskDefinitionArn], undefined, { ArnEquals: { "ecs:cluster": runners.cluster.clusterArn } });
      const tasks = stack.formatArn({ service: "ecs", resource: "task", resourceName: `${runners.cluster.clusterName}/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
      allow(["ecs:DescribeTasks", "ecs:StopTask"], [tasks], "runTask.sync describes and stops the runner tasks it starts in the runner cluster; their ids are only known at run time.");
      allow(["events:DescribeRule", "events:PutRule", "events:PutTargets"], [managedRule(stack, "StepFunctionsGetEventsForECSTaskRule")]);
      allow(["iam:PassRole"], [runners.taskRole.roleArn, runners.taskDefinition.obtainExecutionRole().roleArn], undefined, {
        StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
      });
    }

    this.stateMachine = new sfn.CfnStateMachine(this, "Resource", {
      stateMachineName: props.stateMachineName,
      stateMachineType: props.type,
      roleArn: this.role.roleArn,
      definitionString: body,
      ...(Object.keys(substitutions).length > 0 ? { definitionSubstitutions: substitutions } : {}),
      loggingConfiguration: support.loggingConfiguration,
      tracingConfiguration: support.tracingConfiguration,
    });
    // Step Functions checks at creation that the role may deliver logs: the policy must exist first.
    this.stateMachine.node.addDependency(this.role);
  }
}

/**
 * The name of a deployment's state machine: the stage's prefix and the deployment name with every
 * character Step Functions does not allow replaced by `-`; names over 80 characters keep their
 * first 71 and a hash of the whole.
 *
 * @example
 * ```ts
 * stateMachineName(controlPlane, "reports/nightly.v2"); // "aloft-prod_reports-nightly-v2"
 * ```
 */
export function stateMachineName(controlPlane: AloftControlPlane, ...parts: string[]): string {
  const name = `${controlPlane.stepFunctions.namePrefix}${parts.map((part) => part.replace(/[^A-Za-z0-9_-]/g, "-")).join("_")}`;
  if (name.length <= 80) return name;
  return `${name.slice(0, 71)}-${createHash("sha256").update(name).digest("hex").slice(0, 8)}`;
}

/**
 * The definition with every `ecs:runTask` state's AssignPublicIp set for where the runners are: a
 * task in a public subnet (the default VPC has no NAT gateway) needs a public IP to pull its image
 * and reach AWS, so a compiled `"DISABLED"` becomes `"ENABLED"` there. The network is the deployment's
 * choice, not the flow's; a `${AloftAssignPublicIp}` placeholder is left for the substitution.
 */
function placeFargateTasks(definition: Record<string, unknown>, publicSubnets: boolean): Record<string, unknown> {
  if (!publicSubnets) return definition;
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (typeof node !== "object" || node === null) return node;
    const copy = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, visit(value)])) as Record<string, unknown>;
    const network = ((copy.Parameters as Record<string, unknown> | undefined)?.NetworkConfiguration as Record<string, unknown> | undefined)?.AwsvpcConfiguration as
      | Record<string, unknown>
      | undefined;
    if (typeof copy.Resource === "string" && copy.Resource.startsWith("arn:aws:states:::ecs:runTask") && network?.AssignPublicIp === "DISABLED") {
      network.AssignPublicIp = "ENABLED";
    }
    return copy;
  };
  return visit(definition) as Record<string, unknown>;
}

/** The EventBridge rule Step Functions manages for `.sync` integrations of one service. */
function managedRule(stack: Stack, name: string): string {
  return stack.formatArn({ service: "events", resource: "rule", resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
}

/** Refuses, at synth, a definition whose placeholders this construct cannot fill, or an Express machine that waits. */
function validateDefinition(path: string, props: FlowStateMachineProps, body: string): void {
  const problems: string[] = [];
  const declared = new Set(props.compiled.substitutions);
  const inBody = new Set([...body.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((match) => match[1]!));
  for (const name of inBody) if (!declared.has(name)) problems.push(`the definition uses \${${name}}, which its substitutions do not list`);
  for (const name of declared) {
    if (name === TASK_FUNCTION) {
      if (props.taskFunction === undefined) problems.push(`\${${name}} needs the bundle's task function`);
    } else if (name.startsWith(SUBFLOW_PREFIX)) {
      if (props.subflows?.[name.slice(SUBFLOW_PREFIX.length)] === undefined) problems.push(`\${${name}} names a subflow with no state machine`);
    } else if (!FARGATE_PLACEHOLDERS.includes(name)) {
      problems.push(`\${${name}} is not a placeholder Aloft fills (${[TASK_FUNCTION, `${SUBFLOW_PREFIX}<flow>`, ...FARGATE_PLACEHOLDERS].join(", ")})`);
    }
  }
  if (props.type === "EXPRESS") {
    // Express workflows support neither .sync nor .waitForTaskToken integrations.
    const waiting = [...new Set([...body.matchAll(/"Resource":"(arn:aws:states:::[^"]+\.(?:sync(?::2)?|waitForTaskToken))"/g)].map((match) => match[1]!))];
    if (waiting.length > 0) problems.push(`an EXPRESS state machine cannot wait for ${waiting.join(", ")} (subflows, Fargate tasks and approvals need STANDARD)`);
  }
  if (problems.length > 0) throw new Error(`${path}: ${props.purpose}: ${problems.join("; ")}`);
}
