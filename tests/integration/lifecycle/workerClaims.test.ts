import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { awsClientConfig } from "../../../lambdas/adapters/awsClients.js";
import { bearerToken } from "../../../lambdas/http/auth.js";
import { createApi } from "../../../lambdas/http/app.js";
import { localLifecycle, type LocalLifecycle } from "../../../lambdas/local/localLifecycle.js";
import { serviceDeps } from "../../../lambdas/services/context.js";
import { createServices, type Services } from "../../../lambdas/services/index.js";
import { CachingStore } from "../../../lambdas/store/cachingStore.js";
import { DynamoDbStore } from "../../../lambdas/store/dynamoDbStore.js";
import { ensureTable } from "../../../lambdas/store/table.js";
import { unsignedInProcess } from "../../../lambdas/local/dynalite.js";
import { startDynalite, type DynaliteServer } from "../../support/dynalite.js";

/** The local server's composition (in-process queues, claims, API) over a fresh dynalite table, called in process. */
let dynalite: DynaliteServer;
let services: Services;
let store: CachingStore;
let lifecycle: LocalLifecycle;
let app: ReturnType<typeof createApi>;
let client: DynamoDBClient;
const token = randomUUID();

beforeAll(async () => {
  dynalite = await startDynalite();
  // As the local server does: requests go straight to dynalite's handler in this process.
  client = new DynamoDBClient({ ...awsClientConfig("dynamodb", { endpoint: dynalite.endpoint }), ...unsignedInProcess(dynalite.requestHandler) });
  const tableName = `aloft-${randomUUID()}`;
  await ensureTable(client, tableName);
  store = new CachingStore(new DynamoDbStore({ client, tableName }));
  const deps = serviceDeps(store);
  // A long heartbeat: the monitor loop stays out of these tests' way.
  lifecycle = localLifecycle(store, deps.now, { heartbeatSeconds: 3_600 });
  deps.onDeploymentRunCreated = (run, deployment) => lifecycle.enqueue(run, deployment);
  services = createServices(deps);
  app = createApi({ services, auth: bearerToken(token), logError: () => {}, workerClaims: lifecycle.start(services) });
});

afterAll(async () => {
  await lifecycle?.close();
  client?.destroy();
  await dynalite?.close();
});

interface ClaimItem {
  runId: string;
  runnerToken: string;
  flowRun: { id: string; state: { type: string }; runnerToken?: string };
  deployment: { name: string };
}

async function claim(pool: string, body: Record<string, unknown>): Promise<{ status: number; items: ClaimItem[]; detail?: string }> {
  const response = await app.request(`/v1/work-pools/${pool}/claims`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ workerId: "test-worker", ...body }),
  });
  const json = (await response.json()) as { items?: ClaimItem[]; detail?: string };
  return { status: response.status, items: json.items ?? [], ...(json.detail ? { detail: json.detail } : {}) };
}

async function pool(name: string, queues: Array<{ name: string; priority?: number; concurrencyLimit?: number; paused?: boolean }> = [{ name: "default" }]) {
  await services.workPools.create({ name, type: "local", queues });
}

async function deployment(name: string, workPool: string, workQueue?: string) {
  await services.deployments.create({ name, flowName: "etl", entrypoint: "flows/etl.ts:etl", workPool, ...(workQueue ? { workQueue } : {}) });
}

describe("POST /v1/work-pools/{pool}/claims", () => {
  it("hands each of 1,000 queued runs to exactly one of 8 concurrent workers, with its own runner token", async () => {
    await pool("race");
    await deployment("race-etl", "race");
    const created = new Set<string>();
    for (let batch = 0; batch < 20; batch++) {
      const runs = await Promise.all(Array.from({ length: 50 }, () => services.deployments.run("race-etl", {})));
      for (const { run } of runs) created.add(run.id);
    }

    const claimed: ClaimItem[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (;;) {
          const { status, items } = await claim("race", { workerId: `worker-${worker}`, limit: 10 });
          expect(status).toBe(200);
          if (items.length === 0) return;
          claimed.push(...items);
        }
      }),
    );

    const ids = claimed.map((item) => item.runId);
    expect(ids).toHaveLength(1_000);
    expect(new Set(ids)).toEqual(created);
    expect(new Set(claimed.map((item) => item.runnerToken)).size).toBe(1_000);
    for (const item of claimed.slice(0, 50)) {
      expect(item.flowRun).toMatchObject({ id: item.runId, state: { type: "PENDING" } });
      expect(item.flowRun.runnerToken).toBeUndefined();
      expect((await store.getFlowRun(item.runId))?.runnerToken).toBe(item.runnerToken);
    }
  }, 120_000);

  it("takes from the highest-priority queue first and skips paused queues", async () => {
    await pool("prio", [
      { name: "bulk", priority: 5 },
      { name: "urgent", priority: 1 },
      { name: "held", priority: 1, paused: true },
    ]);
    await deployment("prio-bulk", "prio", "bulk");
    await deployment("prio-urgent", "prio", "urgent");
    await deployment("prio-held", "prio", "held");
    const bulk = (await services.deployments.run("prio-bulk", {})).run.id;
    const urgent = (await services.deployments.run("prio-urgent", {})).run.id;
    const held = (await services.deployments.run("prio-held", {})).run.id;

    expect((await claim("prio", { limit: 1 })).items.map((item) => item.runId)).toEqual([urgent]);
    expect((await claim("prio", { limit: 5 })).items.map((item) => item.runId)).toEqual([bulk]);
    expect((await claim("prio", { limit: 5 })).items).toEqual([]);
    await services.workPools.setPaused("prio", false, "held");
    expect((await claim("prio", { limit: 5 })).items.map((item) => item.runId)).toEqual([held]);
  });

  it("takes only from the queue a worker names, and refuses a queue the pool lacks", async () => {
    await pool("split", [{ name: "default" }, { name: "gpu", priority: 2 }]);
    await deployment("split-default", "split");
    await deployment("split-gpu", "split", "gpu");
    await services.deployments.run("split-default", {});
    const gpu = (await services.deployments.run("split-gpu", {})).run.id;

    expect((await claim("split", { limit: 5, queue: "gpu" })).items.map((item) => item.runId)).toEqual([gpu]);
    const missing = await claim("split", { queue: "tpu" });
    expect(missing.status).toBe(404);
    expect(missing.detail).toBe('work pool "split" has no queue "tpu"; its queues are: default, gpu');
  });

  it("takes nothing while the pool is paused", async () => {
    await pool("sleepy");
    await deployment("sleepy-etl", "sleepy");
    const runId = (await services.deployments.run("sleepy-etl", {})).run.id;
    await services.workPools.setPaused("sleepy", true);
    expect((await claim("sleepy", { limit: 5 })).items).toEqual([]);
    await services.workPools.setPaused("sleepy", false);
    expect((await claim("sleepy", { limit: 5 })).items.map((item) => item.runId)).toEqual([runId]);
  });

  it("keeps a queue's taken runs (PENDING or RUNNING) within its concurrency limit", async () => {
    await pool("narrow", [{ name: "default", concurrencyLimit: 2 }]);
    await deployment("narrow-etl", "narrow");
    for (let i = 0; i < 5; i++) await services.deployments.run("narrow-etl", {});

    const first = await Promise.all([claim("narrow", { limit: 5 }), claim("narrow", { limit: 5 }), claim("narrow", { limit: 5 })]);
    const taken = first.flatMap((answer) => answer.items);
    expect(taken).toHaveLength(2);
    expect((await claim("narrow", { limit: 5 })).items).toEqual([]);

    // A worker waiting on a full queue leaves its messages alone: none of them is received again and again into the dead-letter queue.
    expect((await claim("narrow", { limit: 5, waitSeconds: 2 })).items).toEqual([]);
    expect(lifecycle.queues.deadLetterQueue({ pool: "narrow", queue: "default" }).counts().visible).toBe(0);

    const done = taken[0]!;
    await services.flowRuns.proposeState(done.runId, { state: { type: "RUNNING" }, runnerToken: done.runnerToken });
    await services.flowRuns.proposeState(done.runId, { state: { type: "COMPLETED" }, runnerToken: done.runnerToken });
    expect((await claim("narrow", { limit: 5 })).items).toHaveLength(1);
    const waiting = lifecycle.queues.queue({ pool: "narrow", queue: "default" }).counts();
    expect(waiting.visible + waiting.inFlight + waiting.delayed).toBe(2);
  });

  it("leaves a run that is not due in the queue for later", async () => {
    await pool("later");
    await deployment("later-etl", "later");
    await services.deployments.run("later-etl", { scheduledTime: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await claim("later", { limit: 5 })).items).toEqual([]);
  });

  it("waits up to waitSeconds for a run to arrive", async () => {
    await pool("patient");
    await deployment("patient-etl", "patient");
    const answer = claim("patient", { limit: 1, waitSeconds: 5 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const runId = (await services.deployments.run("patient-etl", {})).run.id;
    expect((await answer).items.map((item) => item.runId)).toEqual([runId]);
  });

  it("refuses pools that are not local (409) and unknown pools (404)", async () => {
    await services.workPools.create({ name: "cloud", type: "lambda" });
    const refused = await claim("cloud", {});
    expect(refused.status).toBe(409);
    expect(refused.detail).toBe('work pool "cloud" is a lambda pool: the control plane dispatches its runs, workers claim only from local pools');
    expect((await claim("no-such-pool", {})).status).toBe(404);
  });
});

describe("claims when the server stops", () => {
  it("answers a long-polling claim at once, with no runs, and every later claim too", async () => {
    await pool("stopping");
    const waiting = claim("stopping", { limit: 1, waitSeconds: 20 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = lifecycle.close();
    const tooLate = new Promise((resolve) => setTimeout(() => resolve("still waiting after 5 s"), 5_000).unref());
    expect(await Promise.race([waiting.then((answer) => answer.items), tooLate])).toEqual([]);
    expect(await Promise.race([claim("stopping", { limit: 1, waitSeconds: 20 }).then((answer) => answer.items), tooLate])).toEqual([]);
    await closed;
  });
});
