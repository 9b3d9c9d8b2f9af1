import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serve, type ServerType } from "@hono/node-server";
import { AloftApiError, AloftClient } from "aloft";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";
import { isolateEnvironment } from "../../unit/client/isolatedEnvironment.js";

const dirs = isolateEnvironment();

let cp: TestControlPlane;
let server: ServerType;
let apiUrl: string;

beforeAll(async () => {
  cp = await startTestControlPlane();
  server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: cp.app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(started));
  });
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
  await cp.dispose();
});

const client = () => new AloftClient({ apiUrl, token: cp.token });
const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

async function rejection(promise: Promise<unknown>): Promise<AloftApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AloftApiError);
  return error as AloftApiError;
}

describe("AloftClient against the API over HTTP", () => {
  it("gets one 404 naming the run for logs of a flow run that does not exist, sent once (not retried)", async () => {
    let requests = 0;
    const counting = new AloftClient({ apiUrl, token: cp.token, fetch: (input, init) => (requests++, fetch(input, init)) });
    const missing = unique("gone");

    const error = await rejection(counting.logs.create({ logs: [{ flowRunId: missing, timestamp: new Date().toISOString(), level: "info", message: "hi" }] }));

    expect(error).toMatchObject({ status: 404, detail: `flow run ${missing} does not exist; no line of the batch was stored` });
    expect(error.errors).toEqual([{ field: "body.logs[0].flowRunId", message: `flow run ${missing} does not exist` }]);
    expect(requests).toBe(1);
  });

  it("answers health without credentials", async () => {
    expect(await new AloftClient({ apiUrl }).health()).toMatchObject({ status: "ok" });
  });

  it("walks a run through create, claim, task runs, logs, artifacts, journal and completion", async () => {
    const api = client();
    const run = await api.flowRuns.create({ flowName: "etl", parameters: { day: "2026-11-01" }, tags: ["nightly"] });
    expect(run).toMatchObject({ flowName: "etl", parameters: { day: "2026-11-01" }, tags: ["nightly"], state: { type: "SCHEDULED" }, version: 0 });

    expect((await api.flowRuns.proposeState(run.id, { state: { type: "PENDING" }, transitionId: "worker-a" })).status).toBe("ACCEPT");
    expect((await api.flowRuns.proposeState(run.id, { state: { type: "PENDING" }, transitionId: "worker-b" })).status).toBe("REJECT");
    expect((await api.flowRuns.proposeState(run.id, { state: { type: "RUNNING" } })).status).toBe("ACCEPT");

    const taskRun = await api.taskRuns.create({ id: `${run.id}:extract-0`, flowRunId: run.id, taskName: "extract" });
    expect(await api.taskRuns.create({ id: `${run.id}:extract-0`, flowRunId: run.id, taskName: "extract" })).toMatchObject({ id: taskRun.id });
    await api.taskRuns.proposeState(taskRun.id, { state: { type: "RUNNING" } });
    await api.taskRuns.proposeState(taskRun.id, { state: { type: "COMPLETED" } });
    expect((await api.taskRuns.get(taskRun.id)).state.type).toBe("COMPLETED");

    const timestamp = new Date().toISOString();
    expect(await api.logs.create({ logs: [{ flowRunId: run.id, taskRunId: taskRun.id, timestamp, level: "info", message: "extracted 3 rows" }] })).toEqual({ accepted: 1 });
    await api.artifacts.create({ key: "report", type: "markdown", data: "# 3 rows", flowRunId: run.id });
    const entry = await api.flowRuns.putJournalEntry(run.id, "extract 0", { rows: 3 });
    expect(await api.flowRuns.putJournalEntry(run.id, "extract 0", { rows: 4 })).toEqual(entry);

    const done = await api.flowRuns.proposeState(run.id, { state: { type: "COMPLETED" }, result: { rows: 3 } });
    expect(done).toMatchObject({ status: "ACCEPT", state: { type: "COMPLETED", name: "Completed" } });

    expect(await api.flowRuns.get(run.id)).toMatchObject({ result: { rows: 3 }, runCount: 1 });
    expect((await api.flowRuns.history(run.id)).map((item) => item.state.name)).toEqual(["Scheduled", "Pending", "Running", "Completed"]);
    expect((await api.flowRuns.taskRuns(run.id)).items.map((item) => item.id)).toEqual([taskRun.id]);
    expect((await api.flowRuns.logs(run.id)).items).toEqual([expect.objectContaining({ message: "extracted 3 rows", taskRunId: taskRun.id })]);
    expect((await api.flowRuns.artifacts(run.id)).map((artifact) => artifact.key)).toEqual(["report"]);
    expect(await api.flowRuns.journal(run.id)).toEqual([{ key: "extract 0", value: { rows: 3 }, createdAt: entry.createdAt }]);
  });

  it("cancels, retries with force and reads the outcome", async () => {
    const api = client();
    const run = await api.flowRuns.create({ flowName: "etl" });
    expect((await api.flowRuns.cancel(run.id)).state.type).toBe("CANCELLED");
    expect((await api.flowRuns.retry(run.id)).status).toBe("ACCEPT");
    expect((await api.flowRuns.get(run.id)).state.type).toBe("SCHEDULED");
  });

  it("iterates over every page of a filtered listing, newest first", async () => {
    const api = client();
    const flowName = unique("paged");
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await api.flowRuns.create({ flowName })).id);
    const seen: string[] = [];
    for await (const run of api.flowRuns.iterate({ flow: flowName, limit: 2 })) seen.push(run.id);
    expect(seen).toEqual([...created].reverse());
    const firstPage = await api.flowRuns.list({ flow: flowName, limit: 2 });
    expect(firstPage.items).toHaveLength(2);
    expect(firstPage.cursor).toEqual(expect.any(String));
  });

  it("runs a deployment by its name (a name with a slash), once per idempotency key", async () => {
    const api = client();
    const name = `team/${unique("nightly-etl")}`;
    const deployment = await api.deployments.create({ name, flowName: "etl", entrypoint: "flows/etl.ts:etl", parameters: { region: "eu", day: "default" } });
    expect(await api.deployments.get(name)).toMatchObject({ id: deployment.id, name });
    expect(await api.deployments.get(deployment.id)).toMatchObject({ name });

    const run = await api.deployments.run(name, { parameters: { day: "2026-11-01" }, idempotencyKey: "ci-build-7" });
    expect(run).toMatchObject({ flowName: "etl", deploymentId: deployment.id, parameters: { region: "eu", day: "2026-11-01" } });
    expect((await api.deployments.run(name, { parameters: { day: "2026-11-01" }, idempotencyKey: "ci-build-7" })).id).toBe(run.id);
    expect((await api.flowRuns.list({ deployment: name })).items.map((item) => item.id)).toEqual([run.id]);

    expect((await api.deployments.update(name, { paused: true })).paused).toBe(true);
    const names: string[] = [];
    for await (const each of api.deployments.iterate({ limit: 1 })) names.push(each.name);
    expect(names).toContain(name);
    await api.deployments.delete(name);
    expect((await rejection(api.deployments.get(name))).status).toBe(404);
  });

  it("takes, refuses, renews and releases concurrency leases", async () => {
    const api = client();
    const tag = unique("warehouse");
    expect(await api.concurrencyLimits.set(tag, 1)).toMatchObject({ tag, limit: 1, activeSlots: 0 });
    const lease = await api.concurrencyLimits.acquire(tag, { ttlSeconds: 60 });
    const full = await rejection(api.concurrencyLimits.acquire(tag));
    expect(full.status).toBe(423);
    expect(full.retryAfterSeconds).toBeGreaterThan(0);
    const renewed = await api.concurrencyLimits.renew(tag, lease.leaseId, { ttlSeconds: 120 });
    expect(Date.parse(renewed.expiresAt)).toBeGreaterThan(Date.parse(lease.expiresAt));
    expect((await api.concurrencyLimits.get(tag)).activeSlots).toBe(1);
    await api.concurrencyLimits.release(tag, lease.leaseId);
    const again = await api.concurrencyLimits.acquire(tag, { leaseId: "known-lease" });
    expect(again.leaseId).toBe("known-lease");
    expect((await api.concurrencyLimits.list()).map((limit) => limit.tag)).toContain(tag);
    await api.concurrencyLimits.delete(tag);
    expect((await rejection(api.concurrencyLimits.get(tag))).status).toBe(404);
  });

  it("throws AloftApiError with the problem's fields for a missing run and an invalid request", async () => {
    const api = client();
    const missing = await rejection(api.flowRuns.get("no-such-run"));
    expect(missing).toMatchObject({ status: 404, title: "Not found", detail: "flow run no-such-run does not exist", method: "GET", path: "/v1/flow-runs/no-such-run" });
    expect(missing.requestId).toEqual(expect.any(String));
    expect(missing.message).toBe("GET /v1/flow-runs/no-such-run: 404 Not found — flow run no-such-run does not exist");

    const invalid = await rejection(api.flowRuns.create({ flowName: "" }));
    expect(invalid.status).toBe(400);
    expect(invalid.errors.map((problem) => problem.field)).toEqual(["body.flowName"]);
    expect(invalid.message).toMatch(/^POST \/v1\/flow-runs: 400 Invalid request — body\.flowName: /);
  });

  it("finds the token in the data dir's token file, and explains a refused one", async () => {
    await mkdir(dirs.dataDir, { recursive: true });
    await writeFile(join(dirs.dataDir, "token"), `${cp.token}\n`, { mode: 0o600 });
    const fromFile = new AloftClient({ apiUrl });
    expect((await fromFile.flowRuns.create({ flowName: "etl" })).state.type).toBe("SCHEDULED");

    vi.stubEnv("ALOFT_TOKEN", "wrong-token");
    const refused = await rejection(new AloftClient({ apiUrl }).flowRuns.list());
    expect(refused.status).toBe(401);
    expect(refused.message).toMatch(/; the token from ALOFT_TOKEN was refused$/);
  });

  it("retries a refused connection, then reports it as a network error with status 0", async () => {
    const closed = serve({ fetch: cp.app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => closed.once("listening", () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));

    const sleeps: number[] = [];
    const api = new AloftClient({ apiUrl: `http://127.0.0.1:${port}`, token: cp.token, retries: { retries: 2, sleep: async (ms) => void sleeps.push(ms) } });
    const error = await rejection(api.flowRuns.create({ flowName: "etl" }));
    expect(error.status).toBe(0);
    expect(error.attempts).toBe(3);
    expect(sleeps).toHaveLength(2);
    expect(error.message).toContain("ECONNREFUSED");
  });
});
