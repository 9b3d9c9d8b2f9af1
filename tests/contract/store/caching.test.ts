import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { makeDynamoDbClient } from "../../../lambdas/adapters/awsClients.js";
import { CachingStore } from "../../../lambdas/store/cachingStore.js";
import { DynamoDbStore } from "../../../lambdas/store/dynamoDbStore.js";
import { VersionConflictError } from "../../../lambdas/store/store.js";
import { ensureTable } from "../../../lambdas/store/table.js";
import { makeState } from "../../../sdk/model/states.js";
import { startDynalite } from "../../support/dynalite.js";
import { countCommands } from "../../support/countingDynamoDb.js";
import { describeStoreContract } from "./store.contract.js";

async function dynaliteStore() {
  const server = await startDynalite();
  const client = makeDynamoDbClient({ endpoint: server.endpoint });
  const tableName = `aloft-${randomUUID()}`;
  await ensureTable(client, tableName);
  return {
    inner: new DynamoDbStore({ client, tableName }),
    commands: countCommands(client),
    dispose: async () => {
      client.destroy();
      await server.close();
    },
  };
}

describeStoreContract("CachingStore over DynamoDbStore on dynalite", async () => {
  const { inner, commands, dispose } = await dynaliteStore();
  return { store: new CachingStore(inner), commands, dispose };
});

describe("CachingStore", () => {
  it("recovers from a write it did not see: the stale version conflicts, and the next read is fresh", async () => {
    const { inner, dispose } = await dynaliteStore();
    try {
      const cached = new CachingStore(inner);
      const now = Date.now();
      const run = { id: randomUUID(), flowName: "f", name: "f-1", parameters: {}, tags: [], state: makeState("Scheduled", now), version: 0, createdAt: new Date(now).toISOString(), runCount: 0 };
      await cached.createFlowRun(run);
      await inner.transitionFlowRun(run.id, 0, makeState("Pending", now)); // another writer
      expect((await cached.getFlowRun(run.id))?.version).toBe(0); // still the cached copy
      await expect(cached.transitionFlowRun(run.id, 0, makeState("Running", now))).rejects.toBeInstanceOf(VersionConflictError);
      expect(await cached.getFlowRun(run.id)).toMatchObject({ version: 1, state: { name: "Pending" } });
      expect((await cached.transitionFlowRun(run.id, 1, makeState("Running", now))).version).toBe(2);
    } finally {
      await dispose();
    }
  });
});
