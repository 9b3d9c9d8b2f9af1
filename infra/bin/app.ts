#!/usr/bin/env node
/**
 * The CDK app `npx cdk synth|deploy` runs (cdk.json). One stack, `Aloft-<stage>`, holding the
 * control plane; configured by context (`-c key=value`, see docs/deploy-aws.md), never by lookups,
 * so synthesis needs neither credentials nor network. cdk-nag's AwsSolutions pack checks it.
 */
import { Annotations, App, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import { AwsSolutionsChecks } from "cdk-nag";
import { AloftControlPlane, type AloftControlPlaneProps } from "../index.js";

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === null || value === "" ? undefined : String(value);
};
const list = (key: string): string[] =>
  (context(key) ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");

const stage = context("stage") ?? "dev";
const props: AloftControlPlaneProps = { stage };

const alarmEmail = context("alarmEmail");
if (alarmEmail !== undefined) Object.assign(props, { alarmEmail });

const logRetentionDays = context("logRetentionDays");
if (logRetentionDays !== undefined) {
  const days = Number(logRetentionDays);
  const allowed = Object.values(logs.RetentionDays).filter((value): value is number => typeof value === "number");
  if (!allowed.includes(days)) throw new Error(`context logRetentionDays=${logRetentionDays} is not a CloudWatch Logs retention (one of ${allowed.join(", ")})`);
  Object.assign(props, { logRetention: days as logs.RetentionDays });
}

const removalPolicy = context("removalPolicy");
if (removalPolicy !== undefined) {
  const policies: Record<string, RemovalPolicy> = { retain: RemovalPolicy.RETAIN, destroy: RemovalPolicy.DESTROY, snapshot: RemovalPolicy.SNAPSHOT };
  const policy = policies[removalPolicy.toLowerCase()];
  if (policy === undefined) throw new Error(`context removalPolicy=${removalPolicy} must be retain, destroy or snapshot`);
  Object.assign(props, { removalPolicy: policy });
}

const stack = new Stack(app, `Aloft-${stage}`, {
  description: `Aloft control plane (${stage})`,
  // Both unset outside `cdk deploy`: the template is then environment-agnostic.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

const vpcId = context("vpcId");
if (vpcId !== undefined) {
  // An existing VPC, described in full so that no lookup (and no credentials) is needed.
  const availabilityZones = list("vpcAvailabilityZones");
  const privateSubnetIds = list("vpcPrivateSubnetIds");
  const publicSubnetIds = list("vpcPublicSubnetIds");
  if (availabilityZones.length === 0 || privateSubnetIds.length + publicSubnetIds.length === 0) {
    throw new Error(`context vpcId=${vpcId} also needs vpcAvailabilityZones and vpcPrivateSubnetIds or vpcPublicSubnetIds (comma-separated)`);
  }
  const vpc = ec2.Vpc.fromVpcAttributes(stack, "ExistingVpc", {
    vpcId,
    availabilityZones,
    ...(privateSubnetIds.length > 0 ? { privateSubnetIds } : {}),
    ...(publicSubnetIds.length > 0 ? { publicSubnetIds } : {}),
  });
  Annotations.of(vpc).acknowledgeWarning("@aws-cdk/aws-ec2:noSubnetRouteTableId", "The control plane places tasks in subnets and never reads their route tables.");
  Object.assign(props, { vpc });
}

new AloftControlPlane(stack, "Aloft", props);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
