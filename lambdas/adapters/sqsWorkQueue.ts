import type { SQSClient } from "@aws-sdk/client-sqs";
import { lazyClient, type ClientSource } from "./awsClients.js";
import { awsSdk } from "./awsSdk.js";
import {
  MAX_QUEUE_DELAY_SECONDS,
  receiveSettings,
  visibilitySeconds,
  type QueueAddress,
  type ReceiveOptions,
  type ReceivedMessage,
  type RunMessage,
  type WorkQueue,
  type WorkQueues,
} from "../services/ports.js";

/**
 * The work queue on SQS (a standard queue: at-least-once, roughly ordered); the body is the
 * message's JSON. Visibility timeout and redrive to a dead-letter queue are the queue's own
 * attributes (set by the CDK). A received message whose body is not `{"runId": "<id>"}` is left
 * alone: it comes back after its visibility timeout and its redrive policy moves it to the
 * dead-letter queue. Given a client factory, it loads the SQS SDK on its first call.
 *
 * @example
 * ```ts
 * const queue = new SqsWorkQueue(() => loadSqsClient(), process.env.ALOFT_WORK_QUEUE_URL!);
 * await queue.send({ runId }, { delaySeconds: 30 });
 * ```
 */
export class SqsWorkQueue implements WorkQueue {
  private readonly client: () => Promise<SQSClient>;

  constructor(
    client: ClientSource<SQSClient>,
    private readonly queueUrl: string,
  ) {
    this.client = lazyClient(client);
  }

  async send(message: RunMessage, options: { delaySeconds?: number } = {}): Promise<void> {
    const delay = Math.max(0, Math.min(MAX_QUEUE_DELAY_SECONDS, Math.ceil(options.delaySeconds ?? 0)));
    const client = await this.client();
    const { SendMessageCommand } = awsSdk("@aws-sdk/client-sqs");
    await client.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message), ...(delay > 0 ? { DelaySeconds: delay } : {}) }),
    );
  }

  async receive(options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const { maxMessages, waitSeconds, visibilityTimeoutSeconds } = receiveSettings(options);
    if (options.signal?.aborted) return [];
    const client = await this.client();
    const { ReceiveMessageCommand } = awsSdk("@aws-sdk/client-sqs");
    let output;
    try {
      output = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: maxMessages,
          WaitTimeSeconds: waitSeconds,
          ...(visibilityTimeoutSeconds === undefined ? {} : { VisibilityTimeout: visibilityTimeoutSeconds }),
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
        options.signal ? { abortSignal: options.signal } : {},
      );
    } catch (error) {
      if (options.signal?.aborted) return [];
      throw error;
    }
    const received: ReceivedMessage[] = [];
    for (const message of output.Messages ?? []) {
      const body = runMessageOf(message.Body);
      if (!body || !message.MessageId || !message.ReceiptHandle) continue;
      const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? "1") || 1;
      received.push({ message: body, messageId: message.MessageId, receiptHandle: message.ReceiptHandle, receiveCount });
    }
    return received;
  }

  async delete(receiptHandle: string): Promise<void> {
    const client = await this.client();
    const { DeleteMessageCommand } = awsSdk("@aws-sdk/client-sqs");
    await client.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle }));
  }

  async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    visibilitySeconds(seconds);
    const client = await this.client();
    const { ChangeMessageVisibilityCommand } = awsSdk("@aws-sdk/client-sqs");
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
  }
}

/**
 * The work queues of every pool on SQS: `urlOf` says which SQS queue serves a (pool, queue), and
 * each URL gets one {@link SqsWorkQueue} sharing the client. Many addresses may share one URL (the
 * control plane's single work queue serves every lambda and fargate pool unless a team adds its own).
 *
 * @example
 * ```ts
 * const queues = new SqsWorkQueues(() => loadSqsClient(), () => process.env.ALOFT_WORK_QUEUE_URL!);
 * await queues.queue({ pool: "etl", queue: "default" }).send({ runId });
 * ```
 */
export class SqsWorkQueues implements WorkQueues {
  private readonly client: () => Promise<SQSClient>;
  private readonly byUrl = new Map<string, SqsWorkQueue>();

  constructor(
    client: ClientSource<SQSClient>,
    private readonly urlOf: (address: QueueAddress) => string,
  ) {
    this.client = lazyClient(client);
  }

  queue(address: QueueAddress): SqsWorkQueue {
    const url = this.urlOf(address);
    let queue = this.byUrl.get(url);
    if (!queue) {
      queue = new SqsWorkQueue(this.client, url);
      this.byUrl.set(url, queue);
    }
    return queue;
  }
}

function runMessageOf(body: string | undefined): RunMessage | undefined {
  try {
    const value = JSON.parse(body ?? "") as unknown;
    if (typeof value !== "object" || value === null) return undefined;
    const runId = (value as { runId?: unknown }).runId;
    return typeof runId === "string" && runId.length > 0 && runId.length <= 128 ? { runId } : undefined;
  } catch {
    return undefined;
  }
}
