import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { makeDynamoDbClient } from "../adapters/awsClients.js";
import { METRICS_NAMESPACE, requireEnv } from "../adapters/environment.js";
import { EcsComputeLauncher } from "../adapters/ecsLauncher.js";
import { loadEcsClient, loadSqsClient } from "../adapters/lazyAwsClients.js";
import { SqsWorkQueue } from "../adapters/sqsWorkQueue.js";
import { loadSfnClient, SfnStateMachines } from "../adapters/sfnStateMachines.js";
import { serviceDeps } from "../services/context.js";
import { FlowRunService } from "../services/flowRuns.js";
import { lifecycleTimings, RunMonitor, type SweepOutcome } from "../services/monitoring.js";
import { DynamoDbStore } from "../store/dynamoDbStore.js";

const SERVICE = "aloft-monitor";
const logger = new Logger({ serviceName: SERVICE });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE });
const tracer = new Tracer({ serviceName: SERVICE });

/**
 * Composes the monitor's sweep from the Lambda environment: `ALOFT_TABLE_NAME` (the DynamoDB
 * table), `ALOFT_WORK_QUEUE_URL` (the SQS work queue it re-sends missed and re-scheduled runs to;
 * `sqs:SendMessage`), the lifecycle timings `ALOFT_HEARTBEAT_SECONDS` (10), `ALOFT_LAUNCH_TIMEOUT_SECONDS`
 * (300) and `ALOFT_CANCEL_GRACE_SECONDS` (30), and `ALOFT_CLUSTER_ARN`, the cluster of Fargate
 * runners it stops when they ignore a cancel (`ecs:StopTask`); the executions of cancelled Step
 * Functions runs are stopped (`states:StopExecution`). Lambda runners cannot be stopped:
 * their run is cancelled and their reports refused. AWS clients are loaded by the first sweep that needs them.
 *
 * @example
 * ```ts
 * const monitor = monitorFromEnvironment({ ALOFT_TABLE_NAME: "aloft", ALOFT_WORK_QUEUE_URL: queueUrl });
 * ```
 */
export function monitorFromEnvironment(env: NodeJS.ProcessEnv = process.env): RunMonitor {
  const tableName = requireEnv(env, "ALOFT_TABLE_NAME", "the name of the control plane's DynamoDB table");
  const queueUrl = requireEnv(env, "ALOFT_WORK_QUEUE_URL", "the URL of the SQS work queue");
  const timings = lifecycleTimings(env);
  const store = new DynamoDbStore({ client: tracer.captureAWSv3Client(makeDynamoDbClient()), tableName });
  const deps = serviceDeps(store);
  const queue = new SqsWorkQueue(async () => tracer.captureAWSv3Client(await loadSqsClient()), queueUrl);
  // Only stop() is used: the task's own cluster (from its heartbeats) or ALOFT_CLUSTER_ARN.
  const ecs = new EcsComputeLauncher(async () => tracer.captureAWSv3Client(await loadEcsClient()), {
    clusterArn: env.ALOFT_CLUSTER_ARN ?? "",
    taskDefinition: "",
    subnets: [],
    securityGroup: "",
  });
  return new RunMonitor({
    store,
    flowRuns: new FlowRunService(deps),
    now: deps.now,
    timings,
    enqueue: (run) => queue.send({ runId: run.id }),
    stopRunner: (runner, reason) => (runner.kind === "ecs" ? ecs.stop(runner, reason) : Promise.resolve(false)),
    stateMachines: new SfnStateMachines(async () => tracer.captureAWSv3Client(await loadSfnClient())),
  });
}

let monitor: RunMonitor | undefined;

/**
 * The monitor Lambda's entry point, run every minute by an EventBridge rule (the event is not
 * read): marks overdue SCHEDULED runs Late and queues them again, crashes runs whose runner stopped
 * heartbeating (re-scheduling those with flow retries left), and stops runners that ignored a cancel.
 *
 * @example
 * ```ts
 * // infra: new NodejsFunction(this, "Monitor", { entry: "lambdas/handlers/monitor.ts", handler: "handler" })
 * ```
 */
export async function handler(_event?: unknown, context?: { awsRequestId?: string }): Promise<SweepOutcome> {
  if (context) logger.addContext(context as never);
  monitor ??= monitorFromEnvironment();
  try {
    const outcome = await monitor.sweep();
    metrics.addMetric("LateRuns", MetricUnit.Count, outcome.late.length);
    metrics.addMetric("LateRunsRequeued", MetricUnit.Count, outcome.late.filter((id) => outcome.requeued.includes(id)).length);
    metrics.addMetric("CrashedRuns", MetricUnit.Count, outcome.crashed.length);
    metrics.addMetric("CrashedRunsRescheduled", MetricUnit.Count, outcome.rescheduled.length);
    metrics.addMetric("CancelGraceExpired", MetricUnit.Count, outcome.cancelled.length);
    if (outcome.late.length > 0) logger.warn("late runs found", { late: outcome.late, requeued: outcome.requeued });
    if (outcome.crashed.length > 0) logger.warn("runs crashed: their runners stopped heartbeating", { crashed: outcome.crashed, rescheduled: outcome.rescheduled });
    if (outcome.cancelled.length > 0) logger.warn("cancelled runs whose runners did not stop in time", { cancelled: outcome.cancelled, stopped: outcome.stopped });
    if (outcome.late.length + outcome.crashed.length + outcome.cancelled.length === 0) logger.debug("nothing to do", { examined: outcome.examined });
    return outcome;
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}
