import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { AwsSolutionsChecks } from "cdk-nag";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCfnLint } from "../support/cfnLint.js";
import { synthesizeControlPlane, type SynthesizedControlPlane } from "./controlPlaneFixture.js";

/** Three shapes of the control plane: a dev stage, a prod stage with alarms by e-mail, and one in an existing VPC. */
let variants: Record<string, SynthesizedControlPlane>;
let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "aloft-infra-"));
  variants = {
    dev: synthesizeControlPlane({ stage: "dev" }),
    prod: synthesizeControlPlane({ stage: "prod", alarmEmail: "oncall@example.com" }),
    existingVpc: synthesizeControlPlane({ stage: "team-a" }, (stack) => ({
      vpc: ec2.Vpc.fromVpcAttributes(stack, "ExistingVpc", {
        vpcId: "vpc-0123456789abcdef0",
        availabilityZones: ["eu-west-1a", "eu-west-1b"],
        privateSubnetIds: ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"],
        privateSubnetRouteTableIds: ["rtb-0aaaaaaaaaaaaaaa1", "rtb-0bbbbbbbbbbbbbbb2"],
      }),
    })),
  };
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("compliance", () => {
  it("has no unacknowledged cdk-nag AwsSolutions finding, errors or warnings", () => {
    const findings = Object.entries(variants).flatMap(([variant, { app }]) =>
      new AwsSolutionsChecks(app).validateScope(app).violations.flatMap((violation) =>
        violation.violatingResources.map((resource) => `${variant}: ${violation.severity} ${violation.ruleName} at ${resource.constructPath}: ${violation.description}`),
      ),
    );
    expect(findings).toEqual([]);
  });

  it("acknowledges each IAM wildcard narrowly, with a reason", () => {
    const { app } = variants.prod!;
    const acknowledged = app.node
      .findAll()
      .flatMap((construct) => construct.node.metadata.filter((entry) => entry.type === "aws:cdk:acknowledged-rules"))
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const [rule, reason] of acknowledged) {
      expect(reason.length, rule).toBeGreaterThan(30);
      if (rule.includes("IAM5")) expect(rule, "an IAM5 acknowledgement names the one wildcard it allows").toMatch(/IAM5\[(Resource|Action)::.+\]$/);
    }
  });

  it("runs the existing-VPC control plane's tasks in the given private subnets, without public IPs", () => {
    const { controlPlane } = variants.existingVpc!;
    expect(controlPlane.runners.subnets.map((subnet) => subnet.subnetId)).toEqual(["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]);
    expect(controlPlane.runners.publicSubnets).toBe(false);
    variants.existingVpc!.template.resourceCountIs("AWS::EC2::VPC", 0);
  });

  it("passes cfn-lint without errors or warnings", async () => {
    const files = await Promise.all(
      Object.entries(variants).map(async ([variant, { template }]) => {
        const file = join(directory, `${variant}.template.json`);
        await writeFile(file, JSON.stringify(template.toJSON(), null, 1));
        return file;
      }),
    );
    // W3005: CDK adds an explicit DependsOn on each function's role, which a GetAtt already implies.
    const result = await runCfnLint(files, ["--ignore-checks", "W3005"]);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
  });
});
