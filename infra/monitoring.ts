import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import type * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRICS_NAMESPACE, serviceName, type HandlerName } from "./handlerFunction.js";

/** Options for {@link Monitoring}. */
export interface MonitoringProps {
  stage: string;
  removalPolicy: RemovalPolicy;
  functions: Record<string, lambda.IFunction>;
  api: apigw.HttpApi;
  workQueue: sqs.IQueue;
  deadLetterQueue: sqs.IQueue;
  alarmEmail?: string;
  /** Percent of finished flow runs that failed, over 15 minutes, above which the failure-rate alarm fires. */
  failureRatePercent: number;
}

/**
 * A CloudWatch dashboard and the alarms that page: messages in the dead-letter queue, errors
 * and throttles of each function, API 5xx responses, and the share of flow runs that failed
 * (the API's `FlowRunsFailed` / `FlowRunsFinished` metrics: namespace `Aloft`, dimension
 * `service=aloft-api`). Alarms go to an
 * SNS topic (KMS-encrypted, TLS only), with an optional e-mail subscription.
 */
export class Monitoring extends Construct {
  readonly topicKey: kms.Key;
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topicKey = new kms.Key(this, "TopicKey", {
      description: "Aloft: encrypts the alarm topic",
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic.
    this.topicKey.grant(new iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey");
    this.alarmTopic = new sns.Topic(this, "AlarmTopic", {
      displayName: `Aloft alarms (${props.stage})`,
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    if (props.alarmEmail !== undefined) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.alarmTopic);
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, alarmId, alarmProps);
      created.addAlarmAction(action);
      this.alarms.push(created);
      return created;
    };

    const deadLetters = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: "Maximum" });
    alarm("DeadLetterQueueAlarm", {
      alarmDescription: "Work messages failed five deliveries and wait in the dead-letter queue",
      metric: deadLetters,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const [name, fn] of Object.entries(props.functions)) {
      const title = name[0]!.toUpperCase() + name.slice(1);
      alarm(`${title}ErrorsAlarm`, {
        alarmDescription: `The ${name} function reported errors`,
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: "Sum" }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm(`${title}ThrottlesAlarm`, {
        alarmDescription: `The ${name} function was throttled`,
        metric: fn.metricThrottles({ period: Duration.minutes(5), statistic: "Sum" }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    const serverErrors = props.api.metricServerError({ period: Duration.minutes(5), statistic: "Sum" });
    alarm("ApiServerErrorsAlarm", {
      alarmDescription: "The API answered with 5xx responses",
      metric: serverErrors,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Runs finish where their last state is written: through the API, in the runner, by the mirror
    // (Step Functions) or the dispatcher. Each publishes under its own service; the rate sums them.
    const FINISHING: HandlerName[] = ["api", "runner", "mirror", "dispatcher"];
    const flowMetricOf = (metricName: string, handler: HandlerName) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: serviceName(handler) }, statistic: "Sum", period: Duration.minutes(15) });
    const sumOf = (prefix: string) => FINISHING.map((handler) => `FILL(${prefix}_${handler}, 0)`).join(" + ");
    const usingMetrics = Object.fromEntries(
      FINISHING.flatMap((handler) => [
        [`failed_${handler}`, flowMetricOf("FlowRunsFailed", handler)],
        [`finished_${handler}`, flowMetricOf("FlowRunsFinished", handler)],
      ]),
    );
    const failureRate = new cloudwatch.MathExpression({
      expression: `IF((${sumOf("finished")}) > 0, 100 * (${sumOf("failed")}) / (${sumOf("finished")}), 0)`,
      usingMetrics,
      label: "Failed flow runs (% of finished)",
      period: Duration.minutes(15),
    });
    const flowMetric = (metricName: string) =>
      new cloudwatch.MathExpression({
        expression: FINISHING.map((handler) => `FILL(${metricName === "FlowRunsFailed" ? "failed" : "finished"}_${handler}, 0)`).join(" + "),
        usingMetrics,
        label: metricName,
        period: Duration.minutes(15),
      });
    alarm("FlowRunFailureRateAlarm", {
      alarmDescription: `More than ${props.failureRatePercent}% of the flow runs that finished in 15 minutes failed`,
      metric: failureRate,
      threshold: props.failureRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const functions = Object.entries(props.functions);
    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: `aloft-${props.stage}`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: "API requests", left: [props.api.metricCount({ statistic: "Sum" })], right: [serverErrors, props.api.metricClientError({ statistic: "Sum" })] }),
      new cloudwatch.GraphWidget({ title: "API latency (p50, p99)", left: [props.api.metricLatency({ statistic: "p50" }), props.api.metricLatency({ statistic: "p99" })] }),
      new cloudwatch.GraphWidget({ title: "Flow runs", left: [flowMetric("FlowRunsFinished"), flowMetric("FlowRunsFailed")], right: [failureRate] }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: "Function errors", left: functions.map(([name, fn]) => fn.metricErrors({ label: name, statistic: "Sum" })) }),
      new cloudwatch.GraphWidget({ title: "Function duration (p99)", left: functions.map(([name, fn]) => fn.metricDuration({ label: name, statistic: "p99" })) }),
      new cloudwatch.GraphWidget({
        title: "Work queue",
        left: [props.workQueue.metricApproximateNumberOfMessagesVisible({ label: "waiting" }), props.workQueue.metricApproximateAgeOfOldestMessage({ label: "oldest (s)" })],
        right: [deadLetters],
      }),
    );
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms: this.alarms, width: 24 }));
  }
}
