import { AloftClient } from "aloft";
import { describe, expect, it } from "vitest";
import { fakeFetch, json } from "./fakeFetch.js";
import { isolateEnvironment } from "./isolatedEnvironment.js";

isolateEnvironment();

const API = "http://api.test:4200";

function clientWith(answers = [json(200, { items: [] })]) {
  const fake = fakeFetch(answers);
  return { client: new AloftClient({ apiUrl: API, token: "secret-token", fetch: fake.fetch, retries: 0 }), requests: fake.requests };
}

const now = "2026-11-01T00:00:00.000Z";

// Every method of the client, the request it must send: method, path and query, JSON body.
const calls: Array<[string, (client: AloftClient) => Promise<unknown>, string, string, unknown?]> = [
  ["flowRuns.create", (c) => c.flowRuns.create({ flowName: "etl", parameters: { day: "2026-11-01" }, tags: ["nightly"] }), "POST", "/v1/flow-runs", { flowName: "etl", parameters: { day: "2026-11-01" }, tags: ["nightly"] }],
  ["flowRuns.get", (c) => c.flowRuns.get("run-1"), "GET", "/v1/flow-runs/run-1"],
  ["flowRuns.list", (c) => c.flowRuns.list({ flow: "etl", state: "FAILED", tag: "nightly", since: now, limit: 20, cursor: "abc" }), "GET", `/v1/flow-runs?flow=etl&state=FAILED&tag=nightly&since=${encodeURIComponent(now)}&limit=20&cursor=abc`],
  ["flowRuns.list (no filters)", (c) => c.flowRuns.list(), "GET", "/v1/flow-runs"],
  ["flowRuns.proposeState", (c) => c.flowRuns.proposeState("run-1", { state: { type: "COMPLETED" }, result: { rows: 3 }, transitionId: "t-1" }), "POST", "/v1/flow-runs/run-1/state", { state: { type: "COMPLETED" }, result: { rows: 3 }, transitionId: "t-1" }],
  ["flowRuns.cancel", (c) => c.flowRuns.cancel("run-1"), "POST", "/v1/flow-runs/run-1/cancel", {}],
  ["flowRuns.retry", (c) => c.flowRuns.retry("run-1", { force: true }), "POST", "/v1/flow-runs/run-1/retry", { force: true }],
  ["flowRuns.resume", (c) => c.flowRuns.resume("run-1", { transitionId: "resume-1" }), "POST", "/v1/flow-runs/run-1/resume", { transitionId: "resume-1" }],
  ["flowRuns.history", (c) => c.flowRuns.history("run-1"), "GET", "/v1/flow-runs/run-1/history"],
  ["flowRuns.taskRuns", (c) => c.flowRuns.taskRuns("run-1", { limit: 200 }), "GET", "/v1/flow-runs/run-1/task-runs?limit=200"],
  ["flowRuns.logs", (c) => c.flowRuns.logs("run-1", { cursor: "next" }), "GET", "/v1/flow-runs/run-1/logs?cursor=next"],
  ["flowRuns.artifacts", (c) => c.flowRuns.artifacts("run-1"), "GET", "/v1/flow-runs/run-1/artifacts?limit=1000"],
  ["flowRuns.journal", (c) => c.flowRuns.journal("run-1"), "GET", "/v1/flow-runs/run-1/journal?limit=1000"],
  ["flowRuns.putJournalEntry", (c) => c.flowRuns.putJournalEntry("run-1", "load 0/1", { rows: 3 }), "PUT", "/v1/flow-runs/run-1/journal/load%200%2F1", { value: { rows: 3 } }],
  ["taskRuns.create", (c) => c.taskRuns.create({ id: "run-1:extract-0", flowRunId: "run-1", taskName: "extract" }), "POST", "/v1/task-runs", { id: "run-1:extract-0", flowRunId: "run-1", taskName: "extract" }],
  ["taskRuns.get", (c) => c.taskRuns.get("run-1:extract-0"), "GET", "/v1/task-runs/run-1%3Aextract-0"],
  ["taskRuns.proposeState", (c) => c.taskRuns.proposeState("tr-1", { state: { type: "RUNNING" } }), "POST", "/v1/task-runs/tr-1/state", { state: { type: "RUNNING" } }],
  ["logs.create", (c) => c.logs.create({ logs: [{ flowRunId: "run-1", timestamp: now, level: "info", message: "hi" }] }), "POST", "/v1/logs", { logs: [{ flowRunId: "run-1", timestamp: now, level: "info", message: "hi" }] }],
  ["artifacts.create", (c) => c.artifacts.create({ key: "report", type: "markdown", data: "# ok", flowRunId: "run-1" }), "POST", "/v1/artifacts", { key: "report", type: "markdown", data: "# ok", flowRunId: "run-1" }],
  ["deployments.create", (c) => c.deployments.create({ name: "nightly-etl", flowName: "etl", entrypoint: "flows/etl.ts:etl" }), "POST", "/v1/deployments", { name: "nightly-etl", flowName: "etl", entrypoint: "flows/etl.ts:etl" }],
  ["deployments.get by name", (c) => c.deployments.get("team/nightly-etl"), "GET", "/v1/deployments/team%2Fnightly-etl"],
  ["deployments.list", (c) => c.deployments.list({ limit: 10 }), "GET", "/v1/deployments?limit=10"],
  ["deployments.update", (c) => c.deployments.update("nightly-etl", { paused: true }), "PATCH", "/v1/deployments/nightly-etl", { paused: true }],
  ["deployments.delete", (c) => c.deployments.delete("nightly-etl"), "DELETE", "/v1/deployments/nightly-etl"],
  ["deployments.run", (c) => c.deployments.run("nightly-etl", { parameters: { day: "2026-11-01" } }), "POST", "/v1/deployments/nightly-etl/runs", { parameters: { day: "2026-11-01" } }],
  ["deployments.run (no body)", (c) => c.deployments.run("nightly-etl"), "POST", "/v1/deployments/nightly-etl/runs", {}],
  ["concurrencyLimits.set", (c) => c.concurrencyLimits.set("warehouse", 4), "POST", "/v1/concurrency-limits", { tag: "warehouse", limit: 4 }],
  ["concurrencyLimits.get", (c) => c.concurrencyLimits.get("db:primary"), "GET", "/v1/concurrency-limits/db%3Aprimary"],
  ["concurrencyLimits.list", (c) => c.concurrencyLimits.list(), "GET", "/v1/concurrency-limits?limit=1000"],
  ["concurrencyLimits.delete", (c) => c.concurrencyLimits.delete("warehouse"), "DELETE", "/v1/concurrency-limits/warehouse"],
  ["concurrencyLimits.acquire", (c) => c.concurrencyLimits.acquire("warehouse", { ttlSeconds: 60, leaseId: "tr-1" }), "POST", "/v1/concurrency-limits/warehouse/leases", { ttlSeconds: 60, leaseId: "tr-1" }],
  ["concurrencyLimits.renew", (c) => c.concurrencyLimits.renew("warehouse", "lease-1", { ttlSeconds: 30 }), "POST", "/v1/concurrency-limits/warehouse/leases/lease-1/renew", { ttlSeconds: 30 }],
  ["concurrencyLimits.release", (c) => c.concurrencyLimits.release("warehouse", "lease-1"), "DELETE", "/v1/concurrency-limits/warehouse/leases/lease-1"],
  ["workPools.create", (c) => c.workPools.create({ name: "etl", type: "fargate", jobSettings: { cpu: 1024 } }), "POST", "/v1/work-pools", { name: "etl", type: "fargate", jobSettings: { cpu: 1024 } }],
  ["workPools.get", (c) => c.workPools.get("etl"), "GET", "/v1/work-pools/etl"],
  ["workPools.list", (c) => c.workPools.list({ limit: 5, cursor: "abc" }), "GET", "/v1/work-pools?limit=5&cursor=abc"],
  ["workPools.update", (c) => c.workPools.update("etl", { jobSettings: { image: null } }), "PATCH", "/v1/work-pools/etl", { jobSettings: { image: null } }],
  ["workPools.pause", (c) => c.workPools.pause("etl"), "POST", "/v1/work-pools/etl/pause"],
  ["workPools.resume a queue", (c) => c.workPools.resume("etl", { queue: "back fill" }), "POST", "/v1/work-pools/etl/queues/back%20fill/resume"],
  ["workPools.upsertQueue", (c) => c.workPools.upsertQueue("etl", "bulk", { priority: 5 }), "PUT", "/v1/work-pools/etl/queues/bulk", { priority: 5 }],
  ["workPools.removeQueue", (c) => c.workPools.removeQueue("etl", "bulk"), "DELETE", "/v1/work-pools/etl/queues/bulk"],
  ["health", (c) => c.health(), "GET", "/health"],
  ["openapi", (c) => c.openapi(), "GET", "/openapi.json"],
];

describe("AloftClient requests", () => {
  it.each(calls)("%s sends the route's method, path, query and JSON body", async (_name, call, method, path, body) => {
    const { client, requests } = clientWith();
    await call(client);
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request!.method).toBe(method);
    expect(request!.url).toBe(`${API}${path}`);
    expect(request!.body).toEqual(body);
  });

  it("sends the bearer token and JSON headers, and content-type only with a body", async () => {
    const { client, requests } = clientWith([json(201, { id: "r1" })]);
    await client.flowRuns.create({ flowName: "etl" });
    await client.flowRuns.get("r1");
    expect(requests[0]!.headers).toEqual({ accept: "application/json", "content-type": "application/json", authorization: "Bearer secret-token" });
    expect(requests[1]!.headers).toEqual({ accept: "application/json", authorization: "Bearer secret-token" });
    expect(requests[0]!.rawBody).toBe('{"flowName":"etl"}');
  });

  it("returns the parsed body, unwraps the item lists that are not paged, and resolves deletes to undefined", async () => {
    const run = { id: "r1", flowName: "etl", state: { type: "SCHEDULED", name: "Scheduled", timestamp: now } };
    const { client } = clientWith([
      json(201, run),
      json(200, { items: [{ runId: "r1", version: 0, state: run.state }] }),
      json(200, { items: [{ key: "extract-0", value: 1, createdAt: now }] }),
      json(204, null),
    ]);
    expect(await client.flowRuns.create({ flowName: "etl" })).toEqual(run);
    expect(await client.flowRuns.history("r1")).toEqual([{ runId: "r1", version: 0, state: run.state }]);
    expect(await client.flowRuns.journal("r1")).toEqual([{ key: "extract-0", value: 1, createdAt: now }]);
    expect(await client.deployments.delete("nightly-etl")).toBeUndefined();
  });

  it("iterate walks every page by cursor, keeping the filters, and stops on the page without a cursor", async () => {
    const { client, requests } = clientWith([
      json(200, { items: [{ id: "a" }, { id: "b" }], cursor: "c1" }),
      json(200, { items: [{ id: "c" }], cursor: "c2" }),
      json(200, { items: [] }),
    ]);
    const ids: string[] = [];
    for await (const run of client.flowRuns.iterate({ flow: "etl", limit: 2 })) ids.push(run.id);
    expect(ids).toEqual(["a", "b", "c"]);
    expect(requests.map((request) => request.url.slice(API.length))).toEqual([
      "/v1/flow-runs?flow=etl&limit=2",
      "/v1/flow-runs?flow=etl&limit=2&cursor=c1",
      "/v1/flow-runs?flow=etl&limit=2&cursor=c2",
    ]);
  });

  it("iterate reads past short and empty pages that carry a cursor, to the page without one", async () => {
    const { client, requests } = clientWith([
      json(200, { items: [], cursor: "c1" }),
      json(200, { items: [{ id: "a" }], cursor: "c2" }),
      json(200, { items: [], cursor: "c3" }),
      json(200, { items: [{ id: "b" }] }),
    ]);
    const ids: string[] = [];
    for await (const run of client.flowRuns.iterate({ state: "FAILED", limit: 10 })) ids.push(run.id);
    expect(ids).toEqual(["a", "b"]);
    expect(requests).toHaveLength(4);
  });

  it("iterate throws, instead of asking forever, when a page answers with the cursor it was asked for", async () => {
    const { client, requests } = clientWith([json(200, { items: [], cursor: "c1" }), json(200, { items: [{ id: "a" }], cursor: "c1" })]);
    const ids: string[] = [];
    await expect(
      (async () => {
        for await (const run of client.flowRuns.iterate()) ids.push(run.id);
      })(),
    ).rejects.toThrow("GET /v1/flow-runs: the API answered a page with the cursor it was asked for, so paging would never end");
    expect(ids).toEqual(["a"]);
    expect(requests).toHaveLength(2);
  });

  it("reads every page of a run's artifacts and journal, and of the concurrency limits, into one array", async () => {
    const pages = (key: string) => [json(200, { items: [{ [key]: 1 }], cursor: "c1" }), json(200, { items: [], cursor: "c2" }), json(200, { items: [{ [key]: 2 }] })];
    for (const [read, key] of [
      [(c: AloftClient) => c.flowRuns.artifacts("run-1"), "key"],
      [(c: AloftClient) => c.flowRuns.journal("run-1"), "key"],
      [(c: AloftClient) => c.concurrencyLimits.list(), "tag"],
    ] as const) {
      const { client, requests } = clientWith(pages(key));
      expect(await read(client)).toEqual([{ [key]: 1 }, { [key]: 2 }]);
      expect(requests.map((request) => new URL(request.url).searchParams.get("cursor"))).toEqual([null, "c1", "c2"]);
    }
  });

  it("iterate fetches the next page only when the loop asks for more", async () => {
    const { client, requests } = clientWith([json(200, { items: [{ name: "a" }, { name: "b" }], cursor: "c1" }), json(200, { items: [{ name: "c" }] })]);
    for await (const deployment of client.deployments.iterate()) {
      expect(deployment.name).toBe("a");
      break;
    }
    expect(requests).toHaveLength(1);
  });
});
