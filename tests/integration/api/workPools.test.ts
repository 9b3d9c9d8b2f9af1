import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeploymentDto, Problem, WorkPoolDto } from "../../../sdk/api/schemas.js";
import { queuesByPriority, resolveQueue } from "../../../lambdas/services/workPools.js";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";

let clock = Date.parse("2026-11-02T08:00:00.000Z");
let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane({ now: () => clock });
});
afterAll(async () => cp.dispose());

async function read<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

/** A name no other test uses (the tests share one table). */
function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

async function createPool(body: Record<string, unknown> = {}): Promise<WorkPoolDto> {
  return read<WorkPoolDto>(await cp.call("POST", "/v1/work-pools", { name: unique("pool"), type: "local", ...body }), 201);
}

describe("work pools API", () => {
  it("creates a pool with 201, its location and a default queue, and reads it back", async () => {
    const name = unique("fargate-etl");
    const response = await cp.call("POST", "/v1/work-pools", {
      name,
      type: "fargate",
      description: "nightly ETL",
      jobSettings: { cpu: 1024, memory: 4096, timeout: 7200, environment: { STAGE: "prod" }, image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/etl:7" },
    });
    const pool = await read<WorkPoolDto>(response, 201);
    expect(response.headers.get("location")).toBe(`/v1/work-pools/${name}`);
    expect(pool).toEqual({
      name,
      type: "fargate",
      description: "nightly ETL",
      jobSettings: { cpu: 1024, memory: 4096, timeout: 7200, environment: { STAGE: "prod" }, image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/etl:7" },
      queues: [{ name: "default", priority: 1, paused: false }],
      paused: false,
      revision: 1,
      createdAt: "2026-11-02T08:00:00.000Z",
      updatedAt: "2026-11-02T08:00:00.000Z",
    });
    expect(await read(await cp.call("GET", `/v1/work-pools/${name}`), 200)).toEqual(pool);
  });

  it("creates a pool with the queues it is given instead of the default one", async () => {
    const pool = await createPool({ queues: [{ name: "urgent", priority: 1 }, { name: "backfill", priority: 5, concurrencyLimit: 2, paused: true }] });
    expect(pool.queues).toEqual([
      { name: "urgent", priority: 1, paused: false },
      { name: "backfill", priority: 5, concurrencyLimit: 2, paused: true },
    ]);
  });

  it("refuses a second pool with the same name with 409 naming body.name", async () => {
    const pool = await createPool();
    const problem = await read<Problem>(await cp.call("POST", "/v1/work-pools", { name: pool.name, type: "lambda" }), 409);
    expect(problem.errors).toEqual([{ field: "body.name", message: "already taken" }]);
    expect(problem.detail).toBe(`a work pool named "${pool.name}" already exists`);
  });

  it("names every setting that does not fit the pool's type, all at once", async () => {
    const problem = await read<Problem>(
      await cp.call("POST", "/v1/work-pools", {
        name: unique("lambda"),
        type: "lambda",
        jobSettings: { memory: 2048, cpu: 1024, image: "etl:1", timeout: 3600, environment: { ALOFT_RUN_ID: "x", OK: "1" } },
        queues: [{ name: "a" }, { name: "a", priority: 2 }],
      }),
      400,
    );
    expect(problem.errors?.map((error) => error.field)).toEqual([
      "body.jobSettings.memory",
      "body.jobSettings.cpu",
      "body.jobSettings.image",
      "body.jobSettings.timeout",
      "body.jobSettings.environment.ALOFT_RUN_ID",
      "body.queues[1].name",
    ]);
    expect(problem.errors?.[3]?.message).toBe("a Lambda runner stops after 900 seconds; use a fargate pool for runs longer than that, not 3600");
  });

  it("refuses a Fargate CPU and memory pair that Fargate does not offer", async () => {
    const problem = await read<Problem>(await cp.call("POST", "/v1/work-pools", { name: unique("f"), type: "fargate", jobSettings: { cpu: 1000, memory: 3000 } }), 400);
    expect(problem.errors).toEqual([{ field: "body.jobSettings.cpu", message: "Fargate offers 256, 512, 1024, 2048, 4096, 8192, 16384 CPU units (1024 = 1 vCPU), not 1000" }]);
    const tooSmall = await read<Problem>(await cp.call("POST", "/v1/work-pools", { name: unique("f"), type: "fargate", jobSettings: { cpu: 2048, memory: 2048 } }), 400);
    expect(tooSmall.errors).toEqual([{ field: "body.jobSettings.memory", message: "with 2048 CPU units Fargate offers 4096 to 16384 MiB in steps of 1024, not 2048" }]);
  });

  it("refuses malformed requests with every invalid field named", async () => {
    const problem = await read<Problem>(await cp.call("POST", "/v1/work-pools", { name: "has space", type: "gpu", queues: [], colour: "red" }), 400);
    expect(problem.errors?.map((error) => error.field).sort()).toEqual(["body.colour", "body.name", "body.queues", "body.type"]);
  });

  it("lists pools by name, paged", async () => {
    const prefix = unique("list");
    for (const letter of ["c", "a", "b"]) await createPool({ name: `${prefix}-${letter}` });
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await read<{ items: WorkPoolDto[]; cursor?: string }>(await cp.call("GET", `/v1/work-pools?limit=2${cursor ? `&cursor=${cursor}` : ""}`), 200);
      names.push(...page.items.map((pool) => pool.name));
      cursor = page.cursor;
    } while (cursor);
    expect(names).toEqual([...names].sort());
    expect(names.filter((name) => name.startsWith(prefix))).toEqual([`${prefix}-a`, `${prefix}-b`, `${prefix}-c`]);
  });

  it("changes default job settings, removing those set to null, and bumps the revision", async () => {
    const pool = await createPool({ jobSettings: { timeout: 60, environment: { A: "1" } } });
    clock += 1_000;
    const updated = await read<WorkPoolDto>(await cp.call("PATCH", `/v1/work-pools/${pool.name}`, { description: "laptop", jobSettings: { timeout: null, environment: { B: "2" } } }), 200);
    expect(updated).toMatchObject({ description: "laptop", jobSettings: { environment: { B: "2" } }, revision: 2, updatedAt: new Date(clock).toISOString() });
    expect(updated.jobSettings.timeout).toBeUndefined();
  });

  it("pauses and resumes a pool, and one of its queues", async () => {
    const pool = await createPool({ queues: [{ name: "default" }, { name: "bulk", priority: 3 }] });
    expect((await read<WorkPoolDto>(await cp.call("POST", `/v1/work-pools/${pool.name}/pause`), 200)).paused).toBe(true);
    expect((await read<WorkPoolDto>(await cp.call("POST", `/v1/work-pools/${pool.name}/resume`), 200)).paused).toBe(false);
    const queuePaused = await read<WorkPoolDto>(await cp.call("POST", `/v1/work-pools/${pool.name}/queues/bulk/pause`), 200);
    expect(queuePaused).toMatchObject({ paused: false, queues: [{ name: "default", paused: false }, { name: "bulk", paused: true }] });
    const resumed = await read<WorkPoolDto>(await cp.call("POST", `/v1/work-pools/${pool.name}/queues/bulk/resume`), 200);
    expect(resumed.queues[1]).toEqual({ name: "bulk", priority: 3, paused: false });
  });

  it("adds, changes and removes queues, keeping at least one", async () => {
    const pool = await createPool();
    const added = await read<WorkPoolDto>(await cp.call("PUT", `/v1/work-pools/${pool.name}/queues/bulk`, { priority: 5, concurrencyLimit: 3 }), 200);
    expect(added.queues).toEqual([
      { name: "default", priority: 1, paused: false },
      { name: "bulk", priority: 5, concurrencyLimit: 3, paused: false },
    ]);
    const unlimited = await read<WorkPoolDto>(await cp.call("PUT", `/v1/work-pools/${pool.name}/queues/bulk`, { concurrencyLimit: null }), 200);
    expect(unlimited.queues[1]).toEqual({ name: "bulk", priority: 5, paused: false });
    await read(await cp.call("DELETE", `/v1/work-pools/${pool.name}/queues/default`), 204);
    const last = await read<Problem>(await cp.call("DELETE", `/v1/work-pools/${pool.name}/queues/bulk`), 409);
    expect(last.detail).toBe(`queue "bulk" is the only queue of work pool "${pool.name}"; a pool keeps at least one`);
    expect((await read<WorkPoolDto>(await cp.call("GET", `/v1/work-pools/${pool.name}`), 200)).queues.map((queue) => queue.name)).toEqual(["bulk"]);
  });

  it("answers 404 for an unknown pool or queue, and 400 for a queue name that cannot be one", async () => {
    const pool = await createPool();
    const missing = await read<Problem>(await cp.call("GET", "/v1/work-pools/nope-nope"), 404);
    expect(missing.detail).toBe("work pool nope-nope does not exist");
    const noQueue = await read<Problem>(await cp.call("POST", `/v1/work-pools/${pool.name}/queues/other/pause`), 404);
    expect(noQueue.detail).toBe(`work pool "${pool.name}" has no queue "other"; its queues are: default`);
    const badName = await read<Problem>(await cp.call("PUT", `/v1/work-pools/${pool.name}/queues/_x`, {}), 400);
    expect(badName.errors?.map((error) => error.field)).toEqual(["path.queue"]);
  });
});

describe("deployments in work pools", () => {
  it("puts a deployment in a pool's default queue unless it names another", async () => {
    const pool = await createPool({ queues: [{ name: "default" }, { name: "bulk", priority: 9 }] });
    const plain = await read<DeploymentDto>(await cp.call("POST", "/v1/deployments", { name: unique("d"), flowName: "etl", entrypoint: "flows/etl.ts", workPool: pool.name }), 201);
    expect(plain.workPool).toBe(pool.name);
    expect(plain.workQueue).toBeUndefined();
    const bulk = await read<DeploymentDto>(await cp.call("POST", "/v1/deployments", { name: unique("d"), flowName: "etl", entrypoint: "flows/etl.ts", workPool: pool.name, workQueue: "bulk" }), 201);
    expect(bulk.workQueue).toBe("bulk");
  });

  it("refuses a deployment naming an unknown pool, or a queue its pool lacks, with 400 naming the field", async () => {
    const unknownPool = await read<Problem>(await cp.call("POST", "/v1/deployments", { name: unique("d"), flowName: "etl", entrypoint: "flows/etl.ts", workPool: "no-such-pool" }), 400);
    expect(unknownPool.errors).toEqual([{ field: "body.workPool", message: 'no work pool is named "no-such-pool"; create it first (aloft pools create no-such-pool --type <lambda|fargate|local>)' }]);
    const pool = await createPool({ queues: [{ name: "urgent" }] });
    const noDefault = await read<Problem>(await cp.call("POST", "/v1/deployments", { name: unique("d"), flowName: "etl", entrypoint: "flows/etl.ts", workPool: pool.name }), 400);
    expect(noDefault.errors).toEqual([{ field: "body.workQueue", message: `work pool "${pool.name}" has no queue "default"; its queues are: urgent` }]);
    const deployment = await read<DeploymentDto>(await cp.call("POST", "/v1/deployments", { name: unique("d"), flowName: "etl", entrypoint: "flows/etl.ts" }), 201);
    const moved = await read<Problem>(await cp.call("PATCH", `/v1/deployments/${deployment.id}`, { workPool: pool.name, workQueue: "later" }), 400);
    expect(moved.errors?.map((error) => error.field)).toEqual(["body.workQueue"]);
  });
});

describe("WorkPoolService", () => {
  it("applies concurrent queue changes one after another, losing none", async () => {
    const pool = await createPool();

    await Promise.all(["a", "b", "c", "d", "e"].map((queue, index) => cp.services.workPools.upsertQueue(pool.name, queue, { priority: index + 2 })));

    const stored = await cp.services.workPools.get(pool.name);
    expect(stored.queues.map((queue) => queue.name).sort()).toEqual(["a", "b", "c", "d", "default", "e"]);
    expect(stored.revision).toBe(6);
  });

  it("ensure creates a missing pool and leaves an existing one as it is", async () => {
    const name = unique("ensured");
    const created = await cp.services.workPools.ensure({ name, type: "local" });
    await cp.services.workPools.setPaused(name, true);

    const again = await cp.services.workPools.ensure({ name, type: "fargate", jobSettings: { cpu: 1024 } });

    expect(created).toMatchObject({ type: "local", revision: 1 });
    expect(again).toMatchObject({ type: "local", paused: true, revision: 2, jobSettings: {} });
  });
});

describe("queuesByPriority and resolveQueue", () => {
  const pool = {
    queues: [
      { name: "bulk", priority: 5, paused: false },
      { name: "b-urgent", priority: 1, paused: true },
      { name: "a-urgent", priority: 1, paused: false },
      { name: "default", priority: 3, paused: false },
    ],
  };

  it("orders queues by priority, 1 first, then by name, paused ones included", () => {
    expect(queuesByPriority(pool).map((queue) => queue.name)).toEqual(["a-urgent", "b-urgent", "default", "bulk"]);
    expect(pool.queues[0]?.name).toBe("bulk");
  });

  it("finds a deployment's queue, the default one unless named", () => {
    expect(resolveQueue(pool)?.priority).toBe(3);
    expect(resolveQueue(pool, "bulk")?.priority).toBe(5);
    expect(resolveQueue(pool, "missing")).toBeUndefined();
  });
});

describe("WorkPoolService validation for callers other than the API", () => {
  it("refuses queue priorities and limits out of range, naming each", async () => {
    await expect(
      cp.services.workPools.create({ name: unique("direct"), type: "local", queues: [{ name: "a", priority: 0 }, { name: "b", priority: 2.5, concurrencyLimit: -1 }] }),
    ).rejects.toMatchObject({
      code: "VALIDATION",
      fields: [
        { field: "body.queues[0].priority", message: "a priority is a whole number from 1 (the highest) to 100, not 0" },
        { field: "body.queues[1].priority", message: "a priority is a whole number from 1 (the highest) to 100, not 2.5" },
        { field: "body.queues[1].concurrencyLimit", message: "a concurrency limit is a whole number from 0, not -1" },
      ],
    });
  });
});
