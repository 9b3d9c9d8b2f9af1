import { Stack, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * Acknowledges one cdk-nag finding on one construct, with the reason it is acceptable. `finding`
 * narrows it to one wildcard (`Resource::…`, `Action::…`, `Policy::…`); the tokens in it are rendered
 * the way cdk-nag renders them (`<LogicalId.Arn>`), so the acknowledgement follows the resource
 * wherever the control plane sits in the construct tree.
 */
export function acknowledge(scope: IConstruct, rule: string, reason: string, finding?: string): void {
  Validations.of(scope).acknowledge({ id: finding === undefined ? rule : `${rule}[${finding}]`, reason });
}

/** `Resource::<value>` for a resource ARN that may contain tokens (`${table.tableArn}/index/*`). */
export function resourceFinding(scope: IConstruct, value: string): string {
  return `Resource::${flatten(Stack.of(scope).resolve(value))}`;
}

/** cdk-nag's rendering of a CloudFormation value (utils/flatten-cfn-reference in cdk-nag). */
function flatten(node: unknown): string {
  if (node === undefined) return "";
  if (typeof node === "string") return node.replace(/\$\{/g, "<").replace(/\}/g, ">");
  if (typeof node === "object" && node !== null) {
    const record = node as Record<string, unknown>;
    if (Array.isArray(record["Fn::Join"])) {
      const [delimiter, items] = record["Fn::Join"] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (record["Fn::Sub"] !== undefined) return flatten(record["Fn::Sub"]);
    if (Array.isArray(record["Fn::GetAtt"])) {
      const [resource, attribute] = record["Fn::GetAtt"] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (record["Fn::ImportValue"] !== undefined) return flatten(record["Fn::ImportValue"]);
    if (record.Ref !== undefined) return `<${flatten(record.Ref)}>`;
  }
  return JSON.stringify(node);
}
