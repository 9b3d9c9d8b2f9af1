import { gunzipSync } from "node:zlib";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { en } from "zod/locales";
import * as z from "zod/mini";
import { makeDynamoDbClient } from "../adapters/awsClients.js";
import { METRICS_NAMESPACE, requireEnv } from "../adapters/environment.js";
import { countFinishedFlowRuns } from "../adapters/flowRunMetrics.js";
import { loadS3Client } from "../adapters/lazyAwsClients.js";
import { S3PayloadStore } from "../adapters/s3PayloadStore.js";
import { serviceDeps } from "../services/context.js";
import { FlowRunService } from "../services/flowRuns.js";
import { ExecutionMirror, type ExecutionStatusChange, type MirrorOutcome } from "../services/mirroring.js";
import { DynamoDbStore } from "../store/dynamoDbStore.js";

const SERVICE = "aloft-mirror";
const logger = new Logger({ serviceName: SERVICE });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE });
const tracer = new Tracer({ serviceName: SERVICE });
// zod/mini carries no messages by default; English ones name what is wrong with an event.
z.config(en());

const nullableText = z.nullish(z.string());

/**
 * The fields of an EventBridge "Step Functions Execution Status Change" event (source `aws.states`)
 * the mirror reads; everything else in the event is ignored.
 */
export const ExecutionStatusChangeEventSchema = z.object({
  detail: z.object({
    executionArn: z.string().check(z.minLength(1)),
    name: z.string().check(z.minLength(1)),
    status: z.string().check(z.minLength(1)),
    output: nullableText,
    outputDetails: z.nullish(z.object({ truncated: z.optional(z.boolean()) })),
    error: nullableText,
    cause: nullableText,
  }),
});

/** A CloudWatch Logs subscription delivery: gzipped, base64-encoded log events. */
const LogsSubscriptionEventSchema = z.object({ awslogs: z.object({ data: z.string() }) });

/** One Step Functions execution log record (the fields read), as state machines log at level ALL. */
const ExecutionLogRecordSchema = z.object({
  type: z.string(),
  execution_arn: z.string(),
  details: z.nullish(
    z.object({
      output: nullableText,
      outputDetails: z.nullish(z.object({ truncated: z.optional(z.boolean()) })),
      error: nullableText,
      cause: nullableText,
    }),
  ),
});

const STATUS_OF_LOG_TYPE: Record<string, string> = {
  ExecutionStarted: "RUNNING",
  ExecutionSucceeded: "SUCCEEDED",
  ExecutionFailed: "FAILED",
  ExecutionTimedOut: "TIMED_OUT",
  ExecutionAborted: "ABORTED",
};

/**
 * The status changes of Express executions in a CloudWatch Logs subscription delivery from the
 * state machines' log group. Express workflows send no EventBridge status-change events, so their
 * execution log records (`ExecutionStarted`, `ExecutionSucceeded`, …) stand in for them. Records
 * of Standard executions (mirrored from EventBridge) and of other types are skipped. An Express
 * execution ARN is `arn:…:express:<state machine>:<execution name>:<id>`.
 *
 * @example
 * ```ts
 * statusChangesFromLogs(event.awslogs.data); // [{ executionArn, name: "<run id>", status: "SUCCEEDED", output: "42" }]
 * ```
 */
export function statusChangesFromLogs(data: string): ExecutionStatusChange[] {
  const batch = JSON.parse(gunzipSync(Buffer.from(data, "base64")).toString("utf8")) as { logEvents?: { message?: unknown }[] };
  const changes: ExecutionStatusChange[] = [];
  for (const logEvent of batch.logEvents ?? []) {
    const record = ExecutionLogRecordSchema.safeParse(typeof logEvent.message === "string" ? parseJson(logEvent.message) : undefined);
    if (!record.success) continue;
    const status = STATUS_OF_LOG_TYPE[record.data.type];
    const parts = record.data.execution_arn.split(":");
    if (status === undefined || parts[5] !== "express" || parts[7] === undefined) continue;
    const details = record.data.details ?? {};
    changes.push({ executionArn: record.data.execution_arn, name: parts[7], status, ...details });
  }
  return changes;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Composes the mirror from the Lambda environment: `ALOFT_TABLE_NAME` (the DynamoDB table) and
 * `ALOFT_PAYLOAD_BUCKET` (where results over 64 KB are stored, as the API stores them; the S3
 * client is loaded by the first such result).
 *
 * @example
 * ```ts
 * const mirror = mirrorFromEnvironment({ ALOFT_TABLE_NAME: "aloft", ALOFT_PAYLOAD_BUCKET: "aloft-payloads" });
 * ```
 */
export function mirrorFromEnvironment(env: NodeJS.ProcessEnv = process.env): ExecutionMirror {
  const tableName = requireEnv(env, "ALOFT_TABLE_NAME", "the name of the control plane's DynamoDB table");
  const bucket = requireEnv(env, "ALOFT_PAYLOAD_BUCKET", "the bucket for values over 64 KB");
  const store = new DynamoDbStore({ client: tracer.captureAWSv3Client(makeDynamoDbClient()), tableName });
  const payloads = new S3PayloadStore(async () => tracer.captureAWSv3Client(await loadS3Client()), bucket);
  return new ExecutionMirror({ store, flowRuns: new FlowRunService(serviceDeps(store, payloads, { onFlowRunFinished: countFinishedFlowRuns(metrics) })) });
}

let mirror: ExecutionMirror | undefined;

/**
 * The mirror Lambda's entry point: an EventBridge rule on `aws.states` "Step Functions Execution
 * Status Change" (Standard executions), and a CloudWatch Logs subscription on the state machines'
 * log group (Express executions, in order within a delivery). Each status is proposed to the flow
 * run named after the execution. Executions that are not Aloft's are ignored; an event that is
 * neither is an error.
 *
 * @example
 * ```ts
 * // infra: new NodejsFunction(this, "Mirror", { entry: "lambdas/handlers/mirror.ts", handler: "handler" })
 * ```
 */
export async function handler(event: unknown, context?: { awsRequestId?: string }): Promise<MirrorOutcome | MirrorOutcome[]> {
  if (context) logger.addContext(context as never);
  mirror ??= mirrorFromEnvironment();
  try {
    const logs = LogsSubscriptionEventSchema.safeParse(event);
    if (logs.success) {
      const outcomes: MirrorOutcome[] = [];
      for (const change of statusChangesFromLogs(logs.data.awslogs.data)) outcomes.push(await mirrorOne(mirror, change));
      return outcomes;
    }
    const parsed = ExecutionStatusChangeEventSchema.safeParse(event);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
      throw new Error(`invalid Step Functions status change event (${problems})`);
    }
    return await mirrorOne(mirror, parsed.data.detail);
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}

async function mirrorOne(mirror: ExecutionMirror, detail: ExecutionStatusChange): Promise<MirrorOutcome> {
  const outcome = await mirror.apply(detail);
  const where = { runId: detail.name, executionArn: detail.executionArn, status: detail.status };
  if (outcome.action === "applied") {
    metrics.addMetric("ExecutionStatesMirrored", MetricUnit.Count, 1);
    logger.info("execution status mirrored", { ...where, state: outcome.state });
  } else if (outcome.action === "duplicate") {
    metrics.addMetric("ExecutionEventsDuplicated", MetricUnit.Count, 1);
    logger.info("execution status already mirrored", { ...where, state: outcome.state });
  } else {
    metrics.addMetric(outcome.action === "ignored" ? "ExecutionEventsIgnored" : "ExecutionStatesRefused", MetricUnit.Count, 1);
    logger.info(`execution status ${outcome.action}`, { ...where, reason: outcome.reason });
  }
  return outcome;
}
