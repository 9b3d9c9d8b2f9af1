import { randomUUID } from "node:crypto";
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

/** How a local queue behaves, as an SQS queue's attributes would say. */
export interface LocalWorkQueueOptions {
  /** How long a received message stays hidden (SQS VisibilityTimeout); 30 s by default. */
  visibilityTimeoutSeconds?: number;
  /** SQS RedrivePolicy: a message received `maxReceiveCount` times moves to `deadLetterQueue` on its next receive. */
  redrive?: { deadLetterQueue: LocalWorkQueue; maxReceiveCount: number };
}

/** How many messages a queue holds, by where they are. */
export interface LocalQueueCounts {
  /** Ready to be received. */
  visible: number;
  /** Received and not yet deleted, within their visibility timeout. */
  inFlight: number;
  /** Sent with a delay that has not passed. */
  delayed: number;
}

interface StoredMessage {
  id: string;
  body: RunMessage;
  visibleAt: number;
  receiveCount: number;
  /** The current delivery's handle; earlier handles no longer delete the message. */
  handle?: string;
}

interface Waiter {
  maxMessages: number;
  visibilityMs: number;
  resolve: (messages: ReceivedMessage[]) => void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * A receipt handle the queue never issued (SQS answers ReceiptHandleIsInvalid).
 *
 * @example
 * ```ts
 * await queue.delete("forged").catch((error) => error instanceof ReceiptHandleInvalidError); // true
 * ```
 */
export class ReceiptHandleInvalidError extends Error {
  constructor(readonly receiptHandle: string) {
    super(`the receipt handle "${receiptHandle.slice(0, 80)}" was not issued by this queue`);
    this.name = "ReceiptHandleIsInvalid";
  }
}

/**
 * A work queue in memory with SQS's semantics, for the local server: delays, visibility timeouts,
 * receive counts, redrive to a dead-letter queue after maxReceiveCount, and long polling that
 * returns as soon as a message is sent or becomes visible. Messages are delivered in the order
 * they were sent (a message coming back after its visibility timeout keeps its place). Messages
 * live as long as the process.
 *
 * @example
 * ```ts
 * const deadLetters = new LocalWorkQueue();
 * const queue = new LocalWorkQueue({ visibilityTimeoutSeconds: 30, redrive: { deadLetterQueue: deadLetters, maxReceiveCount: 5 } });
 * await queue.send({ runId });
 * const [delivery] = await queue.receive({ waitSeconds: 20 });
 * ```
 */
export class LocalWorkQueue implements WorkQueue {
  private readonly messages: StoredMessage[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly visibilityMs: number;
  private wakeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: LocalWorkQueueOptions = {}) {
    this.visibilityMs = visibilitySeconds(options.visibilityTimeoutSeconds ?? 30) * 1000;
    const maxReceiveCount = options.redrive?.maxReceiveCount;
    if (maxReceiveCount !== undefined && (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000)) {
      throw new RangeError(`maxReceiveCount must be an integer from 1 to 1000, not ${maxReceiveCount}`);
    }
  }

  async send(message: RunMessage, options: { delaySeconds?: number } = {}): Promise<void> {
    const delay = Math.max(0, Math.min(MAX_QUEUE_DELAY_SECONDS, Math.ceil(options.delaySeconds ?? 0)));
    this.messages.push({ id: randomUUID(), body: { ...message }, visibleAt: Date.now() + delay * 1000, receiveCount: 0 });
    this.wake();
  }

  async receive(options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const { maxMessages, waitSeconds, visibilityTimeoutSeconds } = receiveSettings(options);
    const visibilityMs = visibilityTimeoutSeconds === undefined ? this.visibilityMs : visibilityTimeoutSeconds * 1000;
    const now = this.take(maxMessages, visibilityMs);
    if (now.length > 0 || waitSeconds === 0 || this.closed || options.signal?.aborted) return now;
    return new Promise((resolve) => {
      const waiter: Waiter = {
        maxMessages,
        visibilityMs,
        signal: options.signal,
        resolve: (messages) => {
          clearTimeout(waiter.timer);
          waiter.signal?.removeEventListener("abort", waiter.onAbort);
          const index = this.waiters.indexOf(waiter);
          if (index !== -1) this.waiters.splice(index, 1);
          resolve(messages);
        },
        timer: setTimeout(() => waiter.resolve(this.take(maxMessages, visibilityMs)), waitSeconds * 1000),
        onAbort: () => waiter.resolve([]),
      };
      options.signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.waiters.push(waiter);
      this.scheduleWake();
    });
  }

  async delete(receiptHandle: string): Promise<void> {
    const index = this.indexOfDelivery(receiptHandle);
    if (index !== -1) this.messages.splice(index, 1);
  }

  async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    visibilitySeconds(seconds);
    const index = this.indexOfDelivery(receiptHandle);
    const message = this.messages[index];
    if (!message) return;
    message.visibleAt = Date.now() + seconds * 1000;
    this.wake();
  }

  /**
   * How many messages the queue holds, by state.
   *
   * @example
   * ```ts
   * const { visible, inFlight } = queue.counts();
   * ```
   */
  counts(): LocalQueueCounts {
    const now = Date.now();
    const counts: LocalQueueCounts = { visible: 0, inFlight: 0, delayed: 0 };
    for (const message of this.messages) {
      if (message.visibleAt <= now) counts.visible += 1;
      else if (message.receiveCount > 0) counts.inFlight += 1;
      else counts.delayed += 1;
    }
    return counts;
  }

  /**
   * Ends every long poll with no messages; later receives answer at once. Sent messages stay.
   *
   * @example
   * ```ts
   * server.on("close", () => queue.close());
   * ```
   */
  close(): void {
    this.closed = true;
    for (const waiter of [...this.waiters]) waiter.resolve([]);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
  }

  /** Receives up to `max` visible messages now, redriving those received too often. */
  private take(max: number, visibilityMs: number): ReceivedMessage[] {
    const now = Date.now();
    const taken: ReceivedMessage[] = [];
    const redrive = this.options.redrive;
    for (let index = 0; index < this.messages.length && taken.length < max; index++) {
      const message = this.messages[index]!;
      if (message.visibleAt > now) continue;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        this.messages.splice(index, 1);
        index -= 1;
        void redrive.deadLetterQueue.send(message.body);
        continue;
      }
      message.receiveCount += 1;
      message.visibleAt = now + visibilityMs;
      message.handle = `${message.id}#${message.receiveCount}#${randomUUID()}`;
      taken.push({ message: { ...message.body }, messageId: message.id, receiptHandle: message.handle, receiveCount: message.receiveCount });
    }
    return taken;
  }

  /** The message this handle's delivery is still current for; -1 for an earlier delivery or a deleted message. */
  private indexOfDelivery(receiptHandle: string): number {
    if (!/^[0-9a-f-]{36}#\d+#[0-9a-f-]{36}$/.test(receiptHandle)) throw new ReceiptHandleInvalidError(receiptHandle);
    return this.messages.findIndex((message) => message.handle === receiptHandle);
  }

  /** Hands visible messages to waiting receivers, oldest waiter first. */
  private wake(): void {
    for (const waiter of [...this.waiters]) {
      const messages = this.take(waiter.maxMessages, waiter.visibilityMs);
      if (messages.length === 0) break;
      waiter.resolve(messages);
    }
    this.scheduleWake();
  }

  /** While receivers wait, wakes up when the next hidden message becomes visible. */
  private scheduleWake(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (this.waiters.length === 0) return;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const message of this.messages) if (message.visibleAt > now) next = Math.min(next, message.visibleAt);
    if (!Number.isFinite(next)) return;
    this.wakeTimer = setTimeout(() => this.wake(), Math.max(1, next - now));
    this.wakeTimer.unref();
  }
}

/**
 * The local server's work queues: one {@link LocalWorkQueue} per (pool, queue), made on first use,
 * each with its own dead-letter queue.
 *
 * @example
 * ```ts
 * const queues = new LocalWorkQueues({ visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
 * await queues.queue({ pool: "local", queue: "default" }).send({ runId });
 * ```
 */
export class LocalWorkQueues implements WorkQueues {
  private readonly queues = new Map<string, { queue: LocalWorkQueue; deadLetters: LocalWorkQueue }>();

  constructor(private readonly options: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number } = {}) {}

  queue(address: QueueAddress): LocalWorkQueue {
    return this.pair(address).queue;
  }

  /**
   * The dead-letter queue of a (pool, queue): messages received maxReceiveCount times without being deleted.
   *
   * @example
   * ```ts
   * const stuck = await queues.deadLetterQueue({ pool: "local", queue: "default" }).receive({ maxMessages: 10 });
   * ```
   */
  deadLetterQueue(address: QueueAddress): LocalWorkQueue {
    return this.pair(address).deadLetters;
  }

  /**
   * Closes every queue (ends their long polls).
   *
   * @example
   * ```ts
   * queues.close();
   * ```
   */
  close(): void {
    for (const { queue, deadLetters } of this.queues.values()) {
      queue.close();
      deadLetters.close();
    }
  }

  private pair(address: QueueAddress): { queue: LocalWorkQueue; deadLetters: LocalWorkQueue } {
    const key = JSON.stringify([address.pool, address.queue]);
    let pair = this.queues.get(key);
    if (!pair) {
      const deadLetters = new LocalWorkQueue({ visibilityTimeoutSeconds: this.options.visibilityTimeoutSeconds ?? 30 });
      const queue = new LocalWorkQueue({
        visibilityTimeoutSeconds: this.options.visibilityTimeoutSeconds ?? 30,
        redrive: { deadLetterQueue: deadLetters, maxReceiveCount: this.options.maxReceiveCount ?? 5 },
      });
      pair = { queue, deadLetters };
      this.queues.set(key, pair);
    }
    return pair;
  }
}
