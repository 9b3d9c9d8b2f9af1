import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AloftClient } from "../../sdk/api/client.js";
import { percentile, runWorkers } from "../api/load.js";
import { PeakRssSampler, waitForExit } from "../engine/processTree.js";

/** Options of {@link runRunsBenchmark}. */
export interface RunsBenchmarkOptions {
  /** Flow runs pushed through the pool at once (the burst). Default 1,000. */
  runs?: number;
  /** Runner processes of the local pool. Default 4. */
  runners?: number;
  /** Runs submitted one by one, below capacity, for the latency without a backlog. Default runs / 10. */
  pacedRuns?: number;
  /** Progress lines (stderr by default). */
  say?: (line: string) => void;
}

/** The figures of one phase. */
export interface PhaseResult {
  runs: number;
  completed: number;
  /** Completed runs per second, from the first run's scheduled time to the last run's end. */
  runsPerSecond: number;
  /** Schedule-to-start latency: the run's start time minus its scheduled time. */
  p50StartMs: number;
  p99StartMs: number;
}

/** What the benchmark measured. */
export interface RunsBenchmarkResult {
  runners: number;
  burst: PhaseResult;
  paced: PhaseResult;
  /** Peak resident memory of the server and its runner processes together. */
  peakRssMib: number;
  table: string;
}

/** The benchmark's flow: one task, so a run is a claim, RUNNING, one journaled task call and COMPLETED. */
const FLOWS = fileURLToPath(new URL("./flows.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const START_TIMEOUT_MS = 30_000;
const DRAIN_TIMEOUT_MS = 600_000;

/**
 * Pushes flow runs through the local pool of `aloft server start --runners N` (the build in dist/),
 * as a user's deployment runs go: a burst of `runs` deployment runs created 16 at a time, then
 * `pacedRuns` runs submitted one at a time at half the burst's throughput. Reports runs/s, p50/p99
 * schedule-to-start latency of each phase, and the peak RSS of the server and its runners.
 *
 * @example
 * ```ts
 * const { table } = await runRunsBenchmark({ runs: 1_000, runners: 4 });
 * console.log(table);
 * ```
 */
export async function runRunsBenchmark(options: RunsBenchmarkOptions = {}): Promise<RunsBenchmarkResult> {
  const runs = options.runs ?? 1_000;
  const runners = options.runners ?? 4;
  const pacedRuns = options.pacedRuns ?? Math.max(1, Math.round(runs / 10));
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const server = await startServer(runners);
  try {
    const { client } = server;
    await client.deployments.create({ name: "bench-runs", flowName: "bench-one-task", entrypoint: `${FLOWS}:oneTask`, workPool: "local" });
    // One warm-up run per runner, so the burst measures warm runners (each compiles the flow file once).
    await drainRuns(client, await submit(client, runners, runners));

    say(`runs: burst of ${runs} runs through ${runners} runners`);
    const burstIds = await submit(client, runs, 16);
    const burst = await drainRuns(client, burstIds);
    say(`runs: burst ${burst.runsPerSecond.toFixed(1)} runs/s; paced ${pacedRuns} runs`);

    const gapMs = 1000 / Math.max(0.5, burst.runsPerSecond / 2);
    const pacedIds: string[] = [];
    for (let i = 0; i < pacedRuns; i++) {
      pacedIds.push((await client.deployments.run("bench-runs", { parameters: { n: i } })).id);
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    const paced = await drainRuns(client, pacedIds);
    server.sampler.sample();
    const peakRssMib = server.sampler.stop() / 1024;
    return { runners, burst, paced, peakRssMib, table: renderRunsTable(runners, burst, paced, peakRssMib) };
  } finally {
    await server.stop();
  }
}

async function submit(client: AloftClient, count: number, concurrency: number): Promise<string[]> {
  const ids: string[] = new Array(count);
  await runWorkers(count, concurrency, async (index) => {
    ids[index] = (await client.deployments.run("bench-runs", { parameters: { n: index } })).id;
  });
  return ids;
}

/**
 * Waits for every run to end (reading each run until it is terminal), then reads their times.
 *
 * @example
 * ```ts
 * const { completed, runsPerSecond } = await drainRuns(client, ids);
 * ```
 */
export async function drainRuns(client: AloftClient, ids: readonly string[]): Promise<PhaseResult> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  const pending = new Set(ids);
  const done = new Map<string, { state: string; scheduledTime?: string; startTime?: string; endTime?: string }>();
  while (pending.size > 0) {
    if (Date.now() > deadline) throw new Error(`${pending.size} of ${ids.length} runs did not end within ${DRAIN_TIMEOUT_MS / 1000} s`);
    for (const id of [...pending].slice(0, 200)) {
      const run = await client.flowRuns.get(id);
      if (!TERMINAL.has(run.state.type)) break;
      pending.delete(id);
      done.set(id, { state: run.state.type, ...pick(run) });
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const records = [...done.values()];
  const completed = records.filter((run) => run.state === "COMPLETED");
  const first = Math.min(...records.map((run) => Date.parse(run.scheduledTime ?? "")).filter(Number.isFinite));
  const last = Math.max(...records.map((run) => Date.parse(run.endTime ?? "")).filter(Number.isFinite));
  const latencies = completed.map((run) => Date.parse(run.startTime!) - Date.parse(run.scheduledTime!)).filter(Number.isFinite);
  return {
    runs: ids.length,
    completed: completed.length,
    runsPerSecond: completed.length / Math.max(0.001, (last - first) / 1000),
    p50StartMs: percentile(latencies, 0.5),
    p99StartMs: percentile(latencies, 0.99),
  };
}

function pick(run: { scheduledTime?: string | undefined; startTime?: string | undefined; endTime?: string | undefined }) {
  return {
    ...(run.scheduledTime === undefined ? {} : { scheduledTime: run.scheduledTime }),
    ...(run.startTime === undefined ? {} : { startTime: run.startTime }),
    ...(run.endTime === undefined ? {} : { endTime: run.endTime }),
  };
}

const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "CRASHED"]);

/**
 * The benchmark's Markdown table.
 *
 * @example
 * ```ts
 * renderRunsTable(4, burst, paced, 310.5);
 * ```
 */
export function renderRunsTable(runners: number, burst: PhaseResult, paced: PhaseResult, peakRssMib: number): string {
  const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value).toLocaleString("en-US")} ms` : "—");
  const row = (name: string, phase: PhaseResult) =>
    `| ${name} | ${phase.completed.toLocaleString("en-US")} / ${phase.runs.toLocaleString("en-US")} | ${phase.runsPerSecond.toFixed(1)} | ${ms(phase.p50StartMs)} | ${ms(phase.p99StartMs)} |`;
  return [
    `| phase (${runners} runners) | completed | runs/s | p50 schedule→start | p99 schedule→start |`,
    "|---|--:|--:|--:|--:|",
    row("burst (all submitted at once)", burst),
    row("paced (half the burst rate)", paced),
    "",
    `Peak RSS, server + runners: ${Math.round(peakRssMib)} MiB`,
  ].join("\n");
}

interface BenchServer {
  client: AloftClient;
  sampler: PeakRssSampler;
  stop(): Promise<void>;
}

/** `aloft server start --runners N` from the build, on a free port and a fresh data dir, in its own process group. */
async function startServer(runners: number): Promise<BenchServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "aloft-bench-runs-"));
  const port = await freePort();
  const child = spawn(process.execPath, [join(REPO, "dist", "lambdas", "local", "main.js"), "server", "start", "--port", String(port), "--data", dataDir, "--runners", String(runners)], {
    cwd: REPO,
    env: { ...process.env, ALOFT_LOG_LEVEL: "silent" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output = (output + chunk).slice(-4000)));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output = (output + chunk).slice(-4000)));
  const sampler = new PeakRssSampler(child.pid!, 100);
  const group = child.pid!;
  const kill = () => {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.once("exit", kill);
  const stop = async () => {
    sampler.stop();
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(-group, "SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }
    await waitForExit(sampler.seenPids, 15_000);
    kill();
    process.off("exit", kill);
    await rm(dataDir, { recursive: true, force: true });
  };
  const apiUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const token = await readFile(join(dataDir, "token"), "utf8").catch(() => "");
    if (token && (await fetch(`${apiUrl}/health`).then((r) => r.ok, () => false))) {
      return { client: new AloftClient({ apiUrl, token: token.trim() }), sampler, stop };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the Aloft server did not start; its output ended:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port from the OS"))));
    });
  });
}
