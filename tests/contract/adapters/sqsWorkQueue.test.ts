import { randomUUID } from "node:crypto";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSqsClient } from "../../../lambdas/adapters/lazyAwsClients.js";
import { makeSqsClient } from "../../../lambdas/adapters/sqsClient.js";
import { SqsWorkQueue, SqsWorkQueues } from "../../../lambdas/adapters/sqsWorkQueue.js";
import { startMoto, type MotoServer } from "../../support/moto.js";
import { describeWorkQueueContract } from "./workQueue.contract.js";

let moto: MotoServer;
let sqs: SQSClient;
const sent: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  moto = await startMoto();
  sqs = makeSqsClient({ endpoint: moto.endpoint });
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "SendMessageCommand") sent.push({ ...(args.input as Record<string, unknown>) });
      return next(args);
    },
    { step: "initialize", name: "recordSentMessages" },
  );
});

afterAll(async () => {
  sqs?.destroy();
  await moto?.close();
});

async function newQueue(attributes: Record<string, string> = {}): Promise<string> {
  return (await sqs.send(new CreateQueueCommand({ QueueName: `aloft-${randomUUID()}`, Attributes: attributes }))).QueueUrl!;
}

describeWorkQueueContract("SqsWorkQueue on moto", async ({ visibilityTimeoutSeconds, maxReceiveCount }) => {
  const deadLetterUrl = await newQueue({ VisibilityTimeout: String(visibilityTimeoutSeconds) });
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ["QueueArn"] }));
  const queueUrl = await newQueue({
    VisibilityTimeout: String(visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes.QueueArn, maxReceiveCount }),
  });
  return { queue: new SqsWorkQueue(sqs, queueUrl), deadLetters: new SqsWorkQueue(sqs, deadLetterUrl) };
});

describe("SqsWorkQueue on moto", () => {
  it("sends the run message as its JSON body, visible at once without a delay", async () => {
    const queueUrl = await newQueue();

    await new SqsWorkQueue(sqs, queueUrl).send({ runId: "run-1" });

    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    expect(Messages.map((message) => JSON.parse(message.Body!) as unknown)).toEqual([{ runId: "run-1" }]);
  });

  it("holds a message back by whole seconds, at most 900", async () => {
    const queueUrl = await newQueue();
    const queue = new SqsWorkQueue(sqs, queueUrl);
    sent.length = 0;

    await queue.send({ runId: "soon" }, { delaySeconds: 12.2 });
    await queue.send({ runId: "later" }, { delaySeconds: 4_000 });

    expect(sent.map((input) => input.DelaySeconds)).toEqual([13, 900]);
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    expect(Messages).toEqual([]);
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessagesDelayed"] }));
    expect(Attributes.ApproximateNumberOfMessagesDelayed).toBe("2");
  });

  it("fails when the queue does not exist", async () => {
    await expect(new SqsWorkQueue(sqs, `${moto.endpoint}/123456789012/missing-${randomUUID()}`).send({ runId: "x" })).rejects.toThrow();
  });

  it("given a client factory, makes the client on the first send and reuses it for the next ones", async () => {
    const queueUrl = await newQueue();
    let made = 0;
    const queue = new SqsWorkQueue(() => {
      made += 1;
      return loadSqsClient({ endpoint: moto.endpoint });
    }, queueUrl);
    expect(made).toBe(0);

    await queue.send({ runId: "first" });
    await queue.send({ runId: "second" });

    expect(made).toBe(1);
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    expect(Messages.map((message) => (JSON.parse(message.Body!) as { runId: string }).runId).sort()).toEqual(["first", "second"]);
  });

  it("makes the client again on the next send when the factory failed", async () => {
    const queueUrl = await newQueue();
    let attempts = 0;
    const queue = new SqsWorkQueue(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error("credentials are not ready");
      return loadSqsClient({ endpoint: moto.endpoint });
    }, queueUrl);

    await expect(queue.send({ runId: "lost" })).rejects.toThrow("credentials are not ready");
    await queue.send({ runId: "kept" });

    expect(attempts).toBe(2);
  });
});

describe("SqsWorkQueues on moto", () => {
  it("sends each pool queue's messages to the SQS queue its address maps to", async () => {
    const [urgentUrl, sharedUrl] = [await newQueue(), await newQueue()];
    const queues = new SqsWorkQueues(sqs, ({ pool, queue }) => (pool === "etl" && queue === "urgent" ? urgentUrl : sharedUrl));

    await queues.queue({ pool: "etl", queue: "urgent" }).send({ runId: "u-1" });
    await queues.queue({ pool: "etl", queue: "default" }).send({ runId: "d-1" });
    await queues.queue({ pool: "reports", queue: "default" }).send({ runId: "r-1" });

    expect(queues.queue({ pool: "etl", queue: "default" })).toBe(queues.queue({ pool: "reports", queue: "default" }));
    const urgent = await new SqsWorkQueue(sqs, urgentUrl).receive({ maxMessages: 10 });
    const shared = await new SqsWorkQueue(sqs, sharedUrl).receive({ maxMessages: 10 });
    expect(urgent.map((delivery) => delivery.message.runId)).toEqual(["u-1"]);
    expect(shared.map((delivery) => delivery.message.runId).sort()).toEqual(["d-1", "r-1"]);
  });

  it("leaves a message whose body is not a run message for the redrive policy", async () => {
    const queueUrl = await newQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "not json" }));
    await new SqsWorkQueue(sqs, queueUrl).send({ runId: "good" });

    const received = await new SqsWorkQueue(sqs, queueUrl).receive({ maxMessages: 10 });

    expect(received.map((delivery) => delivery.message)).toEqual([{ runId: "good" }]);
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessagesNotVisible"] }));
    expect(Attributes.ApproximateNumberOfMessagesNotVisible).toBe("2");
  });
});
