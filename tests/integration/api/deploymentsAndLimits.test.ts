import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConcurrencyLimitDto, DeploymentDto, FlowRunDto, Problem } from "../../../sdk/api/schemas.js";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";

/** The control plane's clock: tests move it instead of waiting. */
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

async function createDeployment(extra: Record<string, unknown> = {}): Promise<DeploymentDto> {
  return read<DeploymentDto>(await cp.call("POST", "/v1/deployments", { name: unique("etl"), flowName: "etl", entrypoint: "flows/etl.ts:etl", ...extra }), 201);
}

describe("deployments API", () => {
  it("creates a deployment with 201 and its location, and reads it back by id and by name", async () => {
    const name = unique("nightly/etl");
    const response = await cp.call("POST", "/v1/deployments", { name, flowName: "etl", entrypoint: "flows/etl.ts:etl", parameters: { day: "today" }, tags: ["nightly", "nightly"] });
    const created = await read<DeploymentDto>(response, 201);
    expect(response.headers.get("location")).toBe(`/v1/deployments/${created.id}`);
    expect(created).toMatchObject({ name, flowName: "etl", entrypoint: "flows/etl.ts:etl", parameters: { day: "today" }, tags: ["nightly"], engine: "durable", paused: false, revision: 1 });
    expect(await read(await cp.call("GET", `/v1/deployments/${created.id}`), 200)).toEqual(created);
    expect(await read(await cp.call("GET", `/v1/deployments/${encodeURIComponent(name)}`), 200)).toEqual(created);
  });

  it("refuses a second deployment with the same name with 409 naming body.name", async () => {
    const first = await createDeployment();
    const problem = await read<Problem>(await cp.call("POST", "/v1/deployments", { name: first.name, flowName: "other", bundleId: "b-1" }), 409);
    expect(problem.errors).toEqual([{ field: "body.name", message: "already taken" }]);
    expect(problem.detail).toBe(`a deployment named "${first.name}" already exists`);
  });

  it("needs exactly one of entrypoint and bundleId", async () => {
    for (const code of [{}, { entrypoint: "flows/etl.ts", bundleId: "bundle-1" }]) {
      const problem = await read<Problem>(await cp.call("POST", "/v1/deployments", { name: unique("x"), flowName: "etl", ...code }), 400);
      expect(problem.errors).toEqual([{ field: "body.entrypoint", message: "give exactly one of entrypoint and bundleId" }]);
    }
    expect((await createDeployment({ entrypoint: undefined, bundleId: "bundle-1" })).bundleId).toBe("bundle-1");
  });

  it("updates a deployment with PATCH, bumping its revision, and refuses a patch that adds a second code source", async () => {
    const deployment = await createDeployment({ parameters: { a: 1 } });
    clock += 1_000;
    const updated = await read<DeploymentDto>(await cp.call("PATCH", `/v1/deployments/${deployment.name}`, { description: "nightly load", parameters: { a: 2 }, paused: true }), 200);
    expect(updated).toMatchObject({ id: deployment.id, description: "nightly load", parameters: { a: 2 }, paused: true, revision: 2 });
    expect(Date.parse(updated.updatedAt)).toBeGreaterThan(Date.parse(deployment.updatedAt));
    const problem = await read<Problem>(await cp.call("PATCH", `/v1/deployments/${deployment.id}`, { bundleId: "bundle-2" }), 400);
    expect(problem.errors?.map((error) => error.field)).toEqual(["body.entrypoint"]);
    expect((await read<DeploymentDto>(await cp.call("GET", `/v1/deployments/${deployment.id}`), 200)).revision).toBe(2);
  });

  it("refuses to rename a deployment by PATCH", async () => {
    const deployment = await createDeployment();
    const problem = await read<Problem>(await cp.call("PATCH", `/v1/deployments/${deployment.id}`, { name: "renamed" }), 400);
    expect(problem.errors?.map((error) => error.field)).toEqual(["body.name"]);
  });

  it("deletes a deployment with 204, after which it is 404 by id and by name", async () => {
    const deployment = await createDeployment();
    expect(await read(await cp.call("DELETE", `/v1/deployments/${deployment.id}`), 204)).toBeUndefined();
    await read(await cp.call("GET", `/v1/deployments/${deployment.id}`), 404);
    await read(await cp.call("GET", `/v1/deployments/${deployment.name}`), 404);
    await read(await cp.call("DELETE", `/v1/deployments/${deployment.name}`), 404);
  });

  it("lists deployments in pages", async () => {
    const names = new Set<string>();
    let cursor: string | undefined;
    for (let i = 0; i < 3; i++) await createDeployment();
    do {
      const page = await read<{ items: DeploymentDto[]; cursor?: string }>(await cp.call("GET", `/v1/deployments?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`), 200);
      expect(page.items.length).toBeLessThanOrEqual(2);
      for (const item of page.items) names.add(item.name);
      cursor = page.cursor;
    } while (cursor);
    expect(names.size).toBeGreaterThanOrEqual(3);
  });
});

describe("deployment runs", () => {
  it("merges the deployment's default parameters and tags with the given ones", async () => {
    const deployment = await createDeployment({ parameters: { day: "today", rows: 10 }, tags: ["nightly"] });
    const response = await cp.call("POST", `/v1/deployments/${deployment.name}/runs`, { parameters: { rows: 99, dryRun: true }, tags: ["manual"] });
    const run = await read<FlowRunDto>(response, 201);
    expect(run).toMatchObject({ flowName: "etl", deploymentId: deployment.id, parameters: { day: "today", rows: 99, dryRun: true }, tags: ["nightly", "manual"], state: { type: "SCHEDULED" } });
    expect(await read(await cp.call("GET", `/v1/flow-runs/${run.id}`), 200)).toMatchObject({ id: run.id, deploymentId: deployment.id });
  });

  it("schedules a run for the given time", async () => {
    const deployment = await createDeployment();
    const scheduledTime = new Date(clock + 3_600_000).toISOString();
    const run = await read<FlowRunDto>(await cp.call("POST", `/v1/deployments/${deployment.id}/runs`, { scheduledTime }), 201);
    expect(run.state.type).toBe("SCHEDULED");
    expect(run.scheduledTime).toBe(scheduledTime);
  });

  it("is idempotent by key: the same key gives the same run with 200", async () => {
    const deployment = await createDeployment();
    const key = unique("trigger");
    const first = await read<FlowRunDto>(await cp.call("POST", `/v1/deployments/${deployment.id}/runs`, { idempotencyKey: key }), 201);
    const second = await read<FlowRunDto>(await cp.call("POST", `/v1/deployments/${deployment.id}/runs`, { idempotencyKey: key, parameters: { other: true } }), 200);
    expect(second.id).toBe(first.id);
  });

  it("refuses a run of a paused deployment with 409, and accepts it once resumed", async () => {
    const deployment = await createDeployment({ paused: true });
    const problem = await read<Problem>(await cp.call("POST", `/v1/deployments/${deployment.id}/runs`, {}), 409);
    expect(problem.detail).toBe(`deployment "${deployment.name}" is paused; resume it to create runs`);
    await read(await cp.call("PATCH", `/v1/deployments/${deployment.id}`, { paused: false }), 200);
    await read(await cp.call("POST", `/v1/deployments/${deployment.id}/runs`, {}), 201);
  });

  it("refuses a run of an unknown deployment with 404", async () => {
    expect((await read<Problem>(await cp.call("POST", "/v1/deployments/ghost/runs", {}), 404)).detail).toBe("deployment ghost does not exist");
  });

  it("lists a deployment's runs by its name or its id, and only those", async () => {
    const deployment = await createDeployment();
    const other = await createDeployment();
    const ids = [];
    for (let i = 0; i < 2; i++) ids.push((await read<FlowRunDto>(await cp.call("POST", `/v1/deployments/${deployment.id}/runs`, {}), 201)).id);
    await read(await cp.call("POST", `/v1/deployments/${other.id}/runs`, {}), 201);
    for (const key of [deployment.name, deployment.id]) {
      const page = await read<{ items: FlowRunDto[] }>(await cp.call("GET", `/v1/flow-runs?deployment=${encodeURIComponent(key)}`), 200);
      expect(page.items.map((run) => run.id).sort()).toEqual(ids.sort());
    }
  });
});

describe("concurrency limits API", () => {
  it("creates, changes, reads, lists and deletes a limit", async () => {
    const tag = unique("warehouse");
    expect(await read<ConcurrencyLimitDto>(await cp.call("POST", "/v1/concurrency-limits", { tag, limit: 2 }), 200)).toMatchObject({ tag, limit: 2, activeSlots: 0, leases: [] });
    expect(await read<ConcurrencyLimitDto>(await cp.call("PUT", `/v1/concurrency-limits/${tag}`, { limit: 5 }), 200)).toMatchObject({ tag, limit: 5 });
    expect(await read<ConcurrencyLimitDto>(await cp.call("GET", `/v1/concurrency-limits/${tag}`), 200)).toMatchObject({ tag, limit: 5 });
    const list = await read<{ items: ConcurrencyLimitDto[] }>(await cp.call("GET", "/v1/concurrency-limits"), 200);
    expect(list.items.find((item) => item.tag === tag)).toMatchObject({ limit: 5 });
    // Paged by tag like every listing.
    await read(await cp.call("POST", "/v1/concurrency-limits", { tag: `${tag}-2`, limit: 1 }), 200);
    const first = await read<{ items: ConcurrencyLimitDto[]; cursor?: string }>(await cp.call("GET", "/v1/concurrency-limits?limit=1"), 200);
    expect(first.items).toHaveLength(1);
    expect(first.cursor).toEqual(expect.any(String));
    await read(await cp.call("DELETE", `/v1/concurrency-limits/${tag}-2`), 204);
    await read(await cp.call("DELETE", `/v1/concurrency-limits/${tag}`), 204);
    await read(await cp.call("GET", `/v1/concurrency-limits/${tag}`), 404);
    await read(await cp.call("DELETE", `/v1/concurrency-limits/${tag}`), 404);
  });

  it("creates a limit with PUT, and addresses tags with reserved characters", async () => {
    const tag = `team/${unique("50%")} a`;
    await read(await cp.call("PUT", `/v1/concurrency-limits/${encodeURIComponent(tag)}`, { limit: 1 }), 200);
    expect(await read<ConcurrencyLimitDto>(await cp.call("GET", `/v1/concurrency-limits/${encodeURIComponent(tag)}`), 200)).toMatchObject({ tag, limit: 1 });
  });

  it("refuses a negative or fractional limit naming body.limit", async () => {
    for (const limit of [-1, 1.5, "3"]) {
      const problem = await read<Problem>(await cp.call("POST", "/v1/concurrency-limits", { tag: "x", limit }), 400);
      expect(problem.errors?.map((error) => error.field)).toEqual(["body.limit"]);
    }
  });
});

describe("concurrency leases", () => {
  async function acquire(tag: string, body: Record<string, unknown> = {}) {
    return cp.call("POST", `/v1/concurrency-limits/${tag}/leases`, body);
  }

  it("grants leases up to the limit, then 423 with Retry-After until the first lease expires", async () => {
    const tag = unique("db");
    await read(await cp.call("POST", "/v1/concurrency-limits", { tag, limit: 2 }), 200);
    const first = await read<{ leaseId: string; expiresAt: string }>(await acquire(tag, { ttlSeconds: 60 }), 201);
    expect(first.expiresAt).toBe(new Date(clock + 60_000).toISOString());
    await read(await acquire(tag, { ttlSeconds: 120 }), 201);

    const full = await acquire(tag);
    const problem = await read<Problem>(full, 423);
    expect(full.headers.get("content-type")).toBe("application/problem+json");
    expect(full.headers.get("retry-after")).toBe("60");
    expect(problem.detail).toBe(`concurrency limit "${tag}" is full (2 slots in use)`);
    expect((await read<ConcurrencyLimitDto>(await cp.call("GET", `/v1/concurrency-limits/${tag}`), 200)).activeSlots).toBe(2);

    clock += 20_000;
    expect((await acquire(tag)).headers.get("retry-after")).toBe("40");
    clock += 40_000;
    await read(await acquire(tag), 201);
  });

  it("frees a slot when a lease is released", async () => {
    const tag = unique("api");
    await read(await cp.call("POST", "/v1/concurrency-limits", { tag, limit: 1 }), 200);
    const lease = await read<{ leaseId: string }>(await acquire(tag), 201);
    await read(await acquire(tag), 423);
    await read(await cp.call("DELETE", `/v1/concurrency-limits/${tag}/leases/${lease.leaseId}`), 204);
    await read(await acquire(tag), 201);
  });

  it("takes the caller's lease id, and acquiring it again refreshes the same slot", async () => {
    const tag = unique("gpu");
    await read(await cp.call("POST", "/v1/concurrency-limits", { tag, limit: 1 }), 200);
    expect((await read<{ leaseId: string }>(await acquire(tag, { leaseId: "worker-1" }), 201)).leaseId).toBe("worker-1");
    await read(await acquire(tag, { leaseId: "worker-1" }), 201);
    await read(await acquire(tag, { leaseId: "worker-2" }), 423);
  });

  it("renews a lease, moving its expiry, and answers 404 to the renewal of an unknown lease", async () => {
    const tag = unique("s3");
    await read(await cp.call("POST", "/v1/concurrency-limits", { tag, limit: 1 }), 200);
    const lease = await read<{ leaseId: string; expiresAt: string }>(await acquire(tag, { ttlSeconds: 30 }), 201);
    clock += 10_000;
    const renewed = await read<{ leaseId: string; expiresAt: string }>(await cp.call("POST", `/v1/concurrency-limits/${tag}/leases/${lease.leaseId}/renew`, { ttlSeconds: 300 }), 200);
    expect(renewed).toEqual({ tag, leaseId: lease.leaseId, expiresAt: new Date(clock + 300_000).toISOString() });
    expect(Date.parse(renewed.expiresAt)).toBeGreaterThan(Date.parse(lease.expiresAt));
    clock += 60_000;
    await read(await acquire(tag), 423);

    const problem = await read<Problem>(await cp.call("POST", `/v1/concurrency-limits/${tag}/leases/no-such-lease/renew`, {}), 404);
    expect(problem.detail).toBe(`lease no-such-lease on "${tag}" does not exist`);
  });

  it("answers 423 without Retry-After when the limit is 0, since no slot will ever free up", async () => {
    const tag = unique("frozen");
    await read(await cp.call("POST", "/v1/concurrency-limits", { tag, limit: 0 }), 200);
    const response = await acquire(tag);
    const problem = await read<Problem>(response, 423);
    expect(response.headers.get("retry-after")).toBeNull();
    expect(problem.detail).toBe(`concurrency limit "${tag}" is 0: no slot will ever be free`);
  });

  it("answers 404 to a lease on an unknown limit", async () => {
    await read(await acquire(unique("ghost")), 404);
  });
});
