import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
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

interface Runner {
  child: ChildProcess;
  ready: boolean;
  job?: { job: RunJob; done: (result: PoolRunResult) => void };
}

/**
 * A pool of warm runner processes on this machine. Each runs one claimed run at a time, handed
 * over IPC, so a thousand runs cost a handful of Node starts, not a thousand; a runner that dies is
 * replaced at once, and the run it held is reported `lost`. `stop(pid)` kills one runner (the
 * control plane's stop for a run that ignored its cancellation).
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
  /** The code of the runs handed out lately, newest last: what a new runner loads before its first run. */
  private readonly recentCode = new Map<string, CodeLocation>();
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
    this.remember(job);
    const result = new Promise<PoolRunResult>((done) => {
      taken.job = { job, done };
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
    const runner: Runner = { child, ready: false };
    this.runners.add(runner);
    child.on("message", (message: FromRunner) => {
      if (message.type === "ready") {
        const code = [...this.recentCode.values()];
        if (code.length === 0) runner.ready = true;
        else child.send({ type: "warm", code } satisfies ToRunner);
      } else if (message.type === "warmed") {
        runner.ready = true;
      } else {
        const held = runner.job;
        runner.job = undefined;
        held?.done(message.type === "done" ? message.outcome : { action: "failed", reason: message.message });
        if (this.closing && child.connected) child.send({ type: "exit" } satisfies ToRunner);
      }
      this.wake();
    });
    // A runner that cannot be forked, or dies, is replaced (unless the pool is closing).
    child.once("error", () => child.kill("SIGKILL"));
    child.once("exit", (code, signal) => {
      this.runners.delete(runner);
      const held = runner.job;
      runner.job = undefined;
      held?.done({ action: "lost", reason: `runner process ${child.pid ?? "?"} ${signal ? `was killed (${signal})` : `exited with code ${code ?? "?"}`}` });
      // One that exited by itself before it was ready (a broken script, a bad environment) is retried after a pause, not in a tight loop.
      if (!this.closing) {
        if (runner.ready || signal !== null) this.spawn();
        else setTimeout(() => !this.closing && this.spawn(), RESPAWN_PAUSE_MS).unref();
      }
      this.wake();
    });
  }

  private remember(job: RunJob): void {
    if (!job.flowRun) return;
    const location = codeLocationOf(job.flowRun, job.deployment);
    const key = JSON.stringify(location);
    this.recentCode.delete(key);
    this.recentCode.set(key, location);
    if (this.recentCode.size > WARM_FLOWS) this.recentCode.delete(this.recentCode.keys().next().value!);
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
