import type { SQSClient } from "@aws-sdk/client-sqs";
import { lazyClient, type ClientSource } from "./awsClients.js";
import { awsSdk } from "./awsSdk.js";
import { MAX_QUEUE_DELAY_SECONDS, type RunMessage, type WorkQueue } from "../services/ports.js";

/**
 * The work queue on SQS (a standard queue: at-least-once, unordered); the body is the message's JSON.
 * Given a client factory, it loads the SQS SDK on its first send.
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
}
