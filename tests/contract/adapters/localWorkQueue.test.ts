import { describe, expect, it } from "vitest";
import { LocalWorkQueue, LocalWorkQueues } from "../../../lambdas/adapters/localWorkQueue.js";
import { describeWorkQueueContract } from "./workQueue.contract.js";

describeWorkQueueContract("LocalWorkQueue", async ({ visibilityTimeoutSeconds, maxReceiveCount }) => {
  const deadLetters = new LocalWorkQueue({ visibilityTimeoutSeconds });
  return { queue: new LocalWorkQueue({ visibilityTimeoutSeconds, redrive: { deadLetterQueue: deadLetters, maxReceiveCount } }), deadLetters };
});

describe("LocalWorkQueue", () => {
  it("delivers messages in the order they were sent", async () => {
    const queue = new LocalWorkQueue();
    const sent = Array.from({ length: 25 }, (_, index) => `run-${index}`);
    for (const runId of sent) await queue.send({ runId });

    const received: string[] = [];
    for (let batch = await queue.receive({ maxMessages: 10 }); batch.length > 0; batch = await queue.receive({ maxMessages: 10 })) {
      received.push(...batch.map((delivery) => delivery.message.runId));
    }

    expect(received).toEqual(sent);
  });

  it("gives a message that comes back its old place ahead of later ones", async () => {
    const queue = new LocalWorkQueue();
    await queue.send({ runId: "first" });
    await queue.send({ runId: "second" });
    const [first] = await queue.receive();

    await queue.changeVisibility(first!.receiptHandle, 0);

    expect((await queue.receive({ maxMessages: 10 })).map((delivery) => delivery.message.runId)).toEqual(["first", "second"]);
  });

  it("hands each message to one of many concurrent long polls, oldest poll first", async () => {
    const queue = new LocalWorkQueue();
    const polls = Array.from({ length: 5 }, () => queue.receive({ waitSeconds: 20 }));

    for (const runId of ["a", "b", "c"]) await queue.send({ runId });
    queue.close();

    expect((await Promise.all(polls)).map((batch) => batch.map((delivery) => delivery.message.runId))).toEqual([["a"], ["b"], ["c"], [], []]);
  });

  it("does not let an earlier delivery's receipt handle delete the message after it was delivered again", async () => {
    const queue = new LocalWorkQueue();
    await queue.send({ runId: "kept" });
    const [first] = await queue.receive({ visibilityTimeoutSeconds: 0 });
    const [second] = await queue.receive({ visibilityTimeoutSeconds: 0 });

    await queue.delete(first!.receiptHandle);

    expect(queue.counts()).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    await queue.delete(second!.receiptHandle);
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it("counts visible, in-flight and delayed messages", async () => {
    const queue = new LocalWorkQueue();
    await queue.send({ runId: "now" });
    await queue.send({ runId: "taken" });
    await queue.send({ runId: "later" }, { delaySeconds: 60 });
    await queue.receive();

    expect(queue.counts()).toEqual({ visible: 1, inFlight: 1, delayed: 1 });
  });

  it("answers receives at once with no messages once closed, keeping what was sent", async () => {
    const queue = new LocalWorkQueue();
    queue.close();
    await queue.send({ runId: "kept" });

    expect(queue.counts().visible).toBe(1);
    expect((await queue.receive({ waitSeconds: 20 })).map((delivery) => delivery.message.runId)).toEqual(["kept"]);
    expect(await queue.receive({ waitSeconds: 20 })).toEqual([]);
  });

  it("refuses a maxReceiveCount SQS would refuse", () => {
    expect(() => new LocalWorkQueue({ redrive: { deadLetterQueue: new LocalWorkQueue(), maxReceiveCount: 0 } })).toThrow("maxReceiveCount must be an integer from 1 to 1000, not 0");
  });
});

describe("LocalWorkQueues", () => {
  it("keeps one queue per pool and queue name, each with its own dead-letter queue", async () => {
    const queues = new LocalWorkQueues({ visibilityTimeoutSeconds: 30, maxReceiveCount: 1 });
    await queues.queue({ pool: "local", queue: "default" }).send({ runId: "a" });
    await queues.queue({ pool: "local", queue: "bulk" }).send({ runId: "b" });
    await queues.queue({ pool: "other", queue: "default" }).send({ runId: "c" });

    expect(queues.queue({ pool: "local", queue: "default" })).toBe(queues.queue({ pool: "local", queue: "default" }));
    const [delivery] = await queues.queue({ pool: "local", queue: "default" }).receive({ maxMessages: 10 });
    expect(delivery?.message.runId).toBe("a");
    await queues.queue({ pool: "local", queue: "default" }).changeVisibility(delivery!.receiptHandle, 0);
    expect(await queues.queue({ pool: "local", queue: "default" }).receive()).toEqual([]);

    expect((await queues.deadLetterQueue({ pool: "local", queue: "default" }).receive()).map((d) => d.message.runId)).toEqual(["a"]);
    expect(queues.deadLetterQueue({ pool: "local", queue: "bulk" }).counts().visible).toBe(0);
    expect((await queues.queue({ pool: "local", queue: "bulk" }).receive()).map((d) => d.message.runId)).toEqual(["b"]);
    queues.close();
  });
});
