import { join } from "node:path";
import { tmpdir } from "node:os";
import { FileCacheStore } from "../../sdk/engine/cache.js";
import { runContainerInvocation, runStepFunctionsInvocation, type InvocationDeps } from "../../sdk/stepfunctions/taskInvocation.js";
import { lazyClient, makeDynamoDbClient } from "../adapters/awsClients.js";
import { requireEnv } from "../adapters/environment.js";
import { loadS3Client } from "../adapters/lazyAwsClients.js";
import { S3PayloadStore } from "../adapters/s3PayloadStore.js";
import { serviceDeps } from "../services/context.js";
import { createServices } from "../services/index.js";
import { stepFunctionsControlPlane } from "../services/stepFunctionTasks.js";
import { DynamoDbStore } from "../store/dynamoDbStore.js";

/**
 * Composes the task Lambda from its environment: `ALOFT_TABLE_NAME` (task runs, logs and approval
 * tokens are recorded there) and `ALOFT_PAYLOAD_BUCKET` (results over 256 KB, by reference). Tasks
 * are found among those the bundle defines; the cache lives under /tmp.
 *
 * @example
 * ```ts
 * const deps = taskDepsFromEnvironment({ ALOFT_TABLE_NAME: "aloft", ALOFT_PAYLOAD_BUCKET: "aloft-payloads" });
 * ```
 */
export function taskDepsFromEnvironment(env: NodeJS.ProcessEnv = process.env): InvocationDeps {
  const tableName = requireEnv(env, "ALOFT_TABLE_NAME", "the name of the control plane's DynamoDB table");
  const bucket = requireEnv(env, "ALOFT_PAYLOAD_BUCKET", "the bucket for task results over 256 KB");
  const payloads = new S3PayloadStore(lazyClient(() => loadS3Client()), bucket);
  const services = createServices(serviceDeps(new DynamoDbStore({ client: makeDynamoDbClient(), tableName }), payloads));
  return { controlPlane: stepFunctionsControlPlane(services), payloads, cache: new FileCacheStore(join(tmpdir(), "aloft", "cache")) };
}

let deps: InvocationDeps | undefined;

/**
 * The flow bundle's task Lambda, invoked by the compiled state machines' Task states with an
 * `aloft.task`, `aloft.hook` or `aloft.approval` payload. Resolves to the task's result (the
 * state's `$.Payload`); a failure is thrown with the ASL error name its Retry and Catch match.
 *
 * @example
 * ```ts
 * // infra: the FlowBundle's task function, handler "handler" of lambdas/handlers/task.ts
 * ```
 */
export async function handler(event: unknown): Promise<unknown> {
  deps ??= taskDepsFromEnvironment();
  return runStepFunctionsInvocation(event, deps);
}

/**
 * The Fargate side of a compiled `runtime: "fargate"` task: runs the invocation in
 * `ALOFT_TASK_INVOCATION` (attempt `ALOFT_TASK_ATTEMPT`) and stores its result for the state
 * machine's following `aloft.result` state. Resolves to the process exit code (0, or 1 when the task
 * failed: ECS then fails the state with States.TaskFailed). The runner container's entry point calls
 * it when that variable is set.
 *
 * @example
 * ```ts
 * if (process.env.ALOFT_TASK_INVOCATION) process.exitCode = await runContainerTaskFromEnvironment();
 * ```
 */
export async function runContainerTaskFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const invocation = requireEnv(env, "ALOFT_TASK_INVOCATION", "the task invocation the state machine gave this container");
  try {
    await runContainerInvocation(JSON.parse(invocation), Number(env.ALOFT_TASK_ATTEMPT ?? "0"), taskDepsFromEnvironment(env));
    return 0;
  } catch (error) {
    process.stderr.write(`${JSON.stringify({ level: "ERROR", message: "the task failed", error: { name: (error as Error).name, message: (error as Error).message } })}\n`);
    return 1;
  }
}
