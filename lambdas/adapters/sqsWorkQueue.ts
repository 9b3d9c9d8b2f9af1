import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { MAX_QUEUE_DELAY_SECONDS, type RunMessage, type WorkQueue } from "../services/ports.js";

/**
 * The work queue on SQS (a standard queue: at-least-once, unordered); the body is the message's JSON.
 *
 * @example
 * ```ts
 * const queue = new SqsWorkQueue(makeSqsClient(), process.env.ALOFT_WORK_QUEUE_URL!);
 * await queue.send({ runId }, { delaySeconds: 30 });
 * ```
 */
export class SqsWorkQueue implements WorkQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: RunMessage, options: { delaySeconds?: number } = {}): Promise<void> {
    const delay = Math.max(0, Math.min(MAX_QUEUE_DELAY_SECONDS, Math.ceil(options.delaySeconds ?? 0)));
    await this.client.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message), ...(delay > 0 ? { DelaySeconds: delay } : {}) }),
    );
  }
}
