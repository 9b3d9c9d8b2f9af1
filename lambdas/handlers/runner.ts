import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { en } from "zod/locales";
import * as z from "zod/mini";
import { FileCacheStore } from "../../sdk/engine/cache.js";
import { makeDynamoDbClient } from "../adapters/awsClients.js";
import { METRICS_NAMESPACE, requireEnv } from "../adapters/environment.js";
import { countFinishedFlowRuns } from "../adapters/flowRunMetrics.js";
import { S3FlowBundles } from "../adapters/s3FlowBundles.js";
import { lazyClient } from "../adapters/awsClients.js";
import { loadS3Client } from "../adapters/lazyAwsClients.js";
import { S3PayloadStore } from "../adapters/s3PayloadStore.js";
import { serviceDeps } from "../services/context.js";
import { createServices } from "../services/index.js";
import { BundleRunService, type RunnerOutcome } from "../services/running.js";
import type { RunnerInfo } from "../../sdk/runner/claimedRun.js";
import { runContainerTaskFromEnvironment } from "./task.js";
import { DynamoDbStore } from "../store/dynamoDbStore.js";

const SERVICE = "aloft-runner";
const logger = new Logger({ serviceName: SERVICE });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE });
const tracer = new Tracer({ serviceName: SERVICE });
// zod/mini carries no messages by default; English ones name what is wrong with an event.
z.config(en());

/** The runner Lambda's event, as the dispatcher sends it: the claimed run, the claim's token, and the pool's job settings. */
export const RunnerEventSchema = z.object({
  runId: z.string().check(z.minLength(1), z.maxLength(128)),
  runnerToken: z.string().check(z.minLength(1), z.maxLength(256)),
  timeoutSeconds: z.optional(z.number().check(z.positive())),
  environment: z.optional(z.record(z.string(), z.string())),
});

/**
 * Composes the runner from its environment: `ALOFT_TABLE_NAME` (the DynamoDB table),
 * `ALOFT_PAYLOAD_BUCKET` (large values, and the flow bundles) and `ALOFT_BUNDLE_PREFIX` (the key
 * prefix of bundles: bundle `<id>` is `<prefix><id>/index.mjs`). Bundles and the task cache are
 * kept under the system's temporary folder (/tmp on Lambda and Fargate). The S3 client is loaded
 * by the first bundle download (or large value), not when the function starts.
 *
 * @example
 * ```ts
 * const runner = runnerFromEnvironment({ ALOFT_TABLE_NAME: "aloft", ALOFT_PAYLOAD_BUCKET: "aloft-payloads", ALOFT_BUNDLE_PREFIX: "bundles/" });
 * ```
 */
export function runnerFromEnvironment(env: NodeJS.ProcessEnv = process.env): BundleRunService {
  const tableName = requireEnv(env, "ALOFT_TABLE_NAME", "the name of the control plane's DynamoDB table");
  const bucket = requireEnv(env, "ALOFT_PAYLOAD_BUCKET", "the bucket for values over 64 KB and flow bundles");
  const prefix = env.ALOFT_BUNDLE_PREFIX;
  if (prefix === undefined) throw new Error('ALOFT_BUNDLE_PREFIX is not set: this function needs the key prefix of flow bundles (e.g. "bundles/")');
  const store = new DynamoDbStore({ client: tracer.captureAWSv3Client(makeDynamoDbClient()), tableName });
  // One S3 client for payloads and bundles, made by whichever needs it first.
  const s3 = lazyClient(async () => tracer.captureAWSv3Client(await loadS3Client()));
  const services = createServices(serviceDeps(store, new S3PayloadStore(s3, bucket), { onFlowRunFinished: countFinishedFlowRuns(metrics) }));
  const scratch = join(tmpdir(), "aloft");
  return new BundleRunService({
    services,
    bundles: new S3FlowBundles(s3, bucket, prefix, join(scratch, "bundles")),
    cache: new FileCacheStore(join(scratch, "cache")),
  });
}

let runner: BundleRunService | undefined;

/**
 * Executes one claimed flow run with its claim token and reports what happened. Shared by the
 * Lambda handler and the Fargate entry point; `where` is what the run's heartbeats say about this
 * runner (so a stop after an ignored cancellation can address it).
 *
 * @example
 * ```ts
 * const outcome = await executeRun("4f8c…", token, { kind: "lambda", requestId }); // { action: "ran", state: { type: "COMPLETED", … } }
 * ```
 */
export async function executeRun(
  runId: string,
  runnerToken: string,
  where?: RunnerInfo,
  env: NodeJS.ProcessEnv = process.env,
  job: { timeoutSeconds?: number } = {},
): Promise<RunnerOutcome> {
  runner ??= runnerFromEnvironment(env);
  logger.appendKeys({ runId });
  try {
    const outcome = await runner.execute(runId, runnerToken, where, job);
    if (outcome.action === "ran") {
      metrics.addMetric(outcome.state.type === "COMPLETED" ? "FlowRunsCompleted" : "FlowRunsNotCompleted", MetricUnit.Count, 1);
      logger.info("flow run finished", { state: outcome.state });
    } else if (outcome.action === "stopped") {
      metrics.addMetric("FlowRunsLostByRunner", MetricUnit.Count, 1);
      logger.warn("stopped: the run was taken over by another runner", { reason: outcome.reason });
    } else if (outcome.action === "failed") {
      metrics.addMetric("FlowRunsFailedToStart", MetricUnit.Count, 1);
      logger.error("flow run could not start", { reason: outcome.reason });
    } else {
      metrics.addMetric("RunnerInvocationsSkipped", MetricUnit.Count, 1);
      logger.info("nothing to run", { reason: outcome.reason });
    }
    return outcome;
  } finally {
    logger.removeKeys(["runId"]);
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}

/**
 * The runner Lambda's entry point, invoked asynchronously by the dispatcher with `{ runId, runnerToken }`. An
 * error (the bundle could not be downloaded) is thrown so that Lambda retries the event; the run
 * is still PENDING then, and the retry runs it.
 *
 * @example
 * ```ts
 * // infra: new NodejsFunction(this, "Runner", { entry: "lambdas/handlers/runner.ts", handler: "handler" })
 * ```
 */
export async function handler(event: unknown, context?: { awsRequestId?: string }): Promise<RunnerOutcome> {
  if (context) logger.addContext(context as never);
  const parsed = RunnerEventSchema.safeParse(event);
  if (!parsed.success) throw new Error(`invalid runner event: expected {"runId": "<id>", "runnerToken": "<claim token>"}, got ${JSON.stringify(event)?.slice(0, 200)}`);
  const { runId, runnerToken, timeoutSeconds, environment } = parsed.data;
  const where: RunnerInfo = context?.awsRequestId === undefined ? { kind: "lambda" } : { kind: "lambda", requestId: context.awsRequestId };
  // The pool's environment holds for this invocation only: the next one may belong to another pool.
  const restore = setEnvironment(environment ?? {});
  try {
    return await executeRun(runId, runnerToken, where, process.env, timeoutSeconds === undefined ? {} : { timeoutSeconds });
  } finally {
    restore();
  }
}

/**
 * The Fargate task's entry point: runs the flow run named by `ALOFT_RUN_ID` with the claim token
 * `ALOFT_RUNNER_TOKEN` (both set by the dispatcher's container override) — or, with
 * `ALOFT_TASK_INVOCATION` set, one task of a compiled flow (see runCompiledTask) — and resolves to the
 * process exit code (0 when the run was executed or had nothing to do, 1 when it could not start
 * or the runner failed). Called by itself when this module is the process's main module.
 *
 * @example
 * ```ts
 * // container: CMD ["node", "runner.mjs"]  (with ALOFT_RUN_ID and ALOFT_RUNNER_TOKEN set by the dispatcher's container override)
 * process.exitCode = await main();
 * ```
 */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (env.ALOFT_TASK_INVOCATION) return runCompiledTask(env);
  try {
    const runId = requireEnv(env, "ALOFT_RUN_ID", "the id of the flow run to execute");
    const runnerToken = requireEnv(env, "ALOFT_RUNNER_TOKEN", "the token of the dispatcher's claim on the run");
    const timeoutSeconds = env.ALOFT_JOB_TIMEOUT_SECONDS === undefined ? undefined : Number(env.ALOFT_JOB_TIMEOUT_SECONDS);
    const job = timeoutSeconds !== undefined && Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? { timeoutSeconds } : {};
    const outcome = await executeRun(runId, runnerToken, await ecsTaskOf(env), env, job);
    return outcome.action === "failed" ? 1 : 0;
  } catch (error) {
    logger.error("runner failed", error as Error);
    return 1;
  }
}

/** Sets variables in this process's environment; returns what puts the previous values back. */
function setEnvironment(variables: Record<string, string>): () => void {
  const previous = Object.entries(variables).map(([name]) => [name, process.env[name]] as const);
  Object.assign(process.env, variables);
  return () => {
    for (const [name, value] of previous) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/**
 * The same image runs the Fargate tasks of compiled (Step Functions) flows: with
 * `ALOFT_TASK_INVOCATION` set, it imports the bundle of the invocation's run (so the task is
 * registered) and runs that one task attempt, storing its result for the state machine.
 */
async function runCompiledTask(env: NodeJS.ProcessEnv): Promise<number> {
  try {
    const invocation = JSON.parse(env.ALOFT_TASK_INVOCATION ?? "") as { flowRunId?: unknown };
    if (typeof invocation.flowRunId !== "string") throw new Error(`ALOFT_TASK_INVOCATION has no flowRunId: ${env.ALOFT_TASK_INVOCATION?.slice(0, 200)}`);
    runner ??= runnerFromEnvironment(env);
    await runner.loadBundleOf(invocation.flowRunId);
  } catch (error) {
    logger.error("cannot load the task of this invocation", error as Error);
    return 1;
  }
  return runContainerTaskFromEnvironment(env);
}

/**
 * This Fargate task, from the ECS task metadata endpoint (`ECS_CONTAINER_METADATA_URI_V4`), so a
 * stop can address it; just `{ kind: "ecs" }` when the endpoint does not answer.
 */
async function ecsTaskOf(env: NodeJS.ProcessEnv): Promise<RunnerInfo> {
  const endpoint = env.ECS_CONTAINER_METADATA_URI_V4;
  if (!endpoint) return { kind: "ecs" };
  try {
    const response = await fetch(`${endpoint}/task`, { signal: AbortSignal.timeout(2_000) });
    const task = (await response.json()) as { TaskARN?: string; Cluster?: string };
    return { kind: "ecs", ...(task.TaskARN ? { taskArn: task.TaskARN } : {}), ...(task.Cluster ? { clusterArn: task.Cluster } : {}) };
  } catch {
    return { kind: "ecs" };
  }
}

const entry = process.argv[1];
if (entry !== undefined && typeof import.meta.url === "string" && import.meta.url === pathToFileURL(entry).href) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
