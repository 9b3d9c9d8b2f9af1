import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { DeleteCommand, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { AloftClient } from "aloft";
import { makeDynamoDbClient, makeDynamoDbDocumentClient } from "../../../lambdas/adapters/awsClients.js";
import { startDynalite } from "../../../lambdas/local/dynalite.js";
import { LOCAL_TABLE_NAME, startLocalServer } from "../../../lambdas/local/server.js";
import { DynamoDbStore } from "../../../lambdas/store/dynamoDbStore.js";
import { runShard } from "../../../lambdas/store/keys.js";
import { ensureTable } from "../../../lambdas/store/table.js";
import { makeState } from "../../../sdk/model/states.js";

describe("the local server", () => {
  it("creates a private token, answers /health without it and everything else only with it", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "aloft-server-"));
    const server = await startLocalServer({ port: 0, dataDir });
    try {
      const token = (await readFile(join(dataDir, "token"), "utf8")).trim();
      expect(token.length).toBeGreaterThanOrEqual(40);
      expect((await stat(join(dataDir, "token"))).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(join(dataDir, "server.json"), "utf8"))).toMatchObject({ url: server.url, pid: process.pid });
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      expect((await fetch(`${server.url}/v1/flow-runs`)).status).toBe(401);
      expect((await fetch(`${server.url}/v1/flow-runs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("keeps runs and the token across a restart", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "aloft-server-"));
    const first = await startLocalServer({ port: 0, dataDir });
    const token = await readFile(join(dataDir, "token"), "utf8");
    const created = await new AloftClient({ apiUrl: first.url, dataDir }).flowRuns.create({ flowName: "persisted", parameters: { n: 1 } });
    await first.close();
    await expect(readFile(join(dataDir, "server.json"))).rejects.toThrow();

    const second = await startLocalServer({ port: 0, dataDir });
    try {
      expect(await readFile(join(dataDir, "token"), "utf8")).toBe(token);
      const read = await new AloftClient({ apiUrl: second.url, dataDir }).flowRuns.get(created.id);
      expect(read).toMatchObject({ id: created.id, flowName: "persisted", parameters: { n: 1 } });
    } finally {
      await second.close();
    }
  });

  it("lists the runs of a data dir written with run-day pointers, converted once at start", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "aloft-server-"));
    // The table as the day-walk layout left it: each run with a DAY# pointer in GSI2 RUNS#<yyyy-mm-dd>.
    const database = await startDynalite({ path: join(dataDir, "dynamodb") });
    const client = makeDynamoDbClient({ endpoint: database.endpoint });
    const documents = makeDynamoDbDocumentClient(client);
    await ensureTable(client, LOCAL_TABLE_NAME);
    const store = new DynamoDbStore({ client, tableName: LOCAL_TABLE_NAME });
    const ids: string[] = [];
    for (const daysAgo of [400, 3, 0]) {
      const createdAt = new Date(Date.now() - daysAgo * 86_400_000).toISOString();
      const run = { id: randomUUID(), flowName: "old-layout", name: `run-${daysAgo}`, parameters: {}, tags: [], state: makeState("Scheduled", Date.now()), version: 0, createdAt, runCount: 0 };
      await store.createFlowRun(run);
      await documents.send(new DeleteCommand({ TableName: LOCAL_TABLE_NAME, Key: { PK: `RUN#${run.id}`, SK: `ALL#${createdAt}` } }));
      const day = { PK: `RUN#${run.id}`, SK: `DAY#${createdAt}`, GSI2PK: `RUNS#${createdAt.slice(0, 10)}`, GSI2SK: `${createdAt}#${run.id}`, runId: run.id, createdAt };
      await documents.send(new PutCommand({ TableName: LOCAL_TABLE_NAME, Item: day }));
      ids.unshift(run.id);
    }
    expect((await store.listFlowRuns({}, { limit: 10 })).items).toEqual([]);
    client.destroy();
    await database.close();

    for (let start = 0; start < 2; start++) {
      const server = await startLocalServer({ port: 0, dataDir });
      try {
        const page = await new AloftClient({ apiUrl: server.url, dataDir }).flowRuns.list({ limit: 10 });
        expect({ start, ids: page.items.map((run) => run.id) }).toEqual({ start, ids });
      } finally {
        await server.close();
      }
    }
    // The day items are gone, and the marker makes later starts skip the scan.
    const after = await startDynalite({ path: join(dataDir, "dynamodb") });
    const reader = makeDynamoDbClient({ endpoint: after.endpoint });
    try {
      const items = (await makeDynamoDbDocumentClient(reader).send(new ScanCommand({ TableName: LOCAL_TABLE_NAME }))).Items ?? [];
      expect(items.filter((item) => String(item.SK).startsWith("DAY#"))).toEqual([]);
      expect(items.filter((item) => String(item.SK).startsWith("ALL#")).map((item) => item.GSI2PK).sort()).toEqual(ids.map((id) => `RUNS#${runShard(id)}`).sort());
      expect(items.find((item) => item.PK === "META" && item.SK === "RUN_POINTERS")).toMatchObject({ converted: 3 });
    } finally {
      reader.destroy();
      await after.close();
    }
  });

  it("refuses a second server on the same data dir, saying which process holds it", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "aloft-server-"));
    const server = await startLocalServer({ port: 0, dataDir });
    try {
      await expect(startLocalServer({ port: 0, dataDir })).rejects.toThrow(`another aloft server (pid ${process.pid}) is using ${dataDir}`);
    } finally {
      await server.close();
    }
  });
});
