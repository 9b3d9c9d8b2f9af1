import { readFileSync } from "node:fs";
import { App, Stack, type CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { AloftControlPlane, type AloftControlPlaneProps } from "../../infra/index.js";

/** The feature flags and defaults `npx cdk synth` runs with, so tests see the template that deploys. */
const CDK_CONTEXT = (JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as { context: Record<string, unknown> }).context;

/** A control plane in its own app and stack, synthesized once (functions bundled by esbuild). */
export interface SynthesizedControlPlane {
  app: App;
  stack: Stack;
  controlPlane: AloftControlPlane;
  template: Template;
  /** `{ "Fn::GetAtt": [<logical id>, "Arn"] }` and friends, as the template spells them. */
  ref: (construct: IConstruct) => { Ref: string };
  getAtt: (construct: IConstruct, attribute: string) => { "Fn::GetAtt": [string, string] };
  logicalId: (construct: IConstruct) => string;
}

/**
 * Synthesizes a control plane with the given props (plus `configure` for stack-level extras such
 * as an imported VPC).
 */
export function synthesizeControlPlane(
  props: AloftControlPlaneProps = {},
  configure?: (stack: Stack) => Partial<AloftControlPlaneProps>,
): SynthesizedControlPlane {
  const app = new App({ context: CDK_CONTEXT });
  const stack = new Stack(app, "AloftTest");
  const controlPlane = new AloftControlPlane(stack, "Aloft", { ...props, ...configure?.(stack) });
  const template = Template.fromStack(stack);
  const logicalId = (construct: IConstruct): string => {
    const element = (construct.node.defaultChild ?? construct) as CfnElement;
    return stack.resolve(element.logicalId) as string;
  };
  return {
    app,
    stack,
    controlPlane,
    template,
    logicalId,
    ref: (construct) => ({ Ref: logicalId(construct) }),
    getAtt: (construct, attribute) => ({ "Fn::GetAtt": [logicalId(construct), attribute] }),
  };
}

/** One IAM statement, normalized for order-insensitive comparison. */
export interface NormalizedStatement {
  actions: string[];
  resources: unknown[];
  condition?: unknown;
}

/** Every Allow statement of the policies attached to a role, normalized (actions and resources sorted). */
export function statementsOfRole(template: Template, roleLogicalId: string): NormalizedStatement[] {
  const policies = template.findResources("AWS::IAM::Policy");
  const statements: NormalizedStatement[] = [];
  for (const policy of Object.values(policies) as { Properties: { Roles: unknown[]; PolicyDocument: { Statement: Record<string, unknown>[] } } }[]) {
    if (!policy.Properties.Roles.some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleLogicalId }))) continue;
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      if (statement.Effect !== "Allow") continue;
      statements.push(normalize({ actions: asArray(statement.Action) as string[], resources: asArray(statement.Resource), condition: statement.Condition }));
    }
  }
  return sortStatements(statements);
}

/** Normalizes and sorts expected statements the same way as {@link statementsOfRole}. */
export function expectedStatements(statements: NormalizedStatement[]): NormalizedStatement[] {
  return sortStatements(statements.map(normalize));
}

function normalize(statement: NormalizedStatement): NormalizedStatement {
  const normalized: NormalizedStatement = {
    actions: [...statement.actions].sort(),
    resources: [...statement.resources].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
  };
  if (statement.condition !== undefined) normalized.condition = statement.condition;
  return normalized;
}

function sortStatements(statements: NormalizedStatement[]): NormalizedStatement[] {
  return [...statements].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/** `{ "Fn::Join": ["", [arn, suffix]] }`: an ARN with a path appended, as CDK renders it. */
export function arnWithSuffix(arn: unknown, suffix: string): unknown {
  return { "Fn::Join": ["", [arn, suffix]] };
}
