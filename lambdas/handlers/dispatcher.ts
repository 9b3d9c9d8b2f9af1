import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { en } from "zod/locales";
import * as z from "zod/mini";
import { makeDynamoDbClient } from "../adapters/awsClients.js";
import { EcsComputeLauncher } from "../adapters/ecsLauncher.js";
import { METRICS_NAMESPACE, requireEnv } from "../adapters/environment.js";
import { countFinishedFlowRuns } from "../adapters/flowRunMetrics.js";
import { loadEcsClient, loadLambdaClient, loadS3Client, loadSqsClient } from "../adapters/lazyAwsClients.js";
import { LambdaComputeLauncher } from "../adapters/lambdaLauncher.js";
import { S3PayloadStore } from "../adapters/s3PayloadStore.js";
import { SfnStateMachines, loadSfnClient } from "../adapters/sfnStateMachines.js";
import { SqsWorkQueue } from "../adapters/sqsWorkQueue.js";
import { serviceDeps } from "../services/context.js";
import { DispatchService, LaunchFailedError } from "../services/dispatch.js";
import { FlowRunService } from "../services/flowRuns.js";
import { DynamoDbStore } from "../store/dynamoDbStore.js";

const SERVICE = "aloft-dispatcher";
const logger = new Logger({ serviceName: SERVICE });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE });
const tracer = new Tracer({ serviceName: SERVICE });
// zod/mini carries no messages by default; English ones name what is wrong with an event.
z.config(en());

/** A work-queue message body. */
export const RunMessageSchema = z.object({ runId: z.string().check(z.minLength(1), z.maxLength(128)) });

/** The part of an SQS record the dispatcher reads. */
export interface SqsRecord {
  messageId: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string };
}

/** The SQS event source's answer: the records to deliver again. */
export interface BatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

/**
 * Composes the dispatcher from the Lambda environment: `ALOFT_TABLE_NAME`, `ALOFT_WORK_QUEUE_URL`
 * (to re-queue runs not yet due), `ALOFT_RUNNER_FUNCTION` (the runner Lambda, invoked
 * asynchronously), and for fargate work pools `ALOFT_CLUSTER_ARN`,
 * `ALOFT_RUNNER_TASK_DEFINITION`, `ALOFT_RUNNER_SUBNETS` (comma-separated) and
 * `ALOFT_RUNNER_SECURITY_GROUP`, and optionally `ALOFT_RUNNER_ASSIGN_PUBLIC_IP` (`ENABLED` for
 * public subnets without a NAT gateway; `DISABLED` by default). Runs of "step-functions"
 * deployments start executions of their state machines; `ALOFT_PAYLOAD_BUCKET`, when set, is where
 * their parameters over 64 KB are read from. Only the DynamoDB client is loaded up front: the SQS,
 * Lambda, ECS, Step Functions and S3 clients are loaded by the first message that needs them.
 *
 * @example
 * ```ts
 * const dispatch = dispatcherFromEnvironment(process.env);
 * ```
 */
export function dispatcherFromEnvironment(env: NodeJS.ProcessEnv = process.env): DispatchService {
  const tableName = requireEnv(env, "ALOFT_TABLE_NAME", "the name of the control plane's DynamoDB table");
  const queueUrl = requireEnv(env, "ALOFT_WORK_QUEUE_URL", "the URL of the SQS work queue");
  const runnerFunction = requireEnv(env, "ALOFT_RUNNER_FUNCTION", "the name or ARN of the runner Lambda");
  const clusterArn = requireEnv(env, "ALOFT_CLUSTER_ARN", "the ECS cluster Fargate runners start in");
  const taskDefinition = requireEnv(env, "ALOFT_RUNNER_TASK_DEFINITION", "the Fargate runner's task definition");
  const subnets = requireEnv(env, "ALOFT_RUNNER_SUBNETS", "the subnets (comma-separated) Fargate runners start in")
    .split(",")
    .map((subnet) => subnet.trim())
    .filter((subnet) => subnet !== "");
  const securityGroup = requireEnv(env, "ALOFT_RUNNER_SECURITY_GROUP", "the security group of Fargate runners");
  const assignPublicIp = publicIpSetting(env);
  const store = new DynamoDbStore({ client: tracer.captureAWSv3Client(makeDynamoDbClient()), tableName });
  const bucket = env.ALOFT_PAYLOAD_BUCKET?.trim();
  const payloads = bucket ? new S3PayloadStore(async () => tracer.captureAWSv3Client(await loadS3Client()), bucket) : undefined;
  const deps = serviceDeps(store, payloads, { onFlowRunFinished: countFinishedFlowRuns(metrics) });
  return new DispatchService({
    store,
    flowRuns: new FlowRunService(deps),
    queue: new SqsWorkQueue(async () => tracer.captureAWSv3Client(await loadSqsClient()), queueUrl),
    launchers: {
      lambda: new LambdaComputeLauncher(async () => tracer.captureAWSv3Client(await loadLambdaClient()), runnerFunction),
      fargate: new EcsComputeLauncher(async () => tracer.captureAWSv3Client(await loadEcsClient()), {
        clusterArn,
        taskDefinition,
        subnets,
        securityGroup,
        assignPublicIp,
      }),
    },
    stateMachines: new SfnStateMachines(async () => tracer.captureAWSv3Client(await loadSfnClient())),
    now: deps.now,
  });
}

/** `ALOFT_RUNNER_ASSIGN_PUBLIC_IP`: `DISABLED` when unset; anything but the two ECS values is an error. */
function publicIpSetting(env: NodeJS.ProcessEnv): "ENABLED" | "DISABLED" {
  const value = env.ALOFT_RUNNER_ASSIGN_PUBLIC_IP?.trim();
  if (value === undefined || value === "") return "DISABLED";
  if (value === "ENABLED" || value === "DISABLED") return value;
  throw new Error(`ALOFT_RUNNER_ASSIGN_PUBLIC_IP must be ENABLED or DISABLED (whether Fargate runners get a public IP), not "${value.slice(0, 40)}"`);
}

let dispatch: DispatchService | undefined;
const processor = new BatchProcessor(EventType.SQS);

/**
 * The dispatcher Lambda's entry point (the work queue's SQS event source, with
 * `reportBatchItemFailures`): each message `{ runId }` launches at most one runner. Records whose
 * launch failed, or that could not be read, are reported as batch item failures for SQS to deliver
 * again; after the queue's maxReceiveCount they land in its dead-letter queue.
 *
 * @example
 * ```ts
 * // infra: fn.addEventSource(new SqsEventSource(workQueue, { reportBatchItemFailures: true }))
 * ```
 */
export async function handler(event: { Records: SqsRecord[] }, context?: { awsRequestId?: string }): Promise<BatchResponse> {
  if (context) logger.addContext(context as never);
  const service = (dispatch ??= dispatcherFromEnvironment());
  try {
    return await processPartialResponse(event, (record: SqsRecord) => dispatchRecord(service, record), processor, { throwOnFullBatchFailure: false });
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}

async function dispatchRecord(service: DispatchService, record: SqsRecord): Promise<void> {
  const message = RunMessageSchema.safeParse(parseJson(record.body));
  if (!message.success) {
    metrics.addMetric("InvalidMessages", MetricUnit.Count, 1);
    throw new Error(`work-queue message ${record.messageId} is not {"runId": "<id>"}: ${record.body.slice(0, 200)}`);
  }
  const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? "1") || 1;
  const where = { runId: message.data.runId, messageId: record.messageId, receiveCount };
  try {
    const outcome = await service.dispatch({ runId: message.data.runId, messageId: record.messageId, receiveCount });
    switch (outcome.action) {
      case "launched":
        metrics.addMetric("RunnersLaunched", MetricUnit.Count, 1);
        logger.info("runner launched", { ...where, compute: outcome.compute });
        return;
      case "started":
        metrics.addMetric("ExecutionsStarted", MetricUnit.Count, 1);
        logger.info("Step Functions execution started", { ...where, executionArn: outcome.executionArn });
        return;
      case "deferred":
        metrics.addMetric("RunsDeferred", MetricUnit.Count, 1);
        logger.info("run not due yet; queued again", { ...where, delaySeconds: outcome.delaySeconds });
        return;
      case "failed":
        metrics.addMetric("RunsFailedAtDispatch", MetricUnit.Count, 1);
        logger.error("run failed at dispatch", { ...where, reason: outcome.reason });
        return;
      case "skipped":
        metrics.addMetric("DeliveriesSkipped", MetricUnit.Count, 1);
        logger.info("nothing to launch", { ...where, reason: outcome.reason });
        return;
    }
  } catch (error) {
    if (error instanceof LaunchFailedError) {
      metrics.addMetric("LaunchFailures", MetricUnit.Count, 1);
      logger.error("launch failed; the run is back to SCHEDULED and the message will be delivered again", { ...where, error: error.message });
    }
    throw error;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
