import { type RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { acknowledge } from "./acknowledgements.js";
import { stageRunnerImage } from "./runnerImage.js";

/** The runner task definition's container; the dispatcher sets `ALOFT_RUN_ID` on it. */
export const RUNNER_CONTAINER_NAME = "runner";

/** Options for {@link FargateRunners}. */
export interface FargateRunnersProps {
  /** An existing VPC; without one, a small VPC is created (below). */
  vpc?: ec2.IVpc;
  /** Where runner tasks start. Default: the VPC's private subnets with egress, else its public ones. */
  subnets?: ec2.SubnetSelection;
  logRetention: logs.RetentionDays;
  removalPolicy: RemovalPolicy;
  /** vCPU units (1024 = 1 vCPU) and memory of a runner task. */
  cpu: number;
  memoryLimitMiB: number;
  environment: Record<string, string>;
}

/**
 * Where long flow runs execute: an ECS cluster (Container Insights on) and a Fargate arm64 task
 * definition for the runner image, in either the caller's VPC or a new one with two public
 * subnets, no NAT gateway (nothing is billed while idle), gateway endpoints for S3 and DynamoDB,
 * and flow logs.
 */
export class FargateRunners extends Construct {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.ISubnet[];
  /** True when the tasks start in public subnets and need a public IP to reach AWS APIs. */
  readonly publicSubnets: boolean;
  readonly securityGroup: ec2.SecurityGroup;
  readonly cluster: ecs.Cluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly taskRole: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FargateRunnersProps) {
    super(scope, id);
    this.vpc = props.vpc ?? this.smallVpc(props);
    const selection = props.subnets ?? {
      subnetType: this.vpc.privateSubnets.length > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PUBLIC,
    };
    const selected = this.vpc.selectSubnets(selection);
    this.subnets = selected.subnets;
    this.publicSubnets = selected.subnets.every((subnet) => this.vpc.publicSubnets.includes(subnet));
    this.securityGroup = new ec2.SecurityGroup(this, "SecurityGroup", {
      vpc: this.vpc,
      description: "Aloft runner tasks: no inbound traffic, outbound to AWS APIs and flow dependencies",
      allowAllOutbound: true,
    });

    this.cluster = new ecs.Cluster(this, "Cluster", {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.taskRole = new iam.Role(this, "TaskRole", {
      description: "Aloft Fargate runner tasks",
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, "TaskDefinition", {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryLimitMiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      taskRole: this.taskRole,
    });
    this.taskDefinition.addContainer("Runner", {
      containerName: RUNNER_CONTAINER_NAME,
      image: ecs.ContainerImage.fromAsset(stageRunnerImage(this), { platform: Platform.LINUX_ARM64 }),
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: "runner", logGroup: this.logGroup }),
      environment: props.environment,
      essential: true,
    });
    acknowledge(this.taskDefinition, "AwsSolutions-ECS2", "The environment holds resource names (table, bucket, prefix), not secrets.");
    if (this.taskDefinition.executionRole !== undefined) {
      acknowledge(
        this.taskDefinition.executionRole,
        "AwsSolutions-IAM5",
        "ecr:GetAuthorizationToken has no resource-level permissions; ECS needs it to pull the runner image.",
        "Resource::*",
      );
    }
  }

  private smallVpc(props: FargateRunnersProps): ec2.Vpc {
    const flowLogs = new logs.LogGroup(this, "FlowLogs", {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    return new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: "runners", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
      restrictDefaultSecurityGroup: false,
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
      flowLogs: { All: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) } },
    });
  }
}
