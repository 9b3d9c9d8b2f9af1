import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { payloadKey, type PayloadStore } from "../../../lambdas/services/payloads.js";

/**
 * The payload store contract, run against every adapter.
 *
 * @example
 * ```ts
 * describePayloadStoreContract("LocalPayloadStore", async () => ({ store: new LocalPayloadStore(dir), dispose: async () => {} }));
 * ```
 */
export function describePayloadStoreContract(name: string, make: () => Promise<{ store: PayloadStore; dispose: () => Promise<void> }>): void {
  describe(`${name} (payload store contract)`, () => {
    let store: PayloadStore;
    let dispose: () => Promise<void>;
    beforeAll(async () => {
      ({ store, dispose } = await make());
    }, 120_000);
    afterAll(async () => dispose?.());

    it("returns what was put, byte for byte, under nested keys", async () => {
      const json = JSON.stringify({ rows: Array.from({ length: 20_000 }, (_, i) => ({ i, s: "é✓" })) });
      await store.put("runs/abc/result/7265.json", json);
      expect(await store.get("runs/abc/result/7265.json")).toBe(json);
    });

    it("replaces a value written again under the same key", async () => {
      await store.put("runs/abc/journal/1.json", "1");
      await store.put("runs/abc/journal/1.json", "2");
      expect(await store.get("runs/abc/journal/1.json")).toBe("2");
    });

    it("throws for a key that was never written", async () => {
      await expect(store.get("runs/nope/missing.json")).rejects.toThrow();
    });

    it("deletes a key, and deleting a missing key is not an error", async () => {
      await store.put("runs/abc/result/gone.json", "1");
      await store.delete("runs/abc/result/gone.json");
      await expect(store.get("runs/abc/result/gone.json")).rejects.toThrow();
      await store.delete("runs/abc/result/gone.json");
      await store.delete("runs/never/written.json");
    });

    it("stores every key that payloadKey makes from adversarial run ids and call keys, each apart", async () => {
      const owners = fc.sample(fc.tuple(fc.string({ unit: "binary", maxLength: 300 }), fc.string({ unit: "binary", maxLength: 300 })), { numRuns: 40, seed: 42 });
      owners.push(["..", "."], ["a/../../b", "/"], ["", ""], ["nightly:42", "x"], ["nightly_42", "x"]);
      const keys = owners.map(([runId, callKey]) => payloadKey(["runs", runId, "journal", callKey]));
      await Promise.all(keys.map((key, i) => store.put(key, JSON.stringify(i))));
      expect(await Promise.all(keys.map(async (key) => JSON.parse(await store.get(key)) as unknown))).toEqual(keys.map((_, i) => i));
    });
  });
}
