import { describe, expect, it } from "vitest";
import type { WorkQueue } from "../../../lambdas/services/ports.js";

/** A fresh queue with the given attributes, and its dead-letter queue. */
export interface WorkQueueFixture {
  queue: WorkQueue;
  deadLetters: WorkQueue;
}

/** Makes a new, empty queue with its own dead-letter queue. */
export type MakeWorkQueue = (attributes: { visibilityTimeoutSeconds: number; maxReceiveCount: number }) => Promise<WorkQueueFixture>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The WorkQueue port's contract: every adapter must pass it (LocalWorkQueue, SqsWorkQueue on moto).
 * Real time is used only with small values (1 s visibility and delay), and only to check that
 * something did not happen before, or did happen after, a moment.
 *
 * @example
 * ```ts
 * describeWorkQueueContract("LocalWorkQueue", async ({ visibilityTimeoutSeconds, maxReceiveCount }) => ({ queue, deadLetters }));
 * ```
 */
export function describeWorkQueueContract(name: string, make: MakeWorkQueue): void {
  const fresh = () => make({ visibilityTimeoutSeconds: 1, maxReceiveCount: 2 });

  describe(`WorkQueue contract: ${name}`, () => {
    it("delivers a sent message once, with a receipt handle and receive count 1, and hides it while in flight", async () => {
      const { queue } = await fresh();
      await queue.send({ runId: "run-1" });

      const [delivery, ...rest] = await queue.receive({ maxMessages: 10 });

      expect(rest).toEqual([]);
      expect(delivery).toMatchObject({ message: { runId: "run-1" }, receiveCount: 1 });
      expect(delivery?.receiptHandle).toEqual(expect.any(String));
      expect(delivery?.messageId).toEqual(expect.any(String));
      expect(await queue.receive({ maxMessages: 10 })).toEqual([]);
    });

    it("delivers a message again after its visibility timeout, counting the receives", async () => {
      const { queue } = await fresh();
      await queue.send({ runId: "slow" });
      const [first] = await queue.receive();

      await sleep(1_200);
      const [second] = await queue.receive();

      expect(second).toMatchObject({ message: { runId: "slow" }, messageId: first?.messageId, receiveCount: 2 });
      expect(second?.receiptHandle).not.toBe(first?.receiptHandle);
    });

    it("uses a receive's own visibility timeout: 0 leaves the message visible", async () => {
      const { queue } = await fresh();
      await queue.send({ runId: "peek" });

      await queue.receive({ visibilityTimeoutSeconds: 0 });
      const [again] = await queue.receive({ visibilityTimeoutSeconds: 0 });

      expect(again).toMatchObject({ message: { runId: "peek" }, receiveCount: 2 });
    });

    it("forgets a deleted message", async () => {
      const { queue } = await fresh();
      await queue.send({ runId: "done" });
      const [delivery] = await queue.receive({ visibilityTimeoutSeconds: 0 });

      await queue.delete(delivery!.receiptHandle);

      expect(await queue.receive({ maxMessages: 10 })).toEqual([]);
    });

    it("makes a message visible again at once when its visibility is changed to 0", async () => {
      const { queue } = await fresh();
      await queue.send({ runId: "released" });
      const [first] = await queue.receive({ visibilityTimeoutSeconds: 600 });

      await queue.changeVisibility(first!.receiptHandle, 0);
      const [second] = await queue.receive();

      expect(second).toMatchObject({ message: { runId: "released" }, receiveCount: 2 });
    });

    it("keeps a message hidden longer when its visibility is extended", async () => {
      const { queue } = await fresh();
      await queue.send({ runId: "extended" });
      const [delivery] = await queue.receive();

      await queue.changeVisibility(delivery!.receiptHandle, 600);
      await sleep(1_200);

      expect(await queue.receive()).toEqual([]);
    });

    it("returns at most maxMessages, the rest on the next receive", async () => {
      const { queue } = await fresh();
      for (const runId of ["a", "b", "c", "d", "e"]) await queue.send({ runId });

      const first = await queue.receive({ maxMessages: 3 });
      const second = await queue.receive({ maxMessages: 10 });

      expect(first).toHaveLength(3);
      expect([...first, ...second].map((delivery) => delivery.message.runId).sort()).toEqual(["a", "b", "c", "d", "e"]);
    });

    it("holds a delayed message back until its delay has passed, and a long poll gets it then", async () => {
      const { queue } = await fresh();
      await queue.send({ runId: "later" }, { delaySeconds: 1 });

      expect(await queue.receive()).toEqual([]);
      const [delivery] = await queue.receive({ waitSeconds: 5 });

      expect(delivery).toMatchObject({ message: { runId: "later" }, receiveCount: 1 });
    });

    it("ends a long poll as soon as a message is sent", { timeout: 10_000 }, async () => {
      const { queue } = await fresh();
      const polling = queue.receive({ waitSeconds: 20 });
      await sleep(200);

      await queue.send({ runId: "woken" });

      expect((await polling).map((delivery) => delivery.message.runId)).toEqual(["woken"]);
    });

    it("ends an aborted long poll with no messages", { timeout: 10_000 }, async () => {
      const { queue } = await fresh();
      const controller = new AbortController();
      const polling = queue.receive({ waitSeconds: 20, signal: controller.signal });
      await sleep(200);

      controller.abort();

      expect(await polling).toEqual([]);
    });

    it("moves a message received maxReceiveCount times without a delete to the dead-letter queue", async () => {
      const { queue, deadLetters } = await fresh();
      await queue.send({ runId: "poison" });
      for (let receive = 1; receive <= 2; receive++) {
        const [delivery] = await queue.receive();
        expect(delivery?.receiveCount).toBe(receive);
        await queue.changeVisibility(delivery!.receiptHandle, 0);
      }

      expect(await queue.receive({ maxMessages: 10 })).toEqual([]);
      const dead = await deadLetters.receive({ maxMessages: 10, waitSeconds: 2 });

      expect(dead.map((delivery) => delivery.message)).toEqual([{ runId: "poison" }]);
    });

    it("rejects a receipt handle it never issued", async () => {
      const { queue } = await fresh();

      await expect(queue.delete("not-a-receipt-handle")).rejects.toThrow();
      await expect(queue.changeVisibility("not-a-receipt-handle", 0)).rejects.toThrow();
    });

    it("refuses out-of-range receive options with one RangeError naming each", async () => {
      const { queue } = await fresh();

      await expect(queue.receive({ maxMessages: 11, waitSeconds: 21 })).rejects.toThrow(
        new RangeError("maxMessages must be an integer from 1 to 10, not 11; waitSeconds must be an integer from 0 to 20, not 21"),
      );
      await expect(queue.receive({ visibilityTimeoutSeconds: -1 })).rejects.toThrow(RangeError);
    });
  });
}
