import { Metrics } from "@aws-lambda-powertools/metrics";
import { handle } from "hono/aws-lambda";
import type { Hono } from "hono";
import { makeDynamoDbClient } from "../adapters/awsClients.js";
import { METRICS_NAMESPACE } from "../adapters/environment.js";
import { countFinishedFlowRuns } from "../adapters/flowRunMetrics.js";
import { loadS3Client, loadSecretsManagerClient, loadSqsClient } from "../adapters/lazyAwsClients.js";
import { SqsWorkQueue } from "../adapters/sqsWorkQueue.js";
import { S3PayloadStore } from "../adapters/s3PayloadStore.js";
import { loadSfnClient } from "../adapters/sfnStateMachines.js";
import { SfnStepFunctionsCallbacks } from "../adapters/sfnStepFunctionsCallbacks.js";
import { cachedSecretString } from "../adapters/secretsManagerSecret.js";
import { iamAuthorizer } from "../http/auth.js";
import { createApi } from "../http/app.js";
import { createServices } from "../services/index.js";
import { serviceDeps } from "../services/context.js";
import { queueingHooks } from "../services/dispatch.js";
import { DynamoDbStore } from "../store/dynamoDbStore.js";

const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "aloft-api" });

/**
 * Builds the API app from the Lambda environment: `ALOFT_TABLE_NAME` names the DynamoDB table and
 * `ALOFT_PAYLOAD_BUCKET` the S3 bucket for large values (its client is loaded by the first such
 * value); API Gateway's IAM authorizer authenticates callers. With `ALOFT_WORK_QUEUE_URL`, deployment
 * runs created, retried or resumed through the API are sent to the work queue at once (its SQS
 * client is loaded by the first). `ALOFT_WEBHOOK_SECRET_ARN` names the
 * Secrets Manager secret webhook senders sign with (unset: no webhook route): read by the first webhook request (and its SDK
 * package loaded then), kept for the execution environment. Flow runs that finish through the
 * API are counted in the `FlowRunsFinished` and `FlowRunsFailed` metrics.
 *
 * @example
 * ```ts
 * const app = apiFromEnvironment({ ALOFT_TABLE_NAME: "aloft", ALOFT_PAYLOAD_BUCKET: "aloft-payloads", ALOFT_WEBHOOK_SECRET_ARN: secretArn });
 * ```
 */
export function apiFromEnvironment(env: NodeJS.ProcessEnv = process.env): Hono {
  const tableName = env.ALOFT_TABLE_NAME;
  if (!tableName) throw new Error("ALOFT_TABLE_NAME is not set: the API function needs the name of its DynamoDB table");
  const bucket = env.ALOFT_PAYLOAD_BUCKET;
  if (!bucket) throw new Error("ALOFT_PAYLOAD_BUCKET is not set: the API function needs the bucket for values over 64 KB");
  const webhookSecretArn = env.ALOFT_WEBHOOK_SECRET_ARN;
  const store = new DynamoDbStore({ client: makeDynamoDbClient(), tableName });
  const payloads = new S3PayloadStore(() => loadS3Client(), bucket);
  const queueUrl = env.ALOFT_WORK_QUEUE_URL;
  const deps = serviceDeps(store, payloads, {
    onFlowRunFinished: countFinishedFlowRuns(metrics),
    // Deployment runs made, retried or resumed here go to the work queue at once (else the monitor finds them Late).
    ...(queueUrl ? queueingHooks(new SqsWorkQueue(() => loadSqsClient(), queueUrl), Date.now) : {}),
    // Resuming a Step Functions run waiting for approval sends its task token back (SendTaskSuccess).
    stepFunctionsCallbacks: new SfnStepFunctionsCallbacks(() => loadSfnClient()),
  });
  // Without a secret there is no webhook route (404): nothing could verify a sender.
  const webhookSecret = webhookSecretArn ? { webhookSecret: cachedSecretString(() => loadSecretsManagerClient(), webhookSecretArn) } : {};
  return createApi({ services: createServices(deps), auth: iamAuthorizer, ...webhookSecret });
}

let app: Hono | undefined;

/**
 * The API Lambda's entry point (API Gateway HTTP API, payload format 2.0). The app is built once
 * per execution environment, on the first request. The metrics a request adds are published
 * (CloudWatch EMF on stdout) before it returns.
 *
 * @example
 * ```ts
 * // infra: new NodejsFunction(this, "Api", { entry: "lambdas/handlers/api.ts", handler: "handler" })
 * ```
 */
export const handler: ReturnType<typeof handle> = async (event, context) => {
  app ??= apiFromEnvironment();
  try {
    return await handle(app)(withoutBodyOnReads(event), context);
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
};

/** A GET or HEAD carries no body; hono's adapter refuses one in plain text, so it is dropped here. */
function withoutBodyOnReads<E>(event: E): E {
  const method = (event as { requestContext?: { http?: { method?: string } } }).requestContext?.http?.method;
  if ((method === "GET" || method === "HEAD") && (event as { body?: unknown }).body !== undefined) {
    const { body: _body, isBase64Encoded: _encoded, ...rest } = event as E & { body?: unknown; isBase64Encoded?: boolean };
    return { ...rest, isBase64Encoded: false } as E;
  }
  return event;
}
