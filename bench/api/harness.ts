import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensurePrefectEnv } from "../engine/prefectEnv.js";
import { LatencyRecorder, percentile, runWorkers } from "./load.js";
import { startAloftServer, startPrefectServer, type ServerUnderTest, type System } from "./servers.js";
import { renderApiTable } from "./table.js";

export type { System } from "./servers.js";

/** Concurrent clients, each with its own request in flight at a time. */
export const CONCURRENCY = 16;

/** The workload at full size (scale 1). */
export const FULL_SIZE = {
  /** Phase 1: flow runs created. */
  flowRuns: 5_000,
  /** Phase 2: task runs, each proposed RUNNING then COMPLETED (two transitions each). */
  taskRuns: 10_000,
  /** Task runs per flow run in phase 2 (the first taskRuns / 20 flow runs of phase 1 hold them). */
  taskRunsPerFlowRun: 20,
  /** Warm-up before anything is timed: flow runs created, then task runs created and taken through both transitions. */
  warmupFlowRuns: 100,
  warmupTaskRuns: 100,
} as const;

/** The phases reported, in order. */
export type PhaseId = "flowRuns" | "taskRunSetup" | "transitions";

/** The figures of one phase on one system. */
export interface PhaseResult {
  phase: PhaseId;
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Requests whose answer was not the expected one (wrong HTTP status, or not ACCEPT); also counts requests never sent because the one they depended on failed. */
  errors: number;
  firstErrors: string[];
  /** Answers retried by the client (Prefect's client policy: 429, 502, 503), by status; their waits are part of the request's latency. */
  retried: Record<string, number>;
  /** CPU seconds of the server's process tree during the phase. */
  serverCpuSeconds: number;
  /** CPU seconds of the benchmark's own process (the 16 clients) during the phase. */
  clientCpuSeconds: number;
}

/** One system's run. */
export interface SystemResult {
  system: System;
  phases: Record<PhaseId, PhaseResult>;
  /** Peak RSS of the server's process tree over the whole run (warm-up included), sampled every 100 ms. */
  peakRssKib: number;
  /** Seconds from spawning the server to its health check answering. */
  startSeconds: number;
  /** Requests sent before timing (warm-up and untimed set-up), and how many of them failed. */
  untimedRequests: number;
  untimedErrors: number;
}

/** Options of {@link runApiBenchmark}. */
export interface ApiBenchmarkOptions {
  /** Run one system only. */
  only?: System;
  /** Multiplies every count (at least 1 each); 1 for the recorded run. */
  scale?: number;
  /** Runs the Aloft server under `node --cpu-prof`, writing its profile to this directory when it stops. */
  cpuProfileDir?: string;
  /** Progress lines (default: stderr). */
  say?: (line: string) => void;
}

/** What {@link runApiBenchmark} measured, and the table it renders to. */
export interface ApiBenchmarkReport {
  results: Partial<Record<System, SystemResult>>;
  table: string;
  prefectVersion: string | undefined;
  /** True when some request on some system did not get the expected answer. */
  hasErrors: boolean;
}

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Runs the API workload against each system in turn, each on a freshly started server: warm-up,
 * then phase 1 (create flow runs), the untimed-for-the-ratio set-up of phase 2 (start flow runs, create
 * task runs; its figures are reported), and phase 2 (RUNNING then COMPLETED for every task run), all
 * with {@link CONCURRENCY} concurrent clients.
 *
 * @example
 * ```ts
 * const { table } = await runApiBenchmark({ only: "aloft", scale: 0.01 });
 * console.log(table);
 * ```
 */
export async function runApiBenchmark(options: ApiBenchmarkOptions = {}): Promise<ApiBenchmarkReport> {
  const scale = options.scale ?? 1;
  if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`scale must be a number > 0 (got ${String(options.scale)})`);
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const systems: System[] = options.only ? [options.only] : ["aloft", "prefect"];
  const serverMain = join(repoRoot, "dist", "lambdas", "local", "main.js");
  if (systems.includes("aloft") && !existsSync(serverMain)) throw new Error(`${serverMain} is missing: run \`npm run build\` first (npm run bench:api does)`);
  const prefect = systems.includes("prefect") ? ensurePrefectEnv(repoRoot, say) : undefined;

  const results: Partial<Record<System, SystemResult>> = {};
  for (const system of systems) {
    say(`${system}: starting the server…`);
    const started = performance.now();
    const server = system === "aloft" ? await startAloftServer(repoRoot, options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}) : await startPrefectServer(prefect!.python);
    const startSeconds = (performance.now() - started) / 1000;
    try {
      results[system] = await runWorkload(server, scale, startSeconds, say);
    } finally {
      say(`${system}: stopping the server…`);
      await server.stop();
    }
  }
  const hasErrors = Object.values(results).some((result) => result.untimedErrors > 0 || Object.values(result.phases).some((phase) => phase.errors > 0));
  return { results, table: renderApiTable(results), prefectVersion: prefect?.version, hasErrors };
}

function scaled(count: number, scale: number): number {
  return Math.max(1, Math.round(count * scale));
}

async function runWorkload(server: ServerUnderTest, scale: number, startSeconds: number, say: (line: string) => void): Promise<SystemResult> {
  const { client, system } = server;
  const untimed = new LatencyRecorder();
  await client.prepare();

  say(`${system}: warm-up…`);
  const warmFlowRuns: (string | undefined)[] = [];
  await runWorkers(scaled(FULL_SIZE.warmupFlowRuns, scale), CONCURRENCY, async (index) => {
    warmFlowRuns[index] = (await untimed.time(() => client.createFlowRun("warmup")))?.value;
  });
  const warmRun = warmFlowRuns.find((id) => id !== undefined);
  if (warmRun === undefined) throw new Error(`${system}: every warm-up flow-run creation failed: ${untimed.firstErrors.join("; ")}`);
  await untimed.time(() => client.startFlowRun(warmRun));
  await runWorkers(scaled(FULL_SIZE.warmupTaskRuns, scale), CONCURRENCY, async (index) => {
    const id = (await untimed.time(() => client.createTaskRun(warmRun, index)))?.value;
    if (id === undefined) return;
    if ((await untimed.time(() => client.setTaskRunState(id, "RUNNING"))) === undefined) return;
    await untimed.time(() => client.setTaskRunState(id, "COMPLETED"));
  });

  const flowRunCount = scaled(FULL_SIZE.flowRuns, scale);
  say(`${system}: phase 1, ${flowRunCount} flow-run creations…`);
  const flowRunIds: (string | undefined)[] = new Array<string | undefined>(flowRunCount);
  const flowRuns = await measure(server, flowRunCount, "flowRuns", async (recorder, index) => {
    flowRunIds[index] = (await recorder.time(() => client.createFlowRun("bench")))?.value;
  });
  say(`${system}: ${summary(flowRuns)}`);

  // Phase 2's set-up: the flow runs holding the task runs enter RUNNING (Prefect refuses to start a
  // task run of a flow run that is not running), then the task runs are created.
  const taskRunCount = scaled(FULL_SIZE.taskRuns, scale);
  const parents = flowRunIds.filter((id): id is string => id !== undefined).slice(0, Math.ceil(taskRunCount / FULL_SIZE.taskRunsPerFlowRun));
  if (parents.length === 0) throw new Error(`${system}: no flow run was created in phase 1, so phase 2 cannot run: ${flowRuns.firstErrors.join("; ")}`);
  await runWorkers(parents.length, CONCURRENCY, async (index) => {
    await untimed.time(() => client.startFlowRun(parents[index]!));
  });
  say(`${system}: phase 2 set-up, ${taskRunCount} task-run creations…`);
  const taskRunIds: (string | undefined)[] = new Array<string | undefined>(taskRunCount);
  const taskRunSetup = await measure(server, taskRunCount, "taskRunSetup", async (recorder, index) => {
    taskRunIds[index] = (await recorder.time(() => client.createTaskRun(parents[index % parents.length]!, index)))?.value;
  });
  say(`${system}: ${summary(taskRunSetup)}`);

  say(`${system}: phase 2, ${taskRunCount * 2} task-run state transitions…`);
  let skipped = 0;
  const transitions = await measure(server, taskRunCount, "transitions", async (recorder, index) => {
    const id = taskRunIds[index];
    if (id === undefined) {
      skipped += 2;
      return;
    }
    if ((await recorder.time(() => client.setTaskRunState(id, "RUNNING"))) === undefined) {
      skipped += 1;
      return;
    }
    await recorder.time(() => client.setTaskRunState(id, "COMPLETED"));
  });
  transitions.errors += skipped;
  say(`${system}: ${summary(transitions)}`);

  return {
    system,
    phases: { flowRuns, taskRunSetup, transitions },
    peakRssKib: server.sampler.stop(),
    startSeconds,
    untimedRequests: untimed.latenciesMs.length,
    untimedErrors: untimed.errors,
  };
}

async function measure(server: ServerUnderTest, jobs: number, phase: PhaseId, job: (recorder: LatencyRecorder, index: number) => Promise<void>): Promise<PhaseResult> {
  const recorder = new LatencyRecorder();
  const serverCpuBefore = server.cpuSeconds();
  const clientCpuBefore = process.cpuUsage();
  const retriedBefore = new Map(server.client.http.retried);
  const seconds = await runWorkers(jobs, CONCURRENCY, (index) => job(recorder, index));
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const requests = recorder.latenciesMs.length;
  return {
    phase,
    requests,
    seconds,
    requestsPerSecond: requests / seconds,
    p50Ms: percentile(recorder.latenciesMs, 0.5),
    p99Ms: percentile(recorder.latenciesMs, 0.99),
    maxMs: percentile(recorder.latenciesMs, 1),
    errors: recorder.errors,
    firstErrors: recorder.firstErrors,
    retried: Object.fromEntries([...server.client.http.retried].map(([status, count]) => [String(status), count - (retriedBefore.get(status) ?? 0)]).filter(([, count]) => count !== 0)),
    serverCpuSeconds: server.cpuSeconds() - serverCpuBefore,
    clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6,
  };
}

function summary(result: PhaseResult): string {
  const retried = Object.entries(result.retried).map(([status, count]) => `${count} × ${status}`).join(", ");
  const errors = (retried ? `, retried ${retried}` : "") + (result.errors > 0 ? `, ${result.errors} ERRORS (first: ${result.firstErrors[0] ?? "requests not sent"})` : "");
  return `${result.phase}: ${result.requests} requests in ${result.seconds.toFixed(1)} s = ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, server CPU ${result.serverCpuSeconds.toFixed(1)} s${errors}`;
}
