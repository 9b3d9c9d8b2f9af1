import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { makeDynamoDbClient } from "../adapters/awsClients.js";
import { METRICS_NAMESPACE, requireEnv } from "../adapters/environment.js";
import { loadSqsClient } from "../adapters/lazyAwsClients.js";
import { SqsWorkQueue } from "../adapters/sqsWorkQueue.js";
import { serviceDeps } from "../services/context.js";
import { FlowRunService } from "../services/flowRuns.js";
import { LateRunMonitor, type SweepOutcome } from "../services/monitoring.js";
import { DynamoDbStore } from "../store/dynamoDbStore.js";

const SERVICE = "aloft-monitor";
const logger = new Logger({ serviceName: SERVICE });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE });
const tracer = new Tracer({ serviceName: SERVICE });

/**
 * Composes the monitor's sweep from the Lambda environment: `ALOFT_TABLE_NAME` (the DynamoDB
 * table) and `ALOFT_WORK_QUEUE_URL` (the SQS work queue it re-sends missed runs to; the function
 * needs `sqs:SendMessage` on it; the SQS client is loaded by the first sweep that re-sends a run).
 *
 * @example
 * ```ts
 * const monitor = monitorFromEnvironment({ ALOFT_TABLE_NAME: "aloft", ALOFT_WORK_QUEUE_URL: queueUrl });
 * ```
 */
export function monitorFromEnvironment(env: NodeJS.ProcessEnv = process.env): LateRunMonitor {
  const tableName = requireEnv(env, "ALOFT_TABLE_NAME", "the name of the control plane's DynamoDB table");
  const queueUrl = requireEnv(env, "ALOFT_WORK_QUEUE_URL", "the URL of the SQS work queue");
  const store = new DynamoDbStore({ client: tracer.captureAWSv3Client(makeDynamoDbClient()), tableName });
  const deps = serviceDeps(store);
  const queue = new SqsWorkQueue(async () => tracer.captureAWSv3Client(await loadSqsClient()), queueUrl);
  return new LateRunMonitor({ store, flowRuns: new FlowRunService(deps), queue, now: deps.now });
}

let monitor: LateRunMonitor | undefined;

/**
 * The monitor Lambda's entry point, run every minute by an EventBridge rule (the event is not
 * read): marks SCHEDULED runs more than 15 s overdue as Late and queues deployment runs again.
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
    metrics.addMetric("LateRunsRequeued", MetricUnit.Count, outcome.requeued.length);
    if (outcome.late.length > 0) logger.warn("late runs found", { late: outcome.late, requeued: outcome.requeued });
    else logger.debug("no late runs", { examined: outcome.examined });
    return outcome;
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}
