import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { LocalPayloadStore } from "../../../lambdas/adapters/localPayloadStore.js";
import { describePayloadStoreContract } from "./payloadStore.contract.js";

describePayloadStoreContract("LocalPayloadStore", async () => ({ store: new LocalPayloadStore(await mkdtemp(join(tmpdir(), "aloft-payloads-"))), dispose: async () => {} }));

it("refuses a key that would leave the payload folder", async () => {
  const store = new LocalPayloadStore(await mkdtemp(join(tmpdir(), "aloft-payloads-")));
  await expect(store.put("../escape.json", "{}")).rejects.toThrow('payload key "../escape.json" leaves the payload folder');
});
