import { Stack, type RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { acknowledge } from "./acknowledgements.js";

/** Options for {@link StepFunctionsSupport}. */
export interface StepFunctionsSupportProps {
  stage: string;
  logRetention: logs.RetentionDays;
  removalPolicy: RemovalPolicy;
}

/**
 * What state machines compiled from flows share: the log group they log to (level ALL, with
 * execution data), their logging and tracing settings, and the name prefix (`aloft-<stage>_`) the
 * dispatcher may start and the mirror listens to. Each state machine runs as its own role, made by
 * {@link StepFunctionsSupport.createRole}, to which its deployer grants exactly what it invokes.
 */
export class StepFunctionsSupport extends Construct {
  readonly logGroup: logs.LogGroup;
  /**
   * `aloft-<stage>_`: every state machine Aloft deploys in this stage is named with it. Stages have
   * no `_`, so one stage's prefix never matches another's (`aloft-dev_` is not a prefix of `aloft-dev-alice_…`).
   */
  readonly namePrefix: string;
  /** The `LoggingConfiguration` every deployed state machine uses. */
  readonly loggingConfiguration: sfn.CfnStateMachine.LoggingConfigurationProperty;
  /** The `TracingConfiguration` every deployed state machine uses (X-Ray on). */
  readonly tracingConfiguration: sfn.CfnStateMachine.TracingConfigurationProperty = { enabled: true };
  private readonly stage: string;

  constructor(scope: Construct, id: string, props: StepFunctionsSupportProps) {
    super(scope, id);
    this.stage = props.stage;
    this.namePrefix = `aloft-${props.stage}_`;
    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      // The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy small for many state machines.
      logGroupName: `/aws/vendedlogs/states/aloft-${props.stage}`,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.loggingConfiguration = {
      level: "ALL",
      includeExecutionData: true,
      destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: this.logGroup.logGroupArn } }],
    };
  }

  /**
   * A role for one state machine, assumed by Step Functions on behalf of this account only, that may
   * deliver its logs and X-Ray traces and nothing else yet.
   *
   * @example
   * ```ts
   * const role = controlPlane.stepFunctions.createRole(this, "EtlRole", "Aloft state machine of nightly-etl");
   * role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [taskFunction.functionArn] }));
   * ```
   */
  createRole(scope: Construct, id: string, description: string): iam.Role {
    const role = new iam.Role(scope, id, {
      description: `${description} (${this.stage})`,
      assumedBy: new iam.ServicePrincipal("states.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": Stack.of(scope).account } },
      }),
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          "logs:CreateLogDelivery",
          "logs:GetLogDelivery",
          "logs:UpdateLogDelivery",
          "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries",
          "logs:PutResourcePolicy",
          "logs:DescribeResourcePolicies",
          "logs:DescribeLogGroups",
        ],
        resources: ["*"],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"],
        resources: ["*"],
      }),
    );
    acknowledge(
      role,
      "AwsSolutions-IAM5",
      "Step Functions log delivery (logs:*LogDelivery, resource policies) and X-Ray tracing support no resource-level permissions; AWS documents '*' for both.",
      "Resource::*",
    );
    return role;
  }
}
