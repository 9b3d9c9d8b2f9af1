import { randomUUID } from "node:crypto";
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDynamoDbClient, makeDynamoDbDocumentClient } from "../../../lambdas/adapters/awsClients.js";
import { DynamoDbStore } from "../../../lambdas/store/dynamoDbStore.js";
import { runShard } from "../../../lambdas/store/keys.js";
import type { FlowRunRecord } from "../../../lambdas/store/records.js";
import type { FlowRunFilter } from "../../../lambdas/store/store.js";
import { ensureTable } from "../../../lambdas/store/table.js";
import { makeState } from "../../../sdk/model/states.js";
import { startDynalite, type DynaliteServer } from "../../support/dynalite.js";

// The write rules of docs/data-model.md promise that a crash between two writes loses nothing that
// matters. These tests leave the table as such a crash would (with raw writes) and check the repair.
describe("DynamoDbStore after a crash between two writes", () => {
  let server: DynaliteServer;
  let client: DynamoDBClient;
  let documents: DynamoDBDocumentClient;
  let store: DynamoDbStore;
  const tableName = `aloft-${randomUUID()}`;

  beforeAll(async () => {
    server = await startDynalite();
    client = makeDynamoDbClient({ endpoint: server.endpoint });
    documents = makeDynamoDbDocumentClient(client);
    await ensureTable(client, tableName);
    store = new DynamoDbStore({ client, tableName });
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  const run = (overrides: Partial<FlowRunRecord> = {}): FlowRunRecord => ({
    id: randomUUID(),
    flowName: `flow-${randomUUID().slice(0, 8)}`,
    name: "calm-heron",
    parameters: {},
    tags: [],
    state: makeState("Scheduled", Date.UTC(2024, 0, 1)),
    version: 0,
    createdAt: "2024-01-01T00:00:00.000Z",
    runCount: 0,
    ...overrides,
  });

  it("rewrites the history item of the current version when the transition's follow-up put was lost", async () => {
    const r = run();
    await store.createFlowRun(r);
    await store.transitionFlowRun(r.id, 0, makeState("Running", Date.UTC(2024, 0, 1, 0, 1)), { transitionId: "t1" });
    await documents.send(new DeleteCommand({ TableName: tableName, Key: { PK: `RUN#${r.id}`, SK: "STATE#0000000001" } }));
    const history = await store.getStateHistory(r.id);
    expect(history.map((entry) => [entry.version, entry.state.name, entry.transitionId])).toEqual([
      [0, "Scheduled", undefined],
      [1, "Running", "t1"],
    ]);
  });

  it("finishes a creation whose idempotency key was written but whose run was not", async () => {
    const key = `key-${randomUUID()}`;
    const orphanId = randomUUID();
    await documents.send(
      new PutCommand({
        TableName: tableName,
        Item: { PK: `IDEMPOTENCY#${key}`, SK: "IDEMPOTENCY", runId: orphanId, expiresAt: Math.floor(Date.now() / 1000) + 3_600 },
      }),
    );
    const retried = await store.createFlowRun(run(), { idempotencyKey: key });
    expect(retried.run.id).toBe(orphanId);
    expect(retried.created).toBe(true);
    expect(await store.getFlowRun(orphanId)).toEqual(retried.run);
    expect(await store.createFlowRun(run(), { idempotencyKey: key })).toMatchObject({ created: false, run: { id: orphanId } });
  });

  it("skips tag and all-runs pointers whose run was never written or was written by another create", async () => {
    const tag = `t-${randomUUID().slice(0, 8)}`;
    const written = run({ tags: [tag], createdAt: "2024-02-01T00:00:00.000Z" });
    await store.createFlowRun(written);
    const tagPointer = (id: string, createdAt: string) => ({
      PK: `RUN#${id}`,
      SK: `TAG#${tag}#${createdAt}`,
      GSI1PK: `TAG#${tag}`,
      GSI1SK: `${createdAt}#${id}`,
      runId: id,
      createdAt,
      tag,
    });
    const allRunsPointer = (id: string, createdAt: string) => ({
      PK: `RUN#${id}`,
      SK: `ALL#${createdAt}`,
      GSI2PK: `RUNS#${runShard(id)}`,
      GSI2SK: `${createdAt}#${id}`,
      runId: id,
      createdAt,
    });
    // A create that lost the race for the same id left pointers at its own createdAt; one that
    // stopped before writing its run item left pointers to nothing.
    const orphan = randomUUID();
    for (const item of [
      tagPointer(written.id, "2024-02-02T00:00:00.000Z"),
      tagPointer(orphan, "2024-02-03T00:00:00.000Z"),
      allRunsPointer(written.id, "2024-02-02T00:00:00.000Z"),
      allRunsPointer(orphan, "2024-02-03T00:00:00.000Z"),
    ]) {
      await documents.send(new PutCommand({ TableName: tableName, Item: item }));
    }
    const filters: FlowRunFilter[] = [{ tag }, { since: "2024-02-01T00:00:00.000Z", until: "2024-02-04T00:00:00.000Z" }];
    for (const filter of filters) {
      expect(await store.listFlowRuns(filter, { limit: 10 })).toEqual({ items: [written] });
      // Small pages skip the stale pointers too; a page they fill is short, and its cursor goes on.
      const seen: FlowRunRecord[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 5; pages++) {
        const page = await store.listFlowRuns(filter, { limit: 1, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items);
        cursor = page.cursor;
        if (cursor === undefined) break;
      }
      expect({ filter, seen }).toEqual({ filter, seen: [written] });
      expect(cursor).toBeUndefined();
    }
  });
});
