import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PayloadStore } from "../../../lambdas/services/payloads.js";

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
  });
}
