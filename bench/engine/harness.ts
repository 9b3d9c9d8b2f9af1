import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensurePrefectEnv } from "./prefectEnv.js";
import { PeakRssSampler, waitForExit } from "./processTree.js";
import { renderTable, type TableRow } from "./table.js";

/** The systems compared. */
export type System = "aloft" | "prefect";

/** A workload: its id, how many tasks it runs at full size, and what it does. */
export interface Workload {
  id: "W1" | "W2" | "W3";
  tasks: number;
  description: string;
}

/** The workloads, at full size (scale 1). Both sides implement each id the same way. */
export const WORKLOADS: readonly Workload[] = [
  { id: "W1", tasks: 10_000, description: "no-op tasks awaited one after another" },
  { id: "W2", tasks: 10_000, description: "no-op tasks via map, concurrency 64" },
  { id: "W3", tasks: 1_000, description: "sequential tasks returning 10,000-element arrays" },
];

/** One system's figures for one workload: the median of several runs, each in a fresh child process. */
export interface WorkloadResult {
  system: System;
  workload: Workload["id"];
  tasks: number;
  /** Each run's throughput: tasks / wall time of the timed flow run, measured inside the child. */
  runs: RunResult[];
  /** The median run's. */
  tasksPerSecond: number;
  /** The highest of the runs' peaks. */
  peakRssKib: number;
}

/** The figures of one child process. */
export interface RunResult {
  /** Wall time of the timed flow run, measured inside the child. */
  seconds: number;
  tasksPerSecond: number;
  /** Peak RSS of the child's process tree: the larger of the sampled tree peak and the child's own high-water mark. */
  peakRssKib: number;
  /** The sampled peak of the child and its descendants (every ~20 ms). */
  sampledTreePeakKib: number;
  /** The child's own high-water mark, as it reports it (getrusage). */
  selfMaxRssKib: number;
  /** Wall time of the whole child process, interpreter start-up and warm-up included. */
  processSeconds: number;
}

/** Options of {@link runEngineBenchmark}. */
export interface EngineBenchmarkOptions {
  /** Run one system only (say, "aloft" to skip Prefect). */
  only?: System;
  /** Multiplies every workload's task count (at least one task each); 1 for the recorded run. */
  scale?: number;
  /** Fresh processes per (system, workload); the table shows the median throughput and the highest peak RSS. Default 3. */
  runs?: number;
  /** Progress lines (default: stderr). */
  say?: (line: string) => void;
}

/** What {@link runEngineBenchmark} measured, and the table it renders to. */
export interface EngineBenchmarkReport {
  rows: TableRow[];
  table: string;
  prefectVersion: string | undefined;
}

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const ALOFT_CHILD = join(repoRoot, "bench", "engine", "aloftWorkload.mjs");
const PREFECT_CHILD = join(repoRoot, "bench", "peers", "prefect", "workloads.py");
const TIME_BUDGET_MS: Record<System, number> = { aloft: 5 * 60_000, prefect: 40 * 60_000 };

/**
 * Runs every workload on each system, each (system, workload) in its own fresh child process, and
 * returns the figures and the rendered table. Rejects on the first run that fails.
 *
 * @example
 * ```ts
 * const { table } = await runEngineBenchmark({ only: "aloft", scale: 0.01 });
 * console.log(table);
 * ```
 */
export async function runEngineBenchmark(options: EngineBenchmarkOptions = {}): Promise<EngineBenchmarkReport> {
  const scale = options.scale ?? 1;
  if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`scale must be a number > 0 (got ${String(options.scale)})`);
  const runs = options.runs ?? 3;
  if (!(Number.isInteger(runs) && runs >= 1)) throw new RangeError(`runs must be a whole number ≥ 1 (got ${String(options.runs)})`);
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const systems: System[] = options.only ? [options.only] : ["aloft", "prefect"];

  if (systems.includes("aloft") && !existsSync(join(repoRoot, "dist", "sdk", "index.js"))) {
    throw new Error(`${join(repoRoot, "dist", "sdk", "index.js")} is missing: run \`npm run build\` first (npm run bench:engine does)`);
  }
  const prefect = systems.includes("prefect") ? ensurePrefectEnv(repoRoot, say) : undefined;

  const rows: TableRow[] = WORKLOADS.map((workload) => ({ workload: workload.id, description: workload.description }));
  // All of one system, then the other, so one system's leftovers never load the other's runs.
  for (const system of systems) {
    const command = system === "aloft" ? { file: process.execPath, args: [ALOFT_CHILD] } : { file: prefect!.python, args: [PREFECT_CHILD] };
    for (const [index, workload] of WORKLOADS.entries()) {
      const tasks = Math.max(1, Math.round(workload.tasks * scale));
      const results: RunResult[] = [];
      for (let run = 1; run <= runs; run++) {
        say(`${system} ${workload.id} run ${run}/${runs}: ${tasks} tasks…`);
        const result = await runChild(system, workload.id, tasks, command.file, command.args);
        say(`${system} ${workload.id} run ${run}/${runs}: ${Math.round(result.tasksPerSecond)} tasks/s, peak RSS ${(result.peakRssKib / 1024).toFixed(1)} MiB, process ${result.processSeconds.toFixed(1)} s`);
        results.push(result);
      }
      const byRate = [...results].sort((a, b) => a.tasksPerSecond - b.tasksPerSecond);
      rows[index]![system] = {
        system,
        workload: workload.id,
        tasks,
        runs: results,
        tasksPerSecond: byRate[Math.floor((byRate.length - 1) / 2)]!.tasksPerSecond,
        peakRssKib: Math.max(...results.map((result) => result.peakRssKib)),
      };
    }
  }
  return { rows, table: renderTable(rows), prefectVersion: prefect?.version };
}

interface ChildReport {
  workload: string;
  tasks: number;
  seconds: number;
  maxRssKb: number;
}

async function runChild(system: System, workload: Workload["id"], tasks: number, file: string, args: string[]): Promise<RunResult> {
  const home = await mkdtemp(join(tmpdir(), `aloft-bench-${system}-`));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (system === "aloft") {
      env.ALOFT_LOG_LEVEL = "silent";
      env.ALOFT_DATA_DIR = home;
    } else {
      // Prefect's default local mode: no API URL, so it starts its ephemeral server; a fresh
      // PREFECT_HOME gives each workload its own empty database.
      delete env.PREFECT_API_URL;
      env.PREFECT_HOME = home;
      env.PREFECT_LOGGING_LEVEL = "WARNING";
    }
    const started = process.hrtime.bigint();
    const child = spawn(file, [...args, workload, String(tasks)], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    const sampler = new PeakRssSampler(child.pid!);
    let stdout = "";
    let stderrTail = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderrTail = (stderrTail + chunk).slice(-4000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), TIME_BUDGET_MS[system]);
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code, signal) => resolve({ code, signal }));
    });
    clearTimeout(timer);
    const sampledTreePeakKib = sampler.stop();
    const processSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    await waitForExit(sampler.seenPids, 30_000);

    const reportLine = stdout.trim().split("\n").at(-1) ?? "";
    const report = parseReport(reportLine);
    if (exit.code !== 0 || !report || report.workload !== workload || report.tasks !== tasks) {
      const how = exit.signal ? `was killed by ${exit.signal}${exit.signal === "SIGKILL" ? ` (time budget ${TIME_BUDGET_MS[system] / 60_000} min)` : ""}` : `exited with code ${exit.code}`;
      throw new Error(`${system} ${workload} ${how} without a valid report line (got ${JSON.stringify(reportLine.slice(0, 200))}); its stderr ended:\n${stderrTail}`);
    }
    return {
      seconds: report.seconds,
      tasksPerSecond: tasks / report.seconds,
      peakRssKib: Math.max(sampledTreePeakKib, report.maxRssKb),
      sampledTreePeakKib,
      selfMaxRssKib: report.maxRssKb,
      processSeconds,
    };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

function parseReport(line: string): ChildReport | undefined {
  try {
    const value = JSON.parse(line) as Partial<ChildReport>;
    const numeric = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;
    if (typeof value.workload === "string" && numeric(value.tasks) && numeric(value.seconds) && numeric(value.maxRssKb)) return value as ChildReport;
  } catch {
    // Not JSON: reported by the caller with the line itself.
  }
  return undefined;
}
