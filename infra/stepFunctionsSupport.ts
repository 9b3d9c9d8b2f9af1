import { type RemovalPolicy } from "aws-cdk-lib";
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
 * execution data) and the role they run as, which may deliver those logs and X-Ray traces. What a
 * state machine invokes is granted to {@link StepFunctionsSupport.role} by whoever deploys it.
 */
export class StepFunctionsSupport extends Construct {
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;
  /** The `LoggingConfiguration` every deployed state machine uses. */
  readonly loggingConfiguration: sfn.CfnStateMachine.LoggingConfigurationProperty;
  /** The `TracingConfiguration` every deployed state machine uses (X-Ray on). */
  readonly tracingConfiguration: sfn.CfnStateMachine.TracingConfigurationProperty = { enabled: true };

  constructor(scope: Construct, id: string, props: StepFunctionsSupportProps) {
    super(scope, id);
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
    this.role = new iam.Role(this, "Role", {
      description: `Assumed by Aloft's deployed state machines (${props.stage})`,
      assumedBy: new iam.ServicePrincipal("states.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": this.logGroup.stack.account } },
      }),
    });
    this.role.addToPrincipalPolicy(
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
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"],
        resources: ["*"],
      }),
    );
    acknowledge(
      this.role,
      "AwsSolutions-IAM5",
      "Step Functions log delivery (logs:*LogDelivery, resource policies) and X-Ray tracing support no resource-level permissions; AWS documents '*' for both.",
      "Resource::*",
    );
  }
}
