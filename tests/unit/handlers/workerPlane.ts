import { randomUUID } from "node:crypto";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { makeDynamoDbClient } from "../../../lambdas/adapters/awsClients.js";
import { makeS3Client } from "../../../lambdas/adapters/s3Client.js";
import { S3PayloadStore } from "../../../lambdas/adapters/s3PayloadStore.js";
import { makeSqsClient } from "../../../lambdas/adapters/sqsClient.js";
import { SqsWorkQueue } from "../../../lambdas/adapters/sqsWorkQueue.js";
import { serviceDeps, type ServiceDeps } from "../../../lambdas/services/context.js";
import { createServices, type Services } from "../../../lambdas/services/index.js";
import { DynamoDbStore } from "../../../lambdas/store/dynamoDbStore.js";
import { ensureTable } from "../../../lambdas/store/table.js";
import { startDynalite } from "../../support/dynalite.js";
import { startMoto } from "../../support/moto.js";

/**
 * What the worker functions run against in tests: a dynalite table with the services over it, and
 * a moto server with the work queue and the payload bucket. `env` is the functions' environment
 * (their contract variables plus the endpoint overrides), for tests that call a `handler`.
 */
export interface WorkerPlane {
  deps: ServiceDeps;
  services: Services;
  store: DynamoDbStore;
  sqs: SQSClient;
  queueUrl: string;
  queue: SqsWorkQueue;
  bucket: string;
  motoEndpoint: string;
  env: Record<string, string>;
  /** Every SendMessage input the test's own SQS client made, in order. */
  sent: Array<Record<string, unknown>>;
  /** Receives (and deletes) the visible messages' bodies. */
  drain(): Promise<Array<{ runId: string }>>;
  /** Messages waiting out their DelaySeconds. */
  delayedCount(): Promise<number>;
  dispose(): Promise<void>;
}

/**
 * Starts dynalite and moto and creates a table, a queue and a bucket, each with a unique name.
 *
 * @example
 * ```ts
 * const plane = await startWorkerPlane();
 * for (const [name, value] of Object.entries(plane.env)) vi.stubEnv(name, value);
 * ```
 */
export async function startWorkerPlane(options: { now?: () => number } = {}): Promise<WorkerPlane> {
  const [dynalite, moto] = await Promise.all([startDynalite(), startMoto()]);
  const dynamo = makeDynamoDbClient({ endpoint: dynalite.endpoint });
  const tableName = `aloft-${randomUUID()}`;
  await ensureTable(dynamo, tableName);
  const sqs = makeSqsClient({ endpoint: moto.endpoint });
  const sent: Array<Record<string, unknown>> = [];
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "SendMessageCommand") sent.push({ ...(args.input as Record<string, unknown>) });
      return next(args);
    },
    { step: "initialize", name: "recordSentMessages" },
  );
  const queueName = `aloft-work-${randomUUID()}`;
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  const s3 = makeS3Client({ endpoint: moto.endpoint });
  const bucket = `aloft-${randomUUID()}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const store = new DynamoDbStore({ client: dynamo, tableName });
  const deps = serviceDeps(store, new S3PayloadStore(s3, bucket));
  if (options.now) deps.now = options.now;
  const queueUrl = QueueUrl!;
  return {
    deps,
    services: createServices(deps),
    store,
    sqs,
    queueUrl,
    queue: new SqsWorkQueue(sqs, queueUrl),
    bucket,
    motoEndpoint: moto.endpoint,
    env: {
      ALOFT_TABLE_NAME: tableName,
      ALOFT_WORK_QUEUE_URL: queueUrl,
      ALOFT_PAYLOAD_BUCKET: bucket,
      AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
      AWS_ENDPOINT_URL_SQS: moto.endpoint,
      AWS_ENDPOINT_URL_S3: moto.endpoint,
      AWS_REGION: "us-east-1",
    },
    sent,
    drain: async () => {
      const bodies: Array<{ runId: string }> = [];
      for (;;) {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        if (Messages.length === 0) return bodies;
        for (const message of Messages) {
          bodies.push(JSON.parse(message.Body ?? "{}") as { runId: string });
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
        }
      }
    },
    delayedCount: async () => {
      const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessagesDelayed"] }));
      return Number(Attributes.ApproximateNumberOfMessagesDelayed ?? "0");
    },
    dispose: async () => {
      dynamo.destroy();
      sqs.destroy();
      s3.destroy();
      await Promise.all([dynalite.close(), moto.close()]);
    },
  };
}
