import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
  process.env.ALOFT_LOG_LEVEL = "silent";
});

import { makeS3Client } from "../../../lambdas/adapters/s3Client.js";
import { handler, main, runnerFromEnvironment } from "../../../lambdas/handlers/runner.js";
import { startWorkerPlane, type WorkerPlane } from "./workerPlane.js";

const SDK = fileURLToPath(new URL("../../../sdk/index.ts", import.meta.url));
const PREFIX = "bundles/";

/**
 * A project's flows: `arithmetic` doubles x then adds 1, each task appending its name to the
 * `trace` file (so a test can count real executions), and fails after its tasks while the `gate`
 * file is missing (so a retry has completed calls to replay).
 */
const FLOWS = `
import { appendFileSync, existsSync } from "node:fs";
import { flow, task } from ${JSON.stringify(SDK)};

const double = task({ name: "double", run: async ({ n, trace }) => { appendFileSync(trace, "double\\n"); return n * 2; } });
const addOne = task({ name: "add-one", run: async ({ n, trace }) => { appendFileSync(trace, "add-one\\n"); return n + 1; } });

export const arithmetic = flow({
  name: "arithmetic",
  run: async ({ x, trace, gate }) => {
    const doubled = await double({ n: x, trace });
    const result = await addOne({ n: doubled, trace });
    if (gate && !existsSync(gate)) throw new Error("the gate is closed");
    return { result };
  },
});
`;

let plane: WorkerPlane;
let scratch: string;
let bundleId: string;
let bundleImports: string[];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "aloft-runner-test-"));
  plane = await startWorkerPlane();
  for (const [name, value] of Object.entries({ ...plane.env, ALOFT_BUNDLE_PREFIX: PREFIX, TMPDIR: scratch })) vi.stubEnv(name, value);
  const source = join(scratch, "flows.ts");
  await writeFile(source, FLOWS);
  const outfile = join(scratch, "out", "index.mjs");
  const result = await build({ entryPoints: [source], outfile, bundle: true, platform: "node", format: "esm", target: "node20", minify: true, metafile: true, logLevel: "silent" });
  bundleImports = Object.values(result.metafile.outputs).flatMap((output) => output.imports.map((entry) => entry.path));
  bundleId = `arithmetic-${randomUUID()}`;
  const s3 = makeS3Client({ endpoint: plane.motoEndpoint });
  await s3.send(new PutObjectCommand({ Bucket: plane.bucket, Key: `${PREFIX}${bundleId}/index.mjs`, Body: await readFile(outfile) }));
  s3.destroy();
  await plane.services.deployments.create({ name: "arithmetic", flowName: "arithmetic", bundleId });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await plane?.dispose();
  await rm(scratch, { recursive: true, force: true });
});

/** A deployment run, claimed as the dispatcher claims it: the event the runner gets. */
async function claimedRun(parameters: Record<string, unknown>, deployment = "arithmetic"): Promise<{ runId: string; runnerToken: string }> {
  const { run } = await plane.services.deployments.run(deployment, { parameters });
  return claim(run.id);
}

async function claim(runId: string): Promise<{ runId: string; runnerToken: string }> {
  const runnerToken = randomUUID();
  await plane.services.flowRuns.proposeState(runId, { state: { type: "PENDING" }, transitionId: `dispatch:${randomUUID()}`, controlPlane: true, claimToken: runnerToken });
  return { runId, runnerToken };
}

async function traceOf(path: string): Promise<string[]> {
  return (await readFile(path, "utf8").catch(() => "")).split("\n").filter((line) => line !== "");
}

describe("runner function", () => {
  it("is given a bundle that imports nothing but Node built-ins (the SDK is bundled in)", () => {
    const builtins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);
    expect(bundleImports.filter((path) => !builtins.has(path))).toEqual([]);
  });

  it("runs a claimed run from its deployment's bundle to COMPLETED, recording its task runs and journal", async () => {
    const trace = join(scratch, `trace-${randomUUID()}`);
    const event = await claimedRun({ x: 20, trace });
    const { runId } = event;

    const outcome = await handler(event, { awsRequestId: "req-1" });

    expect(outcome).toMatchObject({ action: "ran", state: { type: "COMPLETED" } });
    const run = await plane.services.flowRuns.get(runId);
    expect(run).toMatchObject({ state: { type: "COMPLETED" }, result: { result: 41 }, runCount: 1 });
    const taskRuns = await plane.services.taskRuns.listForFlowRun(runId, { limit: 10 });
    expect(taskRuns.items.map((taskRun) => [taskRun.taskName, taskRun.state.type]).sort()).toEqual([
      ["add-one", "COMPLETED"],
      ["double", "COMPLETED"],
    ]);
    const journal = (await plane.services.telemetry.listJournal(runId, { limit: 10 })).items;
    expect(journal.map((entry) => entry.value).sort()).toEqual([40, 41]);
    expect(await traceOf(trace)).toEqual(["double", "add-one"]);
    expect((await plane.store.getFlowRun(runId))?.runner).toEqual({ kind: "lambda", requestId: "req-1" });
  });

  it("does nothing when invoked again for a run that already completed", async () => {
    const trace = join(scratch, `trace-${randomUUID()}`);
    const event = await claimedRun({ x: 1, trace });
    const { runId } = event;
    await handler(event);
    const history = await plane.services.flowRuns.history(runId);

    const again = await handler(event);

    expect(again).toEqual({ action: "skipped", reason: `flow run ${runId} is COMPLETED; only a PENDING (claimed) run is executed` });
    expect(await traceOf(trace)).toEqual(["double", "add-one"]);
    expect(await plane.services.flowRuns.history(runId)).toEqual(history);
    expect((await plane.services.taskRuns.listForFlowRun(runId, { limit: 10 })).items).toHaveLength(2);
  });

  it("replays a retried run's completed calls from its journal instead of running them again", async () => {
    const trace = join(scratch, `trace-${randomUUID()}`);
    const gate = join(scratch, `gate-${randomUUID()}`);
    const { runId, runnerToken } = await claimedRun({ x: 5, trace, gate });
    const failed = await handler({ runId, runnerToken });
    expect(failed).toMatchObject({ action: "ran", state: { type: "FAILED" } });
    await writeFile(gate, "open");
    await plane.services.flowRuns.retry(runId);

    const retried = await handler(await claim(runId));

    expect(retried).toMatchObject({ action: "ran", state: { type: "COMPLETED" } });
    expect(await plane.services.flowRuns.get(runId)).toMatchObject({ state: { type: "COMPLETED" }, result: { result: 11 } });
    expect(await traceOf(trace)).toEqual(["double", "add-one"]);
  });

  it("leaves a run that was not claimed alone", async () => {
    const { run } = await plane.services.deployments.run("arithmetic", { parameters: { x: 1 } });

    const outcome = await handler({ runId: run.id, runnerToken: "never-claimed" });

    expect(outcome).toEqual({ action: "skipped", reason: `flow run ${run.id} is SCHEDULED; only a PENDING (claimed) run is executed` });
    expect((await plane.services.flowRuns.get(run.id)).state.type).toBe("SCHEDULED");
  });

  it("fails the run when its bundle exports no flow of the run's name", async () => {
    await plane.services.deployments.create({ name: "misnamed", flowName: "geometry", bundleId });
    const event = await claimedRun({}, "misnamed");
    const { runId } = event;

    const outcome = await handler(event);

    const reason = `bundle ${bundleId} exports no flow named "geometry" (its flows: arithmetic)`;
    expect(outcome).toEqual({ action: "failed", reason });
    expect(await plane.services.flowRuns.get(runId)).toMatchObject({ state: { type: "FAILED" }, error: { name: "FlowNotFound", message: reason } });
  });

  it("throws, leaving the run PENDING for Lambda's retry, when the bundle cannot be downloaded", async () => {
    await plane.services.deployments.create({ name: "unbundled", flowName: "arithmetic", bundleId: "never-uploaded" });
    const event = await claimedRun({}, "unbundled");
    const { runId } = event;

    await expect(handler(event)).rejects.toThrow();
    expect((await plane.services.flowRuns.get(runId)).state.type).toBe("PENDING");
  });

  it("runs the run named by ALOFT_RUN_ID as the Fargate entry point", async () => {
    const trace = join(scratch, `trace-${randomUUID()}`);
    const { runId, runnerToken } = await claimedRun({ x: 2, trace });

    const code = await main({ ...process.env, ALOFT_RUN_ID: runId, ALOFT_RUNNER_TOKEN: runnerToken });

    expect(code).toBe(0);
    expect((await plane.services.flowRuns.get(runId)).result).toEqual({ result: 5 });
    expect(await main({ ...process.env, ALOFT_RUN_ID: "", ALOFT_RUNNER_TOKEN: runnerToken })).toBe(1);
    expect(await main({ ...process.env, ALOFT_RUN_ID: runId, ALOFT_RUNNER_TOKEN: "" })).toBe(1);
  });

  it("stops without writing when another runner's claim took the run over", async () => {
    const trace = join(scratch, `trace-${randomUUID()}`);
    const first = await claimedRun({ x: 3, trace });
    // The run was crashed and re-claimed before this (late) invocation started.
    await plane.services.flowRuns.proposeState(first.runId, { state: { type: "SCHEDULED", name: "AwaitingRetry" }, controlPlane: true });
    const second = await claim(first.runId);

    const late = await handler(first);
    const current = await handler(second);

    expect(late.action).toBe("stopped");
    expect(current).toMatchObject({ action: "ran", state: { type: "COMPLETED" } });
    expect(await traceOf(trace)).toEqual(["double", "add-one"]);
  });

  it("runs one task of a compiled flow from the run's bundle when started with ALOFT_TASK_INVOCATION, storing its result for the state machine", async () => {
    const trace = join(scratch, `trace-${randomUUID()}`);
    const { run } = await plane.services.deployments.run("arithmetic", { parameters: { x: 0 } });
    const invocation = { kind: "aloft.task", flowName: "arithmetic", task: "double", args: { "0": { n: 21, trace } }, flowRunId: run.id };

    const code = await main({ ...process.env, ALOFT_TASK_INVOCATION: JSON.stringify(invocation), ALOFT_TASK_ATTEMPT: "0" });

    expect(code).toBe(0);
    expect(await traceOf(trace)).toEqual(["double"]);
    const s3 = makeS3Client({ endpoint: plane.motoEndpoint });
    const stored = await s3.send(new GetObjectCommand({ Bucket: plane.bucket, Key: `payloads/runs/${run.id}/fargate/double/-.json` }));
    expect(JSON.parse(await stored.Body!.transformToString())).toBe(42);
    s3.destroy();
    expect(await main({ ...process.env, ALOFT_TASK_INVOCATION: JSON.stringify({ ...invocation, flowRunId: "no-such-run" }) })).toBe(1);
  });

  it("refuses an event without a claim token, and an environment without the bundle prefix", async () => {
    await expect(handler({ runId: "x" })).rejects.toThrow('invalid runner event: expected {"runId": "<id>", "runnerToken": "<claim token>"}, got {"runId":"x"}');
    const { ALOFT_BUNDLE_PREFIX: _prefix, ...rest } = { ...plane.env, ALOFT_BUNDLE_PREFIX: PREFIX };
    expect(() => runnerFromEnvironment(rest)).toThrow('ALOFT_BUNDLE_PREFIX is not set: this function needs the key prefix of flow bundles (e.g. "bundles/")');
  });
});
