import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseTarget } from "../cli/loadFlow.js";
import type { RunnerOutcome } from "./claimedRun.js";
import type { CodeLocation } from "./deploymentCode.js";
import { codeLocationOf, type FromRunner, type RunJob, type ToRunner } from "./runnerMessages.js";

/**
 * What became of a run handed to a runner process: its outcome, or `lost` when the process died
 * with the run in hand (the control plane's monitor then declares the run crashed and, with retries
 * left, reschedules it).
 *
 * @example
 * ```ts
 * const result: PoolRunResult = { action: "lost", reason: "runner process 4242 was killed (SIGKILL)" };
 * ```
 */
export type PoolRunResult = RunnerOutcome | { action: "lost"; reason: string };

/** Options of a {@link RunnerPool}. */
export interface RunnerPoolOptions {
  /** How many runner processes to keep warm: the most runs in flight at once. */
  size: number;
  /** The runners' environment (add `ALOFT_API_URL`, `ALOFT_TOKEN`, `ALOFT_HEARTBEAT_SECONDS`); default this process's. */
  env?: NodeJS.ProcessEnv;
  /** The runners' working directory (entrypoints are relative to it). */
  cwd?: string;
  /** The runner script; default {@link runnerScript}. */
  script?: { path: string; execArgv: string[] };
  /** Where the runners' stdout and stderr go; default this process's. */
  stdio?: "inherit" | "ignore";
}

/**
 * The runner process script next to this module: the compiled `runnerProcess.js`, or, when Aloft
 * runs from its TypeScript source, `runnerProcess.ts` under tsx.
 *
 * @example
 * ```ts
 * const { path, execArgv } = runnerScript(); // { path: ".../dist/sdk/runner/runnerProcess.js", execArgv: [] }
 * ```
 */
export function runnerScript(): { path: string; execArgv: string[] } {
  const compiled = fileURLToPath(new URL("./runnerProcess.js", import.meta.url));
  if (existsSync(compiled)) return { path: compiled, execArgv: [] };
  return { path: fileURLToPath(new URL("./runnerProcess.ts", import.meta.url)), execArgv: ["--import", "tsx"] };
}

/** How many of the flows run lately a new runner compiles before it takes a run. */
const WARM_FLOWS = 8;

/** How long to wait before replacing a runner that died before it was ready. */
const RESPAWN_PAUSE_MS = 1_000;

/** Code a new runner loads before its first run: code that loaded in a run of this pool, and its file's mtime then. */
interface WarmCode {
  key: string;
  location: CodeLocation;
  /** The entrypoint file's mtime when the code loaded; a file changed since is not warmed (it has not loaded fine yet). */
  mtimeMs?: number;
}

interface Runner {
  child: ChildProcess;
  ready: boolean;
  /** The code this runner loads now to warm up, and what it loads after. */
  warming?: WarmCode;
  toWarm: WarmCode[];
  job?: { job: RunJob; done: (result: PoolRunResult) => void; code?: CodeLocation; loaded: boolean };
}

/**
 * A pool of warm runner processes on this machine. Each runs one claimed run at a time, handed
 * over IPC, so a thousand runs cost a handful of Node starts, not a thousand; a runner that dies is
 * replaced at once, and the run it held is reported `lost` (with `while loading <code>` when it
 * died before the run's code had loaded: a flow module that ends its process at import). `stop(pid)`
 * kills one runner (the control plane's stop for a run that ignored its cancellation).
 *
 * A new runner warms up on the code the pool ran lately, one module at a time, before it takes a
 * run — only code that has loaded in a run of this pool, from a file unchanged since. Code whose
 * warming failed or killed the runner, or whose run's runner died loading it, is dropped from the
 * warm list: a poison flow kills only the runners handed its runs, never their replacements.
 *
 * @example
 * ```ts
 * const pool = new RunnerPool({ size: 4, env: { ...process.env, ALOFT_API_URL: url, ALOFT_TOKEN: token } });
 * await pool.idle();
 * const result = await pool.run({ runId, runnerToken });
 * await pool.close();
 * ```
 */
export class RunnerPool {
  private readonly runners = new Set<Runner>();
  private readonly waiters: Array<() => void> = [];
  private closing = false;
  /** The code that loaded lately in this pool's runs, newest last: what a new runner loads before its first run. */
  private readonly recentCode = new Map<string, WarmCode>();
  /** Runner processes started so far, replacements included. */
  started = 0;

  constructor(private readonly options: RunnerPoolOptions) {
    if (!(Number.isInteger(options.size) && options.size >= 1)) throw new Error(`a runner pool needs at least 1 runner, got ${String(options.size)}`);
    for (let i = 0; i < options.size; i++) this.spawn();
  }

  /** Runners ready for a run now. */
  get free(): number {
    let free = 0;
    for (const runner of this.runners) if (runner.ready && !runner.job) free++;
    return free;
  }

  /** Runs in flight. */
  get busy(): number {
    let busy = 0;
    for (const runner of this.runners) if (runner.job) busy++;
    return busy;
  }

  /** The process ids of the runners. */
  pids(): number[] {
    return [...this.runners].map((runner) => runner.child.pid).filter((pid): pid is number => pid !== undefined);
  }

  /** The process ids of the runners that hold a run now. */
  busyPids(): number[] {
    return [...this.runners].filter((runner) => runner.job).map((runner) => runner.child.pid).filter((pid): pid is number => pid !== undefined);
  }

  /** Resolves when at least one runner is free. */
  async idle(): Promise<void> {
    while (this.free === 0) {
      if (this.closing) throw new Error("the runner pool is closing");
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /**
   * Hands a run to a free runner (waiting for one) and resolves with its result once the run has
   * ended, or its runner died.
   */
  async run(job: RunJob): Promise<PoolRunResult> {
    return (await this.start(job)).result;
  }

  /** Hands a run to a free runner (waiting for one); resolves as soon as a runner has it, with the runner's pid. */
  async start(job: RunJob): Promise<{ pid: number | undefined; result: Promise<PoolRunResult> }> {
    let runner: Runner | undefined;
    while (!(runner = [...this.runners].find((candidate) => candidate.ready && !candidate.job))) await this.idle();
    const taken = runner;
    const code = job.flowRun ? codeLocationOf(job.flowRun, job.deployment) : undefined;
    const result = new Promise<PoolRunResult>((done) => {
      taken.job = { job, done, ...(code ? { code } : {}), loaded: false };
      taken.child.send({ type: "run", job } satisfies ToRunner);
    });
    return { pid: taken.child.pid, result };
  }

  /** Kills the runner with this process id (SIGKILL); its run is reported `lost`. False if no runner has it. */
  stop(pid: number): boolean {
    const runner = [...this.runners].find((candidate) => candidate.child.pid === pid);
    if (!runner) return false;
    runner.child.kill("SIGKILL");
    return true;
  }

  /**
   * Stops the pool: with `kill`, kills every runner at once (their runs are lost, and rescheduled by
   * the control plane); otherwise lets each runner finish the run in hand, then ends it.
   */
  async close(options: { kill?: boolean } = {}): Promise<void> {
    this.closing = true;
    for (const waiter of this.waiters.splice(0)) waiter();
    await Promise.all(
      [...this.runners].map(
        (runner) =>
          new Promise<void>((resolve) => {
            if (runner.child.exitCode !== null || runner.child.signalCode !== null) return resolve();
            runner.child.once("exit", () => resolve());
            if (options.kill) runner.child.kill("SIGKILL");
            else if (!runner.child.connected) runner.child.kill("SIGTERM");
            // A busy runner is told to exit when its run ends (see spawn).
            else if (!runner.job) runner.child.send({ type: "exit" } satisfies ToRunner);
          }),
      ),
    );
  }

  private spawn(): void {
    const script = this.options.script ?? runnerScript();
    const child = fork(script.path, [], {
      execArgv: script.execArgv,
      env: this.options.env ?? process.env,
      ...(this.options.cwd === undefined ? {} : { cwd: this.options.cwd }),
      stdio: this.options.stdio === "ignore" ? ["ignore", "ignore", "ignore", "ipc"] : ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    });
    this.started++;
    const runner: Runner = { child, ready: false, toWarm: [] };
    this.runners.add(runner);
    child.on("message", (message: FromRunner) => {
      switch (message.type) {
        case "ready":
          runner.toWarm = [...this.recentCode.values()];
          this.warmNext(runner);
          return;
        case "warmed": {
          const warmed = runner.warming;
          runner.warming = undefined;
          if (warmed && !message.loaded) this.forget(warmed.key);
          this.warmNext(runner);
          return;
        }
        case "loaded":
          if (runner.job?.job.runId === message.runId) runner.job.loaded = true;
          void this.remember(message.code);
          return;
        case "done":
        case "error": {
          const held = runner.job;
          runner.job = undefined;
          held?.done(message.type === "done" ? message.outcome : { action: "failed", reason: message.message });
          if (this.closing && child.connected) child.send({ type: "exit" } satisfies ToRunner);
          this.wake();
        }
      }
    });
    // A runner that cannot be forked, or dies, is replaced (unless the pool is closing).
    child.once("error", () => child.kill("SIGKILL"));
    child.once("exit", (code, signal) => {
      this.runners.delete(runner);
      const how = `runner process ${child.pid ?? "?"} ${signal ? `was killed (${signal})` : `exited with code ${code ?? "?"}`}`;
      const held = runner.job;
      runner.job = undefined;
      if (held) {
        // Before the run's code had loaded, the death is most likely the code's own doing (a module that exits at import).
        if (!held.loaded && held.code) this.forget(keyOf(held.code));
        const loading = held.loaded ? "" : ` while loading ${held.code ? describeCode(held.code) : "the run's code"}`;
        held.done({ action: "lost", reason: `${how}${loading}` });
      }
      // Code that took a runner down while it warmed up is never warmed again (until a run loads it fine).
      if (runner.warming) this.forget(runner.warming.key);
      // One that exited by itself before it was ready (a broken script, a bad environment, code that kills it) is
      // replaced after a pause, not in a tight loop.
      if (!this.closing) {
        if (runner.ready || signal !== null) this.spawn();
        else setTimeout(() => !this.closing && this.spawn(), RESPAWN_PAUSE_MS).unref();
      }
      this.wake();
    });
  }

  /** Sends the runner the next code to warm, skipping code dropped or changed meanwhile; marks it ready when none is left. */
  private warmNext(runner: Runner): void {
    void (async () => {
      for (let next = runner.toWarm.shift(); next !== undefined; next = runner.toWarm.shift()) {
        const current = this.recentCode.get(next.key);
        if (current === undefined) continue;
        if (!(await this.unchanged(current))) {
          this.forget(current.key);
          continue;
        }
        if (!runner.child.connected) return;
        runner.warming = current;
        runner.child.send({ type: "warm", code: current.location } satisfies ToRunner);
        return;
      }
      runner.ready = true;
      this.wake();
    })();
  }

  /** Code that loaded in a run: warmed by new runners from now on, while its file stays as it is now. */
  private async remember(location: CodeLocation): Promise<void> {
    const key = keyOf(location);
    const mtimeMs = await this.mtimeOf(location);
    this.recentCode.delete(key);
    this.recentCode.set(key, { key, location, ...(mtimeMs === undefined ? {} : { mtimeMs }) });
    if (this.recentCode.size > WARM_FLOWS) this.recentCode.delete(this.recentCode.keys().next().value!);
  }

  private forget(key: string): void {
    this.recentCode.delete(key);
  }

  private async unchanged(code: WarmCode): Promise<boolean> {
    return code.location.entrypoint === undefined || (await this.mtimeOf(code.location)) === code.mtimeMs;
  }

  /** The mtime of the code's entrypoint file, or undefined (no entrypoint, or no such file). */
  private async mtimeOf(location: CodeLocation): Promise<number | undefined> {
    if (location.entrypoint === undefined) return undefined;
    try {
      return (await stat(resolve(this.options.cwd ?? process.cwd(), parseTarget(location.entrypoint).file))).mtimeMs;
    } catch {
      return undefined;
    }
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

function keyOf(location: CodeLocation): string {
  return JSON.stringify([location.flowName, location.entrypoint ?? null, location.bundleId ?? null]);
}

function describeCode(location: CodeLocation): string {
  if (location.entrypoint !== undefined) return location.entrypoint;
  return location.bundleId !== undefined ? `bundle ${location.bundleId}` : `flow "${location.flowName}"`;
}
