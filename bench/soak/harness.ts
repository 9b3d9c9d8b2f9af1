import { existsSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { AloftClient } from "../../sdk/api/client.js";
import { LatencyRecorder } from "../api/load.js";
import { startAloftServer } from "../api/servers.js";
import { drainRuns } from "../runs/harness.js";
import { RssSeries, type RssSample } from "./rssSeries.js";
import { renderSoakTable } from "./table.js";
import { SOAK_DEPLOYMENT, SoakWorkload, type RequestKindFigures } from "./workload.js";

/** The soak at full size. */
export const SOAK_FULL_SIZE = { requests: 50_000, runs: 2_000 } as const;
/** The target: after the warm-up, the server's RSS stays within this fraction above its warm-up value. */
export const GROWTH_TARGET = 0.2;

/** Options of {@link runSoakBenchmark}. */
export interface SoakOptions {
  /** Mixed API requests the clients send. Default 50,000. */
  requests?: number;
  /** Deployment runs through the local pool, submitted as the requests progress. Default 2,000. */
  runs?: number;
  /** Concurrent API clients, each with one operation in flight. Default 16. */
  clients?: number;
  /** The server's `--runners`. Default 2 (the server's own default). */
  runners?: number;
  /** The first part of the work that is warm-up (not held to the target). Default 0.1. */
  warmupFraction?: number;
  /** Seconds the server is left idle after the last run ended, before the final sample. Default 10. */
  settleSeconds?: number;
  /** How often the server's RSS is read. Default 1,000 ms. */
  sampleIntervalMs?: number;
  /** Progress lines (stderr by default). */
  say?: (line: string) => void;
}

/** The server's RSS at one point of the soak. */
export interface SoakCheckpoint {
  label: string;
  /** Mixed API requests sent by then. */
  requests: number;
  /** Deployment runs submitted by then (the runners' warm-up runs not counted). */
  runsSubmitted: number;
  atSeconds: number;
  rssMib: number;
  anonMib: number;
  fileMib: number;
}

/** What the soak measured. */
export interface SoakResult {
  requests: number;
  /** Requests (mixed ones and run submissions) that did not get the expected answer. */
  errors: number;
  firstErrors: string[];
  runs: { submitted: number; completed: number; runsPerSecond: number };
  /** Seconds from the warm-up runs to the final sample. */
  seconds: number;
  /** Mixed requests per second while they were sent. */
  requestsPerSecond: number;
  checkpoints: SoakCheckpoint[];
  /** Median of the samples of the warm-up's last 5 seconds. */
  warmupRssMib: number;
  /** The same for the anonymous part of the RSS, and its final value. */
  anonymous: { warmupMib: number; finalMib: number; finalGrowthPercent: number };
  /** The samples after the warm-up (every second and at each checkpoint), to the end. */
  steadyState: { samples: number; minMib: number; medianMib: number; maxMib: number };
  finalRssMib: number;
  /** (max after warm-up − warm-up) / warm-up, in %. */
  maxGrowthPercent: number;
  /** (final − warm-up) / warm-up, in %. */
  finalGrowthPercent: number;
  /** Max growth within {@link GROWTH_TARGET}. */
  pass: boolean;
  kinds: RequestKindFigures[];
  samples: RssSample[];
  table: string;
}

const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** bench/runs' flow: one journaled task call per run. */
const FLOWS = fileURLToPath(new URL("../runs/flows.ts", import.meta.url));
const WARMUP_WINDOW_SECONDS = 5;
/** Run submissions in flight at once, so they keep pace with the clients' requests. */
const RUN_SUBMITTERS = 4;

/**
 * Soaks the local server: starts `aloft server start` from the build (its own data dir, a free port),
 * sends `requests` mixed API requests from `clients` concurrent clients ({@link SoakWorkload}) while
 * `runs` deployment runs go through the server's own local pool (submitted in step with the
 * requests), waits for every run to end and for the server to sit idle, and reads the server
 * process's RSS every second throughout. Reports the RSS at each tenth of the requests, the
 * warm-up value, the steady-state samples, the max and final, and the growth after warm-up against
 * the {@link GROWTH_TARGET}. It reads runs one by one to see them end, never through a list, so
 * how lists are served does not change what it waits for.
 *
 * @example
 * ```ts
 * const { table, pass } = await runSoakBenchmark({ requests: 5_000, runs: 200 });
 * console.log(table);
 * ```
 */
export async function runSoakBenchmark(options: SoakOptions = {}): Promise<SoakResult> {
  const requests = options.requests ?? SOAK_FULL_SIZE.requests;
  const runs = options.runs ?? SOAK_FULL_SIZE.runs;
  const clients = options.clients ?? 16;
  const runners = options.runners ?? 2;
  const warmupFraction = options.warmupFraction ?? 0.1;
  const settleSeconds = options.settleSeconds ?? 10;
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const problems = [
    ...(["requests", "clients", "runners"] as const).filter((name) => !isWhole({ requests, clients, runners }[name], 1)).map((name) => `${name} must be a whole number ≥ 1`),
    ...(isWhole(runs, 0) ? [] : ["runs must be a whole number ≥ 0"]),
    ...(warmupFraction > 0 && warmupFraction < 1 ? [] : ["warmupFraction must be between 0 and 1"]),
    ...(settleSeconds >= 0 ? [] : ["settleSeconds must be ≥ 0"]),
  ];
  if (problems.length > 0) throw new RangeError(problems.join("; "));
  const serverMain = join(REPO, "dist", "lambdas", "local", "main.js");
  if (!existsSync(serverMain)) throw new Error(`${serverMain} is missing: run \`npm run build\` first (npm run bench:soak does)`);

  say(`soak: starting the server (${runners} runners)…`);
  const server = await startAloftServer(REPO, { runners });
  const series = new RssSeries(server.pid, options.sampleIntervalMs ?? 1_000);
  const checkpoints: SoakCheckpoint[] = [];
  const workload = new SoakWorkload(new AloftClient({ apiUrl: server.baseUrl, token: server.token, retries: 0 }));
  const submissions = new LatencyRecorder();
  const runIds: string[] = [];
  const checkpoint = (label: string) => {
    const { atSeconds, rssMib, anonMib, fileMib } = series.sample();
    checkpoints.push({ label, requests: workload.requests, runsSubmitted: runIds.length, atSeconds, rssMib, anonMib, fileMib });
    say(`soak: ${label}: ${workload.requests} requests, ${runIds.length} runs submitted, server RSS ${rssMib.toFixed(0)} MiB`);
  };
  try {
    checkpoint("server started, idle");
    const client = new AloftClient({ apiUrl: server.baseUrl, token: server.token, retries: 0 });
    await client.deployments.create({ name: SOAK_DEPLOYMENT, flowName: "bench-one-task", entrypoint: `${FLOWS}:oneTask`, workPool: "local" });
    // One run per runner first, so each runner has compiled the flow file before the soak.
    const warmRuns = await Promise.all(Array.from({ length: runners }, (_, n) => client.deployments.run(SOAK_DEPLOYMENT, { parameters: { n } })));
    await drainRuns(client, warmRuns.map((run) => run.id));
    await workload.prepare();
    const started = performance.now();

    // Checkpoints: the warm-up's end and every tenth of the requests.
    const thresholds = [...new Set([Math.round(warmupFraction * requests), ...Array.from({ length: 10 }, (_, k) => Math.round(((k + 1) * requests) / 10))])].sort((a, b) => a - b);
    const warmupThreshold = Math.round(warmupFraction * requests);
    let nextCheckpoint = 0;
    let warmupEndIndex = -1;
    const passCheckpoints = () => {
      while (nextCheckpoint < thresholds.length && workload.requests >= thresholds[nextCheckpoint]!) {
        const threshold = thresholds[nextCheckpoint++]!;
        const percent = `${Math.round((threshold / requests) * 100)} %`;
        if (threshold === warmupThreshold) {
          checkpoint(`warm-up end (${percent})`);
          warmupEndIndex = series.samples.length - 1;
        } else checkpoint(percent);
      }
    };

    let clientsDone = false;
    const apiClients = Promise.all(
      Array.from({ length: clients }, async () => {
        while (workload.requests < requests) {
          await workload.step();
          passCheckpoints();
        }
      }),
    ).finally(() => (clientsDone = true));
    // Runs are submitted in step with the requests (run k once k / runs of them are sent), a few at a time.
    let runsStarted = 0;
    const submitRuns = async () => {
      while (runsStarted < runs) {
        const due = clientsDone ? runs : Math.min(runs, Math.floor((workload.requests / requests) * runs));
        if (runsStarted >= due) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        const n = runsStarted++;
        const run = await submissions.time(() => client.deployments.run(SOAK_DEPLOYMENT, { parameters: { n } }));
        if (run) runIds.push(run.value.id);
        else if (submissions.errors > 10) throw new Error(`run submissions keep failing: ${submissions.firstErrors.join("; ")}`);
      }
    };
    await Promise.all([apiClients, ...Array.from({ length: RUN_SUBMITTERS }, submitRuns)]);
    const sendingSeconds = (performance.now() - started) / 1000;
    passCheckpoints();
    checkpoint("all requests sent");
    say(`soak: waiting for the ${runIds.length} runs to end…`);
    const drained = await drainRuns(client, runIds);
    checkpoint("every run ended");
    await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000));
    checkpoint(`after ${settleSeconds} s idle (final)`);
    const samples = series.stop();

    const warmupEnd = samples[warmupEndIndex] ?? samples[0]!;
    const warmupWindow = samples.slice(0, warmupEndIndex + 1).filter((sample) => sample.atSeconds >= warmupEnd.atSeconds - WARMUP_WINDOW_SECONDS);
    const warmupRssMib = median(warmupWindow.map((sample) => sample.rssMib));
    const warmupAnonMib = median(warmupWindow.map((sample) => sample.anonMib));
    const steady = samples.slice(warmupEndIndex + 1).map((sample) => sample.rssMib);
    const finalRssMib = checkpoints.at(-1)!.rssMib;
    const maxMib = Math.max(...steady);
    const growth = (value: number, from = warmupRssMib) => ((value - from) / from) * 100;
    const finalAnonMib = checkpoints.at(-1)!.anonMib;
    const result: Omit<SoakResult, "table"> = {
      requests: workload.requests,
      errors: workload.errors + submissions.errors,
      firstErrors: [...workload.firstErrors(), ...submissions.firstErrors.map((message) => `run a deployment: ${message}`)].slice(0, 10),
      runs: { submitted: runIds.length, completed: drained.completed, runsPerSecond: drained.runsPerSecond },
      seconds: checkpoints.at(-1)!.atSeconds,
      requestsPerSecond: workload.requests / sendingSeconds,
      checkpoints,
      warmupRssMib,
      anonymous: { warmupMib: warmupAnonMib, finalMib: finalAnonMib, finalGrowthPercent: growth(finalAnonMib, warmupAnonMib) },
      steadyState: { samples: steady.length, minMib: Math.min(...steady), medianMib: median(steady), maxMib },
      finalRssMib,
      maxGrowthPercent: growth(maxMib),
      finalGrowthPercent: growth(finalRssMib),
      pass: growth(maxMib) <= GROWTH_TARGET * 100,
      kinds: workload.figures(),
      samples,
    };
    return { ...result, table: renderSoakTable(result) };
  } finally {
    series.stop();
    say("soak: stopping the server…");
    await server.stop();
  }
}

function isWhole(value: number, min: number): boolean {
  return Number.isInteger(value) && value >= min;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
