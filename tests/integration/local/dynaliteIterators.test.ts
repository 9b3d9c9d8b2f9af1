import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchGetItemCommand, BatchWriteItemCommand, DynamoDBClient, QueryCommand, ScanCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { awsClientConfig } from "../../../lambdas/adapters/awsClients.js";
import { AloftClient } from "aloft";
import { startDynalite, unsignedInProcess, type DynaliteServer } from "../../../lambdas/local/dynalite.js";
import { closeDynaliteIterators, type DynaliteDbModule } from "../../../lambdas/local/dynaliteIterators.js";
import { startLocalServer } from "../../../lambdas/local/server.js";
import { ensureTable } from "../../../lambdas/store/table.js";

/**
 * abstract-level as dynalite's on-disk store loads it (dynalite → level → classic-level → abstract-level),
 * so the spy sits on the very prototype its databases use.
 */
function abstractLevelOfDynalite(): { prototype: { attachResource(resource: object): void; detachResource(resource: object): void } } {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve("dynalite"));
  const fromLevel = createRequire(fromDynalite.resolve("level"));
  const fromClassicLevel = createRequire(fromLevel.resolve("classic-level"));
  return (fromClassicLevel("abstract-level") as { AbstractLevel: ReturnType<typeof abstractLevelOfDynalite> }).AbstractLevel;
}

/** The LevelDB resources (iterators above all) attached to a database and not yet closed. */
function trackOpenResources(): Set<object> {
  const open = new Set<object>();
  const { prototype } = abstractLevelOfDynalite();
  const attach = prototype.attachResource;
  const detach = prototype.detachResource;
  vi.spyOn(prototype, "attachResource").mockImplementation(function (this: unknown, resource: object) {
    open.add(resource);
    return attach.call(this, resource);
  });
  vi.spyOn(prototype, "detachResource").mockImplementation(function (this: unknown, resource: object) {
    open.delete(resource);
    return detach.call(this, resource);
  });
  return open;
}

/** Closing an iterator is asynchronous: give the closes a few turns of the event loop. */
async function settled(): Promise<void> {
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
}

const TABLE = "aloft";

describe("the embedded dynalite", () => {
  let dataDir: string;
  let database: DynaliteServer;
  let client: DynamoDBClient;
  let open: Set<object>;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "aloft-dynalite-iterators-"));
    open = trackOpenResources();
    database = await startDynalite({ path: join(dataDir, "dynamodb") });
    client = new DynamoDBClient({ ...awsClientConfig("dynamodb", { endpoint: database.endpoint }), ...unsignedInProcess(database.requestHandler) });
    await ensureTable(client, TABLE);
    const items = Array.from({ length: 25 }, (_, index) => ({
      PutRequest: { Item: { PK: { S: "RUN#r" }, SK: { S: `LOG#${String(index).padStart(3, "0")}` }, GSI1PK: { S: "LOGS" }, GSI1SK: { S: `#${String(index).padStart(3, "0")}` } } },
    }));
    await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: items } }));
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    client.destroy();
    await database.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("closes every LevelDB iterator its queries, scans and writes open", async () => {
    const partition = { KeyConditionExpression: "PK = :pk", ExpressionAttributeValues: { ":pk": { S: "RUN#r" } } };
    for (let round = 0; round < 10; round++) {
      // A page cut short by its Limit (the stream is destroyed early) and a page read to the partition's end.
      await client.send(new QueryCommand({ TableName: TABLE, ...partition, Limit: 5 }));
      await client.send(new QueryCommand({ TableName: TABLE, ...partition, ScanIndexForward: false }));
      await client.send(new QueryCommand({ TableName: TABLE, IndexName: "GSI1", KeyConditionExpression: "GSI1PK = :pk", ExpressionAttributeValues: { ":pk": { S: "LOGS" } }, Limit: 3 }));
      await client.send(new ScanCommand({ TableName: TABLE, Limit: 7 }));
      await client.send(new ScanCommand({ TableName: TABLE }));
      await client.send(new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: [{ PK: { S: "RUN#r" }, SK: { S: "LOG#001" } }] } } }));
      await client.send(
        new UpdateItemCommand({ TableName: TABLE, Key: { PK: { S: "RUN#r" }, SK: { S: "LOG#002" } }, UpdateExpression: "SET n = :n", ExpressionAttributeValues: { ":n": { N: String(round) } } }),
      );
    }
    await settled();

    expect(open.size).toBe(0);
  });
});

describe("the local server", () => {
  it("leaves no LevelDB iterator open after listing runs, task runs, logs and deployments", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "aloft-server-iterators-"));
    const open = trackOpenResources();
    const server = await startLocalServer({ port: 0, dataDir, runners: 0 });
    try {
      const client = new AloftClient({ apiUrl: server.url, dataDir });
      const run = await client.flowRuns.create({ flowName: "listed", initialState: "PENDING" });
      await client.taskRuns.create({ flowRunId: run.id, taskName: "extract" });
      await client.logs.create({ logs: [{ flowRunId: run.id, level: "info", message: "hello", timestamp: new Date().toISOString() }] });
      for (let index = 0; index < 10; index++) {
        await client.flowRuns.list({ limit: 20 });
        await client.flowRuns.list({ flow: "listed", limit: 5 });
        await client.flowRuns.taskRuns(run.id);
        await client.flowRuns.logs(run.id);
        await client.flowRuns.history(run.id);
        await client.deployments.list();
      }
      await settled();

      expect(open.size).toBe(0);
    } finally {
      vi.restoreAllMocks();
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("the dynalite repair", () => {
  it("refuses a dynalite whose store it does not recognise, naming the version installed", () => {
    const unknownStore: DynaliteDbModule = { create: () => ({}) };
    closeDynaliteIterators(unknownStore);
    expect(() => unknownStore.create({})).toThrow(
      "the installed dynalite 4.0.0 is not the one Aloft knows (dynalite 4.0.0): its store has no LevelDB database with keys() and values(), so Aloft cannot close its LevelDB iterators and every query would leak memory; install dynalite 4.0.0",
    );
    expect(() => closeDynaliteIterators({} as DynaliteDbModule)).toThrow("the installed dynalite 4.0.0 is not the one Aloft knows (dynalite 4.0.0): dynalite/db exports no create()");
  });
});
