import { spawn, type ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startRunnersPlane, type RunnersPlane } from "./runnersPlane.js";

const CLI = join(process.cwd(), "dist", "lambdas", "local", "main.js");
const children = new Set<ChildProcess>();
let plane: RunnersPlane;

beforeAll(async () => {
  plane = await startRunnersPlane({ heartbeatSeconds: 1 });
  await mkdir(plane.effects, { recursive: true });
});
afterEach(() => {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
});
afterAll(() => plane?.dispose());

/** `aloft worker start …` against the plane, as a user runs it. */
function worker(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, "worker", "start", ...args], {
    env: { ...process.env, ALOFT_API_URL: plane.server.url, ALOFT_TOKEN: plane.token, NO_COLOR: "1", ALOFT_LOG_LEVEL: "silent" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output, exited: new Promise((resolve) => child.on("exit", (code) => resolve(code))) };
}

describe("aloft worker start", () => {
  it("runs the runs of its pool's queue, prints a line per run, and stops on Ctrl-C once they are done", async () => {
    await plane.client.workPools.create({ name: "laptop", type: "local", queues: [{ name: "default" }, { name: "backfill", priority: 2 }] });
    await plane.client.deployments.create({ name: "on-laptop", flowName: "one-step", entrypoint: "tests/integration/runners/fixtures/sideEffects.ts:oneStep", workPool: "laptop" });
    await plane.client.deployments.create({ name: "backfill", flowName: "one-step", entrypoint: "tests/integration/runners/fixtures/sideEffects.ts:oneStep", workPool: "laptop", workQueue: "backfill" });
    const ids = await Promise.all([1, 2, 3].map(async () => (await plane.client.deployments.run("on-laptop", { parameters: { dir: plane.effects } })).id));
    const other = (await plane.client.deployments.run("backfill", { parameters: { dir: plane.effects } })).id;

    const started = worker(["--pool", "laptop", "--queue", "default", "--runners", "2", "--heartbeat", "1"]);
    const states = await plane.waitForRuns(ids, 60_000);
    started.child.kill("SIGINT");

    expect(await started.exited).toBe(0);
    expect([...states.values()]).toEqual(["COMPLETED", "COMPLETED", "COMPLETED"]);
    for (const id of ids) expect(started.output()).toContain(`${id}  Completed`);
    expect(started.output()).toMatch(/^Worker \S+ on work pool "laptop" \(queue default\) with 2 runners; API http/);
    expect(started.output()).toContain("Stopping: no new runs");
    // The other queue's run was left for another worker.
    expect((await plane.client.flowRuns.get(other)).state.type).toBe("SCHEDULED");
  });

  it("applies its pool's job settings: the environment to its runners, the timeout to each run (FAILED, TimedOut)", async () => {
    await plane.client.workPools.create({ name: "strict", type: "local", jobSettings: { timeout: 2, environment: { POOL_NOTE: "set by the pool" } } });
    const entrypoint = "tests/integration/runners/fixtures/sideEffects.ts";
    await plane.client.deployments.create({ name: "note", flowName: "pool-note", entrypoint: `${entrypoint}:poolNote`, workPool: "strict" });
    await plane.client.deployments.create({ name: "forever", flowName: "until-cancelled", entrypoint: `${entrypoint}:untilCancelled`, workPool: "strict" });
    const note = (await plane.client.deployments.run("note", { parameters: { dir: plane.effects } })).id;
    const forever = (await plane.client.deployments.run("forever", { parameters: { dir: plane.effects } })).id;

    const started = worker(["--pool", "strict", "--runners", "2", "--heartbeat", "1"]);
    await plane.waitForRuns([note, forever], 60_000);
    started.child.kill("SIGINT");
    expect(await started.exited).toBe(0);

    expect(await plane.client.flowRuns.get(note)).toMatchObject({ state: { type: "COMPLETED" }, result: "set by the pool" });
    expect((await plane.client.flowRuns.get(forever)).state).toMatchObject({ type: "FAILED", name: "TimedOut", message: "the run exceeded its work pool's timeout of 2s" });
  });

  it("exits 2 with one line for a pool that does not exist or is not local, or a bad --runners", async () => {
    const unknown = worker(["--pool", "nope"]);
    expect(await unknown.exited).toBe(2);
    expect(unknown.output()).toBe('error: work pool "nope" does not exist (create it with `aloft pools create nope --type local`)\n');

    await plane.client.workPools.create({ name: "in-lambda", type: "lambda" });
    const remote = worker(["--pool", "in-lambda"]);
    expect(await remote.exited).toBe(2);
    expect(remote.output()).toBe('error: work pool "in-lambda" is a lambda pool: the control plane runs its runs; `aloft worker` serves local pools\n');

    const bad = worker(["--pool", "local", "--runners", "0"]);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toBe('error: --runners must be a whole number from 1 to 256, got "0"\n');
  });
});
