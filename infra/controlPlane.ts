import { ArnFormat, CfnOutput, Duration, Fn, RemovalPolicy, Stack } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import * as logsDestinations from "aws-cdk-lib/aws-logs-destinations";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { acknowledge } from "./acknowledgements.js";
import { BUNDLE_PREFIX, DataStores, PAYLOAD_PREFIX } from "./dataStores.js";
import { HandlerFunction, acknowledgeWildcards, type HandlerName } from "./handlerFunction.js";
import { ControlPlaneHttpApi } from "./httpApi.js";
import { Messaging } from "./messaging.js";
import { Monitoring } from "./monitoring.js";
import { FargateRunners } from "./runners.js";
import { StepFunctionsSupport } from "./stepFunctionsSupport.js";

/** Options for {@link AloftControlPlane}; every one has a default. */
export interface AloftControlPlaneProps {
  /**
   * Names the deployment (`dev`, `prod`, `team-a`…): lower-case letters, digits and dashes, at most
   * 20 characters. A stage named `dev` or `dev-…` is a dev stage: no deletion protection, and its
   * data is destroyed with the stack unless `removalPolicy` says otherwise.
   * @default "dev"
   */
  readonly stage?: string;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Where alarm notifications are e-mailed (the address confirms the subscription). @default - no subscription */
  readonly alarmEmail?: string;
  /** What happens to the table, bucket, keys and logs when the stack goes. @default DESTROY in dev stages, else RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** DynamoDB deletion protection. @default true outside dev stages */
  readonly deletionProtection?: boolean;
  /**
   * An existing VPC for Fargate runners (for example `ec2.Vpc.fromVpcAttributes`, which needs no
   * lookup). @default - a new VPC: two public subnets, no NAT gateway, S3 and DynamoDB gateway endpoints
   */
  readonly vpc?: ec2.IVpc;
  /** Where runner tasks start. @default - private subnets with egress if the VPC has any, else public ones */
  readonly runnerSubnets?: ec2.SubnetSelection;
  /** API Gateway throttling for the whole API. @default { rateLimit: 100, burstLimit: 200 } */
  readonly apiThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** Failure-rate alarm threshold, in percent of finished flow runs over 15 minutes. @default 10 */
  readonly failureRateAlarmPercent?: number;
}

/** Item actions of the single-table store: no Scan (sweeping expired items happens only locally). */
const RUN_STATE_ACTIONS = ["dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"];
const KEY_USE = ["kms:Decrypt", "kms:GenerateDataKey"];

/**
 * The whole Aloft control plane in a team's AWS account: an HTTP API (IAM-signed requests) on
 * Lambda, the run-state table, payload bucket, work queue, event bus, schedule group, Fargate
 * runners, Step Functions support, webhook signing key, and the alarms and dashboard that watch
 * them. Its public properties are what code bundles and state machines deployed later attach to.
 *
 * @example
 * ```ts
 * import { App, Stack } from "aws-cdk-lib";
 * import { AloftControlPlane } from "aloft/infra";
 *
 * const app = new App();
 * const stack = new Stack(app, "Aloft-prod");
 * new AloftControlPlane(stack, "Aloft", { stage: "prod", alarmEmail: "oncall@example.com" });
 * ```
 */
export class AloftControlPlane extends Construct {
  readonly stage: string;
  readonly data: DataStores;
  readonly messaging: Messaging;
  readonly functions: Readonly<Record<HandlerName, HandlerFunction>>;
  readonly httpApi: ControlPlaneHttpApi;
  readonly runners: FargateRunners;
  readonly stepFunctions: StepFunctionsSupport;
  readonly webhookSigningKey: secretsmanager.Secret;
  readonly monitoring: Monitoring;
  /** The API's base URL, for `aloft login --api <url>`. */
  readonly apiUrl: string;

  constructor(scope: Construct, id: string, props: AloftControlPlaneProps = {}) {
    super(scope, id);
    validateProps(props);
    const stage = props.stage ?? "dev";
    const dev = isDevStage(stage);
    const removalPolicy = props.removalPolicy ?? (dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.stage = stage;

    this.data = new DataStores(this, "Data", { removalPolicy, deletionProtection: props.deletionProtection ?? !dev });
    const { table, tableKey, bucket, bucketKey } = this.data;
    const dispatcherTimeout = Duration.seconds(60);
    this.messaging = new Messaging(this, "Messaging", { stage, removalPolicy, dispatcherTimeout });
    const { workQueue, queueKey } = this.messaging;

    const runnerEnvironment = {
      ALOFT_TABLE_NAME: table.tableName,
      ALOFT_PAYLOAD_BUCKET: bucket.bucketName,
      ALOFT_BUNDLE_PREFIX: BUNDLE_PREFIX,
    };
    this.runners = new FargateRunners(this, "Runners", {
      ...(props.vpc ? { vpc: props.vpc } : {}),
      ...(props.runnerSubnets ? { subnets: props.runnerSubnets } : {}),
      logRetention,
      removalPolicy,
      cpu: 1024,
      memoryLimitMiB: 2048,
      environment: runnerEnvironment,
    });

    const secretsKey = new kms.Key(this, "SecretsKey", {
      description: "Aloft: encrypts webhook signing keys",
      enableKeyRotation: true,
      removalPolicy,
    });
    this.webhookSigningKey = new secretsmanager.Secret(this, "WebhookSigningKey", {
      description: "Aloft: HMAC key webhook senders sign requests with",
      encryptionKey: secretsKey,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy,
    });
    acknowledge(
      this.webhookSigningKey,
      "AwsSolutions-SMG4",
      "A webhook signing key is shared with the sending system; rotating it is a coordinated change (new key in the sender first), not an automatic rotation.",
    );

    this.stepFunctions = new StepFunctionsSupport(this, "StepFunctions", { stage, logRetention, removalPolicy });
    const stateMachines = Stack.of(this).formatArn({
      service: "states",
      resource: "stateMachine",
      resourceName: this.stepFunctions.namePrefix,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    const make = (handler: HandlerName, description: string, timeout: Duration, memorySize: number, environment: Record<string, string>) =>
      new HandlerFunction(this, `${handler[0]!.toUpperCase()}${handler.slice(1)}Function`, {
        handler,
        description,
        stage,
        logRetention,
        removalPolicy,
        timeout,
        memorySize,
        environment,
      });
    const runner = make("runner", "Aloft runner: executes one flow run durably", Duration.minutes(15), 1024, runnerEnvironment);
    const api = make("api", "Aloft API (HTTP API, payload format 2.0)", Duration.seconds(29), 1024, {
      ALOFT_TABLE_NAME: table.tableName,
      ALOFT_PAYLOAD_BUCKET: bucket.bucketName,
      ALOFT_WEBHOOK_SECRET_ARN: this.webhookSigningKey.secretArn,
      // Deployment runs created, retried or resumed through the API go to the work queue at once.
      ALOFT_WORK_QUEUE_URL: workQueue.queueUrl,
    });
    const scheduler = make("scheduler", "Aloft scheduler: creates the scheduled flow runs", Duration.seconds(30), 512, {
      ALOFT_TABLE_NAME: table.tableName,
      ALOFT_WORK_QUEUE_URL: workQueue.queueUrl,
    });
    const dispatcher = make("dispatcher", "Aloft dispatcher: starts due flow runs on their runners", dispatcherTimeout, 512, {
      ALOFT_TABLE_NAME: table.tableName,
      ALOFT_PAYLOAD_BUCKET: bucket.bucketName,
      ALOFT_WORK_QUEUE_URL: workQueue.queueUrl,
      ALOFT_RUNNER_FUNCTION: runner.function.functionName,
      ALOFT_CLUSTER_ARN: this.runners.cluster.clusterArn,
      ALOFT_RUNNER_TASK_DEFINITION: this.runners.taskDefinition.taskDefinitionArn,
      ALOFT_RUNNER_SUBNETS: Fn.join(",", this.runners.subnets.map((subnet) => subnet.subnetId)),
      ALOFT_RUNNER_SECURITY_GROUP: this.runners.securityGroup.securityGroupId,
      // Tasks in public subnets (the default VPC has no NAT gateway) need a public IP to pull their image.
      ALOFT_RUNNER_ASSIGN_PUBLIC_IP: this.runners.publicSubnets ? "ENABLED" : "DISABLED",
    });
    const monitor = make("monitor", "Aloft monitor: late runs, crashed runners, cancelled runs whose runner did not stop", Duration.seconds(60), 512, {
      ALOFT_TABLE_NAME: table.tableName,
      ALOFT_WORK_QUEUE_URL: workQueue.queueUrl,
      // Fargate runners that ignore a cancel are stopped (StopTask) in this cluster.
      ALOFT_CLUSTER_ARN: this.runners.cluster.clusterArn,
    });
    const mirror = make("mirror", "Aloft mirror: copies Step Functions execution status into run state", Duration.seconds(30), 512, {
      ALOFT_TABLE_NAME: table.tableName,
      ALOFT_PAYLOAD_BUCKET: bucket.bucketName,
    });
    this.functions = { api, scheduler, dispatcher, monitor, mirror, runner };

    const indexes = `${table.tableArn}/index/*`;
    const indexReason = "Queries may use any of the table's global secondary indexes (GSI1–GSI3), whose ARNs are the table ARN plus /index/<name>.";
    const payloads = bucket.arnForObjects(`${PAYLOAD_PREFIX}*`);
    const payloadReason = "Payload objects are keyed by run under payloads/; the function reads, writes and deletes (what a refused write left) only that prefix.";
    const PAYLOAD_ACTIONS = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"];
    const runState = (fn: HandlerFunction, actions: string[]) => {
      fn.allow(actions, [table.tableArn]);
      fn.allow(["dynamodb:Query"], [indexes], indexReason);
    };

    runState(api, [...RUN_STATE_ACTIONS, "dynamodb:BatchGetItem", "dynamodb:DeleteItem"].sort());
    api.allow(PAYLOAD_ACTIONS, [payloads], payloadReason);
    api.allow(KEY_USE, [tableKey.keyArn, bucketKey.keyArn, queueKey.keyArn]);
    api.allow(["sqs:SendMessage"], [workQueue.queueArn]);
    // The webhook route verifies signatures with this key (GetSecretValue on exactly this secret, kms:Decrypt via Secrets Manager).
    this.webhookSigningKey.grantRead(api.function);
    // Resuming an approval completes its waitForTaskToken state; SendTask* authorize by task token and take no resource ARN.
    api.allow(["states:SendTaskSuccess"], ["*"], "states:SendTaskSuccess has no resource-level permissions (the task token names the execution); the API resumes approvals of compiled flows with it.");

    runState(scheduler, RUN_STATE_ACTIONS);
    scheduler.allow(["sqs:SendMessage"], [workQueue.queueArn]);
    scheduler.allow(KEY_USE, [tableKey.keyArn, queueKey.keyArn]);

    runState(dispatcher, RUN_STATE_ACTIONS);
    dispatcher.allow(["sqs:SendMessage"], [workQueue.queueArn]);
    dispatcher.allow(["lambda:InvokeFunction"], [runner.function.functionArn]);
    dispatcher.allow(["ecs:RunTask"], [this.runners.taskDefinition.taskDefinitionArn], undefined, {
      ArnEquals: { "ecs:cluster": this.runners.cluster.clusterArn },
    });
    // Work pools with their own image run copies of the runner task definition (family <runner family>-<image hash>), which the dispatcher registers.
    const imageCopies = Stack.of(this).formatArn({ service: "ecs", resource: "task-definition", resourceName: `${this.runners.taskDefinition.family}-*` });
    dispatcher.allow(["ecs:RunTask"], [imageCopies], "Copies of the runner task definition for work pools with their own image are registered at run time, one family per image hash.", {
      ArnEquals: { "ecs:cluster": this.runners.cluster.clusterArn },
    });
    dispatcher.allow(["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"], ["*"], "ECS takes no resource-level permissions for these; a copy can only use the runner's roles (iam:PassRole below).");
    const executionRole = this.runners.taskDefinition.obtainExecutionRole();
    dispatcher.allow(["iam:PassRole"], [this.runners.taskRole.roleArn, executionRole.roleArn], undefined, {
      StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
    });
    // Runs of step-functions deployments: the state machines FlowBundles deploy later, all named with the stage's prefix.
    dispatcher.allow(["states:StartExecution"], [`${stateMachines}*`], "FlowBundles deploy state machines after the control plane; the dispatcher may start those of its stage, all named aloft-<stage>_<deployment>.");
    // Their parameters over 64 KB are the execution input, read back from the payload bucket.
    dispatcher.allow(["s3:GetObject"], [payloads], "Payload objects are keyed by run under payloads/; the dispatcher only reads that prefix (parameters stored by reference).");
    dispatcher.allow(KEY_USE, [tableKey.keyArn, queueKey.keyArn, bucketKey.keyArn]);
    dispatcher.function.addEventSource(new SqsEventSource(workQueue, { batchSize: 10, reportBatchItemFailures: true }));

    runState(monitor, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]);
    // Cancelling a run of a step-functions deployment stops its execution (named after the run) in one of the stage's machines.
    const executions = Stack.of(this).formatArn({ service: "states", resource: "execution", resourceName: `${this.stepFunctions.namePrefix}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    monitor.allow(["states:StopExecution"], [executions], "Executions are named after runs, in the state machines FlowBundles deploy after the control plane (aloft-<stage>_…); the monitor stops those of cancelled runs.");
    monitor.allow(["sqs:SendMessage"], [workQueue.queueArn]);
    monitor.allow(KEY_USE, [tableKey.keyArn, queueKey.keyArn]);
    monitor.allow(["ecs:StopTask"], ["*"], "Runner tasks get a new ARN on every run; the condition limits StopTask to tasks in the runners' cluster.", {
      ArnEquals: { "ecs:cluster": this.runners.cluster.clusterArn },
    });
    new events.Rule(this, "MonitorSchedule", {
      description: "Runs the Aloft monitor every minute",
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(monitor.function, { retryAttempts: 0 })],
    });

    runState(mirror, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]);
    mirror.allow(PAYLOAD_ACTIONS, [payloads], payloadReason);
    mirror.allow(KEY_USE, [tableKey.keyArn, bucketKey.keyArn]);
    new events.Rule(this, "StepFunctionsStatusRule", {
      description: "Mirrors Step Functions execution status changes into Aloft run state",
      // Only the executions of state machines deployed by this stage's FlowBundles.
      eventPattern: {
        source: ["aws.states"],
        detailType: ["Step Functions Execution Status Change"],
        detail: { stateMachineArn: [{ prefix: stateMachines }] },
      },
      targets: [new targets.LambdaFunction(mirror.function, { retryAttempts: 3 })],
    });
    // Express executions send no status-change events: their execution records in the state machines' log group stand in.
    new logs.SubscriptionFilter(this, "ExpressExecutionsSubscription", {
      logGroup: this.stepFunctions.logGroup,
      destination: new logsDestinations.LambdaDestination(mirror.function),
      filterPattern: logs.FilterPattern.any(
        ...["ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"].map((type) => logs.FilterPattern.stringValue("$.type", "=", type)),
      ),
    });

    const bundles = bucket.arnForObjects(`${BUNDLE_PREFIX}*`);
    const bundleReason = "Code bundles are keyed by deployment under bundles/; runners only read that prefix.";
    runState(runner, RUN_STATE_ACTIONS);
    runner.allow(["s3:GetObject"], [bundles], bundleReason);
    runner.allow(PAYLOAD_ACTIONS, [payloads], payloadReason);
    runner.allow(KEY_USE, [tableKey.keyArn, bucketKey.keyArn]);
    const taskRole = this.runners.taskRole;
    const taskAllow = (actions: string[], resources: string[], reason?: string) => {
      taskRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources }));
      acknowledgeWildcards(taskRole, resources, reason);
    };
    taskAllow(RUN_STATE_ACTIONS, [table.tableArn]);
    taskAllow(["dynamodb:Query"], [indexes], indexReason);
    taskAllow(["s3:GetObject"], [bundles], bundleReason);
    taskAllow(PAYLOAD_ACTIONS, [payloads], payloadReason);
    taskAllow(KEY_USE, [tableKey.keyArn, bucketKey.keyArn]);

    this.messaging.schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [scheduler.function.functionArn] }),
    );

    this.httpApi = new ControlPlaneHttpApi(this, "Http", {
      handler: api.function,
      logRetention,
      removalPolicy,
      rateLimit: props.apiThrottle?.rateLimit ?? 100,
      burstLimit: props.apiThrottle?.burstLimit ?? 200,
    });
    this.apiUrl = this.httpApi.url;

    this.monitoring = new Monitoring(this, "Monitoring", {
      stage,
      removalPolicy,
      functions: Object.fromEntries(Object.entries(this.functions).map(([name, fn]) => [name, fn.function])),
      api: this.httpApi.api,
      workQueue,
      deadLetterQueue: this.messaging.deadLetterQueue,
      ...(props.alarmEmail !== undefined ? { alarmEmail: props.alarmEmail } : {}),
      failureRatePercent: props.failureRateAlarmPercent ?? 10,
    });

    const output = (outputId: string, value: string, description: string) => new CfnOutput(this, outputId, { value, description });
    output("ApiUrl", this.apiUrl, "The API's base URL: aloft login --api <ApiUrl>");
    output("ApiExecuteArn", this.httpApi.api.arnForExecuteApi(), "Grant execute-api:Invoke on this ARN to whoever drives Aloft");
    output("TableName", table.tableName, "The run-state DynamoDB table");
    output("PayloadBucketName", bucket.bucketName, "Large payloads, artifacts and code bundles");
    output("WorkQueueUrl", workQueue.queueUrl, "The work queue the dispatcher consumes");
    output("EventBusName", this.messaging.eventBus.eventBusName, "The bus Aloft events are published on");
    output("ScheduleGroupName", this.messaging.scheduleGroup.scheduleGroupName, "EventBridge Scheduler group of deployments' schedules");
    output("SchedulerRoleArn", this.messaging.schedulerRole.roleArn, "The role schedules in the group assume");
    output("RunnerClusterArn", this.runners.cluster.clusterArn, "ECS cluster of Fargate runners");
    output("StateMachineLogGroupName", this.stepFunctions.logGroup.logGroupName, "Log group of deployed state machines");
    output("WebhookSigningKeyArn", this.webhookSigningKey.secretArn, "Secrets Manager secret holding the webhook HMAC key");
    output("AlarmTopicArn", this.monitoring.alarmTopic.topicArn, "SNS topic the alarms notify");
    output("DashboardName", this.monitoring.dashboard.dashboardName, "CloudWatch dashboard");
  }
}

/**
 * Whether a stage is a dev stage (`dev`, `dev-…`): no deletion protection, destroyed with its stack.
 *
 * @example
 * ```ts
 * isDevStage("dev-alice"); // true
 * isDevStage("prod"); // false
 * ```
 */
export function isDevStage(stage: string): boolean {
  return /^dev(-|$)/.test(stage);
}

function validateProps(props: AloftControlPlaneProps): void {
  const problems: string[] = [];
  if (props.stage !== undefined && !/^[a-z][a-z0-9-]{0,19}$/.test(props.stage)) {
    problems.push(`stage "${props.stage}" must be 1–20 lower-case letters, digits or dashes, starting with a letter`);
  }
  if (props.alarmEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(props.alarmEmail)) {
    problems.push(`alarmEmail "${props.alarmEmail}" is not an e-mail address`);
  }
  const throttle = props.apiThrottle;
  if (throttle !== undefined && !(throttle.rateLimit > 0 && Number.isInteger(throttle.burstLimit) && throttle.burstLimit > 0)) {
    problems.push(`apiThrottle ${JSON.stringify(throttle)} needs a positive rateLimit and a positive whole burstLimit`);
  }
  const percent = props.failureRateAlarmPercent;
  if (percent !== undefined && !(percent > 0 && percent <= 100)) {
    problems.push(`failureRateAlarmPercent ${percent} must be more than 0 and at most 100`);
  }
  if (problems.length > 0) throw new Error(`AloftControlPlane: ${problems.join("; ")}`);
}
