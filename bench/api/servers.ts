import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PeakRssSampler, waitForExit } from "../engine/processTree.js";
import { AloftClient, PrefectClient, type BenchClient } from "./clients.js";

/** The systems compared. */
export type System = "aloft" | "prefect";

/** A server started for the benchmark, as a child process tree the harness owns. */
export interface ServerUnderTest {
  system: System;
  baseUrl: string;
  client: BenchClient;
  /** Peak RSS of the server's process tree, sampled from /proc while it runs. */
  sampler: PeakRssSampler;
  /** CPU seconds (user + system) used so far by every process of the server's tree seen alive. */
  cpuSeconds(): number;
  /** Stops the server (SIGTERM, then SIGKILL after a grace period), waits for its whole tree to exit, and removes its data dir. */
  stop(): Promise<void>;
}

/** The Aloft server under test: also its process id (the server alone, without its runners) and its API token. */
export interface AloftServerUnderTest extends ServerUnderTest {
  pid: number;
  token: string;
}

/** How long a server may take to answer its health check after it is spawned. */
const START_TIMEOUT_MS: Record<System, number> = { aloft: 30_000, prefect: 120_000 };
const STOP_GRACE_MS = 15_000;

/**
 * Starts the local Aloft control plane from the build (`node dist/lambdas/local/main.js server start`)
 * on a free loopback port with a fresh temporary data dir, and waits for `/health`.
 * `cpuProfileDir` runs it under `node --cpu-prof` (the profile is written there when it stops);
 * `runners` is its `--runners` (the server's default, 2, when absent).
 *
 * @example
 * ```ts
 * const server = await startAloftServer("/work/main");
 * await server.client.createFlowRun("bench");
 * await server.stop();
 * ```
 */
export async function startAloftServer(repoRoot: string, options: { cpuProfileDir?: string; runners?: number } = {}): Promise<AloftServerUnderTest> {
  const dataDir = await mkdtemp(join(tmpdir(), "aloft-bench-api-aloft-"));
  const port = await freePort();
  const profile = options.cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const child = spawn(process.execPath, [...profile, join(repoRoot, "dist", "lambdas", "local", "main.js"), "server", "start", "--port", String(port), "--data", dataDir, ...(options.runners === undefined ? [] : ["--runners", String(options.runners)])], {
    cwd: dataDir,
    env: { ...process.env, ALOFT_LOG_LEVEL: "silent" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = await supervise("aloft", child, dataDir, `${baseUrl}/health`);
  const token = (await readFile(join(dataDir, "token"), "utf8")).trim();
  return { ...server, baseUrl, client: new AloftClient(baseUrl, token), pid: child.pid!, token };
}

/**
 * Starts `prefect server start` from the bench venv on a free loopback port, with a fresh temporary
 * PREFECT_HOME (so its default SQLite database starts empty), and waits for `/api/health`.
 *
 * @example
 * ```ts
 * const server = await startPrefectServer(ensurePrefectEnv(repoRoot).python);
 * ```
 */
export async function startPrefectServer(python: string): Promise<ServerUnderTest> {
  const home = await mkdtemp(join(tmpdir(), "aloft-bench-api-prefect-"));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PREFECT_HOME: home, PREFECT_LOGGING_LEVEL: "WARNING", PREFECT_SERVER_ANALYTICS_ENABLED: "false" };
  delete env.PREFECT_API_URL;
  const child = spawn(join(dirname(python), "prefect"), ["server", "start", "--host", "127.0.0.1", "--port", String(port)], { cwd: home, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = await supervise("prefect", child, home, `${baseUrl}/api/health`);
  return { ...server, baseUrl, client: new PrefectClient(baseUrl) };
}

async function supervise(system: System, child: ChildProcess, dataDir: string, healthUrl: string): Promise<Omit<ServerUnderTest, "baseUrl" | "client">> {
  const sampler = new PeakRssSampler(child.pid!, 100);
  let output = "";
  const keep = (chunk: string) => (output = (output + chunk).slice(-4000));
  child.stdout!.setEncoding("utf8").on("data", keep);
  child.stderr!.setEncoding("utf8").on("data", keep);
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`)));

  // The server runs in its own process group (spawned detached), so its whole tree can be signalled
  // at once, and is killed if the harness exits without stopping it.
  const group = child.pid!;
  const killGroup = () => signalGroup(group, "SIGKILL");
  process.once("exit", killGroup);
  const stop = async () => {
    sampler.sample();
    sampler.stop();
    if (child.exitCode === null && child.signalCode === null) {
      signalGroup(group, "SIGTERM");
      const killer = setTimeout(killGroup, STOP_GRACE_MS);
      await exited;
      clearTimeout(killer);
    }
    await waitForExit(sampler.seenPids, STOP_GRACE_MS);
    killGroup();
    process.off("exit", killGroup);
    await rm(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS[system];
  let exitReason: string | undefined;
  void exited.then((reason) => (exitReason = reason));
  while (!(await answers(healthUrl))) {
    if (exitReason !== undefined || Date.now() > deadline) {
      await stop();
      throw new Error(`the ${system} server ${exitReason ?? `did not answer ${healthUrl} within ${START_TIMEOUT_MS[system] / 1000} s`}; its output ended:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { system, sampler, cpuSeconds: () => treeCpuSeconds(sampler.seenPids), stop };
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** A port free on loopback right now (the OS picks it; the server binds it a moment later). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port from the OS"))));
    });
  });
}

/** Signals every process of the process group the harness spawned (a no-op once it is empty). */
function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // The group is gone already.
  }
}

const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of each live process, in seconds (Linux: /proc/<pid>/stat fields 14 and 15, in clock ticks). */
function treeCpuSeconds(pids: Iterable<number>): number {
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the command name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}
