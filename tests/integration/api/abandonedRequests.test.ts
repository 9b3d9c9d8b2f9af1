import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig, makeDynamoDbClient } from "../../../lambdas/adapters/awsClients.js";
import { bearerToken } from "../../../lambdas/http/auth.js";
import { createApi } from "../../../lambdas/http/app.js";
import { serviceDeps } from "../../../lambdas/services/context.js";
import { createServices } from "../../../lambdas/services/index.js";
import { DynamoDbStore } from "../../../lambdas/store/dynamoDbStore.js";
import type { FlowRunRecord } from "../../../lambdas/store/records.js";
import { ensureTable } from "../../../lambdas/store/table.js";
import { makeState } from "../../../sdk/model/states.js";
import { countCommands, type CommandLog } from "../../support/countingDynamoDb.js";
import { unsignedInProcess } from "../../../lambdas/local/dynalite.js";
import { startDynalite, type DynaliteServer } from "../../support/dynalite.js";

/** The two ways the store reaches dynalite: over a socket (as on AWS), and in process (the local server). */
const CLIENTS: Array<[string, (database: DynaliteServer) => DynamoDBClient]> = [
  ["over a socket", (database) => makeDynamoDbClient({ endpoint: database.endpoint })],
  ["in process, as the local server sends it", (database) => new DynamoDBClient({ ...awsClientConfig("dynamodb", { endpoint: database.endpoint }), ...unsignedInProcess(database.requestHandler) })],
];

// The API served by @hono/node-server, as the local server serves it, over a real socket: a client
// that disconnects aborts its request's signal, and the store stops reading for it.
describe.each(CLIENTS)("a request its client abandons, the store reaching dynalite %s", (_how, makeClient) => {
  // Each command is held back this long, so the disconnect lands while the first one is in flight.
  const COMMAND_DELAY_MS = 500;
  const token = randomUUID();
  const flowName = `abandoned-${randomUUID().slice(0, 8)}`;
  let dynalite: DynaliteServer;
  let client: DynamoDBClient;
  let commands: CommandLog;
  let server: ServerType;
  let url: string;
  const logged: unknown[] = [];

  beforeAll(async () => {
    dynalite = await startDynalite();
    client = makeClient(dynalite);
    const tableName = `aloft-${randomUUID()}`;
    await ensureTable(client, tableName);
    const store = new DynamoDbStore({ client, tableName });
    commands = countCommands(client);
    // 300 SCHEDULED runs: finding a RUNNING one among them takes two filtered Query pages of 250.
    const now = Date.now();
    const runs = Array.from({ length: 300 }, (_, i): FlowRunRecord => ({
      id: randomUUID(),
      flowName,
      name: `run-${i}`,
      parameters: {},
      tags: [],
      state: makeState("Scheduled", now),
      version: 0,
      createdAt: new Date(now - i * 1_000).toISOString(),
      runCount: 0,
    }));
    for (let offset = 0; offset < runs.length; offset += 25) await Promise.all(runs.slice(offset, offset + 25).map((run) => store.createFlowRun(run)));
    const app = createApi({ services: createServices(serviceDeps(store)), auth: bearerToken(token), logError: (entry) => logged.push(entry) });
    server = await new Promise<ServerType>((resolve) => {
      const listening = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(listening));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 120_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    client?.destroy();
    await dynalite?.close();
  });

  /** Sends `path`, disconnects once the store has sent its first command, then waits for any work left over. */
  async function abandon(path: string): Promise<string[]> {
    const disconnect = new AbortController();
    return commands.measure(
      async () => {
        const response = fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: disconnect.signal });
        await expect(response).rejects.toMatchObject({ name: "AbortError" });
        // Long enough for every command the request would still send, were it not stopped.
        await new Promise((resolve) => setTimeout(resolve, 8 * COMMAND_DELAY_MS));
      },
      { delayMs: COMMAND_DELAY_MS, onCommand: (_name, sent) => sent === 1 && setTimeout(() => disconnect.abort(), COMMAND_DELAY_MS / 5) },
    );
  }

  it("stops paging a filtered list: no Query after the one in flight", async () => {
    const sent = await abandon(`/v1/flow-runs?flow=${flowName}&state=RUNNING&limit=10`);
    expect(sent).toEqual(["QueryCommand"]);
    expect(logged).toEqual([]);
  });

  it("stops a list of all runs before it reads the runs its pointers name", async () => {
    const sent = await abandon("/v1/flow-runs?limit=10");
    expect(sent).toEqual(["QueryCommand", "QueryCommand", "QueryCommand", "QueryCommand"]);
    expect(logged).toEqual([]);
  });

  it("answers in full when the client waits, with the same commands", async () => {
    const sent = await commands.measure(async () => {
      const response = await fetch(`${url}/v1/flow-runs?flow=${flowName}&state=RUNNING&limit=10`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ items: [] });
    });
    expect(sent).toEqual(["QueryCommand", "QueryCommand"]);
  });
});

describe("the local server's in-process DynamoDB client", () => {
  it("rejects a command whose signal has aborted, or aborts while it waits, with an AbortError", async () => {
    const dynalite = await startDynalite();
    const client = CLIENTS[1]![1](dynalite);
    try {
      const aborted = new AbortController();
      aborted.abort();
      await expect(client.send(new ListTablesCommand({}), { abortSignal: aborted.signal })).rejects.toMatchObject({ name: "AbortError" });
      const later = new AbortController();
      client.middlewareStack.add((next) => async (args) => {
        later.abort();
        return next(args);
      }, { step: "finalizeRequest", name: "abortOnSend" });
      await expect(client.send(new ListTablesCommand({}), { abortSignal: later.signal })).rejects.toMatchObject({ name: "AbortError" });
      expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    } finally {
      client.destroy();
      await dynalite.close();
    }
  });
});
