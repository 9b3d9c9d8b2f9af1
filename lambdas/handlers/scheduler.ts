import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { en } from "zod/locales";
import * as z from "zod/mini";
import { makeDynamoDbClient } from "../adapters/awsClients.js";
import { METRICS_NAMESPACE, requireEnv } from "../adapters/environment.js";
import { loadSqsClient } from "../adapters/lazyAwsClients.js";
import { SqsWorkQueue } from "../adapters/sqsWorkQueue.js";
import { serviceDeps } from "../services/context.js";
import { ServiceError } from "../services/errors.js";
import { createServices } from "../services/index.js";
import { ScheduleService } from "../services/scheduling.js";
import { DynamoDbStore } from "../store/dynamoDbStore.js";

const SERVICE = "aloft-scheduler";
const logger = new Logger({ serviceName: SERVICE });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE });
const tracer = new Tracer({ serviceName: SERVICE });
// zod/mini carries no messages by default; English ones name what is wrong with an event.
z.config(en());

const isoTime = z.iso.datetime({ offset: true });

/**
 * The scheduler function's event, as an EventBridge Scheduler schedule's input (JSON):
 *
 * ```json
 * { "deployment": "nightly-etl", "parameters": { "full": true }, "scheduledTime": "<aws.scheduler.scheduled-time>" }
 * ```
 *
 * - `deployment` — the deployment's id or name;
 * - `parameters` — optional, overlaid on the deployment's defaults;
 * - `scheduledTime` — when the run is due (ISO 8601). Give it (Scheduler substitutes the placeholder
 *   above): it is what makes a retried delivery the same firing. An EventBridge event
 *   (`{ "time": …, "detail": { "deployment": … } }`) may carry the due time as its `time` instead.
 */
export const ScheduleEventSchema = z.object({
  deployment: z.string().check(z.minLength(1), z.maxLength(256)),
  parameters: z.optional(z.record(z.string(), z.unknown())),
  scheduledTime: z.optional(isoTime),
  time: z.optional(isoTime),
});

/** What the scheduler function answers (for logs and tests). */
export type SchedulerResult = { status: "created" | "existing"; runId: string; delaySeconds?: number } | { status: "skipped"; reason: string };

/**
 * Composes the scheduler's use case from the Lambda environment: `ALOFT_TABLE_NAME` (the DynamoDB
 * table) and `ALOFT_WORK_QUEUE_URL` (the SQS work queue).
 *
 * @example
 * ```ts
 * const schedules = schedulerFromEnvironment({ ALOFT_TABLE_NAME: "aloft", ALOFT_WORK_QUEUE_URL: queueUrl });
 * ```
 */
export function schedulerFromEnvironment(env: NodeJS.ProcessEnv = process.env): ScheduleService {
  const tableName = requireEnv(env, "ALOFT_TABLE_NAME", "the name of the control plane's DynamoDB table");
  const queueUrl = requireEnv(env, "ALOFT_WORK_QUEUE_URL", "the URL of the SQS work queue");
  const store = new DynamoDbStore({ client: tracer.captureAWSv3Client(makeDynamoDbClient()), tableName });
  const deps = serviceDeps(store);
  // Loaded by the first firing that creates a run (not by redeliveries or paused deployments).
  const queue = new SqsWorkQueue(async () => tracer.captureAWSv3Client(await loadSqsClient()), queueUrl);
  return new ScheduleService({ deployments: createServices(deps).deployments, queue, now: deps.now });
}

let schedules: ScheduleService | undefined;

/**
 * The scheduler Lambda's entry point (an EventBridge Scheduler target): creates the deployment's
 * run for this firing, once however often the firing is delivered, and queues it for dispatch. A
 * paused deployment's firing is skipped; an invalid event or an unknown deployment is an error.
 *
 * @example
 * ```ts
 * // infra: new NodejsFunction(this, "Scheduler", { entry: "lambdas/handlers/scheduler.ts", handler: "handler" })
 * ```
 */
export async function handler(event: unknown, context?: { awsRequestId?: string }): Promise<SchedulerResult> {
  if (context) logger.addContext(context as never);
  schedules ??= schedulerFromEnvironment();
  try {
    const firing = parseFiring(event);
    const outcome = await schedules.fire(firing);
    metrics.addMetric(outcome.created ? "ScheduledRunsCreated" : "ScheduledRunsRedelivered", MetricUnit.Count, 1);
    logger.info(outcome.created ? "scheduled run created" : "firing delivered again; its run exists", { runId: outcome.run.id, ...firing });
    return { status: outcome.created ? "created" : "existing", runId: outcome.run.id, ...(outcome.delaySeconds === undefined ? {} : { delaySeconds: outcome.delaySeconds }) };
  } catch (error) {
    if (error instanceof ServiceError && error.code === "CONFLICT") {
      metrics.addMetric("ScheduledRunsSkipped", MetricUnit.Count, 1);
      logger.warn("firing skipped", { reason: error.message });
      return { status: "skipped", reason: error.message };
    }
    throw error;
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}

function parseFiring(event: unknown) {
  const envelope = event as { detail?: unknown; time?: unknown } | null;
  const payload = typeof envelope?.detail === "object" && envelope.detail !== null ? { ...envelope.detail, time: envelope.time } : event;
  const parsed = ScheduleEventSchema.safeParse(payload);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "event"}: ${issue.message}`).join("; ");
    throw new Error(`invalid schedule event (${problems})`);
  }
  const due = parsed.data.scheduledTime ?? parsed.data.time;
  if (due === undefined) {
    throw new Error('invalid schedule event: scheduledTime is missing (set it to "<aws.scheduler.scheduled-time>" in the schedule\'s input)');
  }
  return {
    deployment: parsed.data.deployment,
    scheduledTime: new Date(due).toISOString(),
    ...(parsed.data.parameters === undefined ? {} : { parameters: parsed.data.parameters }),
  };
}
