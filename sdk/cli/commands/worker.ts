import type { Command } from "commander";
import { AloftApiError } from "../../api/apiError.js";
import { AloftClient } from "../../api/client.js";
import { messageOf } from "../../model/errors.js";
import { heartbeatSecondsFrom } from "../../runner/claimedRun.js";
import { RunnerPool, type PoolRunResult } from "../../runner/runnerPool.js";
import { startWorker } from "../../runner/worker.js";
import { describeApiError } from "../apiErrors.js";
import { addCommandGroup } from "../commandGroup.js";
import { terminalLine, terminalText } from "../terminalText.js";
import { UsageError } from "../usageError.js";

/** The most runner processes one worker starts. */
export const MAX_RUNNERS = 256;

/** Options of `aloft worker start`, as commander parses them. */
export interface WorkerStartOptions {
  pool: string;
  runners: string;
  queue?: string;
  heartbeat?: string;
}

/**
 * Adds `aloft worker start --pool <name> [--runners N] [--queue q] [--heartbeat s]`.
 *
 * @example
 * ```ts
 * addWorkerCommand(program);
 * await program.parseAsync(["node", "aloft", "worker", "start", "--pool", "local", "--runners", "4"]);
 * ```
 */
export function addWorkerCommand(program: Command): Command {
  const worker = addCommandGroup(program, "worker", "run the flow runs of a work pool on this machine");
  worker
    .command("start")
    .description("claim runs from a work pool and run each in a local runner process, until Ctrl-C (a second Ctrl-C kills the runs in hand)")
    .requiredOption("--pool <name>", "the work pool to take runs from")
    .option("--runners <n>", "runner processes: the most runs at once", "2")
    .option("--queue <name>", "take runs only from this queue of the pool")
    .option("--heartbeat <seconds>", "seconds between a run's heartbeats (default ALOFT_HEARTBEAT_SECONDS, else 10)")
    .action(async (options: WorkerStartOptions) => {
      process.exitCode = await runWorker(options);
    });
  return worker;
}

/**
 * `aloft worker start`: starts the runner processes, claims runs until SIGINT or SIGTERM, then lets
 * the runs in hand finish (a second signal kills them; the control plane reschedules them). Prints
 * one line per run. Resolves to the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runWorker({ pool: "local", runners: "4" });
 * ```
 */
export async function runWorker(options: WorkerStartOptions): Promise<number> {
  const runners = Number(options.runners);
  if (!Number.isInteger(runners) || runners < 1 || runners > MAX_RUNNERS) throw new UsageError(`--runners must be a whole number from 1 to ${MAX_RUNNERS}, got "${options.runners}"`);
  const heartbeatSeconds = options.heartbeat === undefined ? heartbeatSecondsFrom() : Number(options.heartbeat);
  if (!Number.isFinite(heartbeatSeconds) || heartbeatSeconds <= 0) throw new UsageError(`--heartbeat must be a positive number of seconds, got "${options.heartbeat ?? ""}"`);
  const client = new AloftClient();
  const { apiUrl } = await client.endpoint();
  // Fail now, with the reason, if the pool does not exist, is not local, or the API cannot be reached.
  let jobSettings: { timeout?: number | undefined; environment?: Record<string, string> | undefined } = {};
  try {
    const pool = await client.workPools.get(options.pool);
    jobSettings = pool.jobSettings;
    if (pool.type !== "local") throw new UsageError(`work pool "${pool.name}" is a ${pool.type} pool: the control plane runs its runs; \`aloft worker\` serves local pools`);
  } catch (error) {
    if (error instanceof AloftApiError) {
      const { message } = describeApiError(error, apiUrl);
      throw new UsageError(error.status === 404 ? `work pool "${options.pool}" does not exist (create it with \`aloft pools create ${options.pool} --type local\`)` : message);
    }
    throw error;
  }

  // The pool's job settings: its environment for every runner, its timeout for every run.
  const env = { ...process.env, ...jobSettings.environment, ALOFT_API_URL: apiUrl, ALOFT_HEARTBEAT_SECONDS: String(heartbeatSeconds) };
  const pool = new RunnerPool({ size: runners, env });
  let claimErrors = 0;
  const worker = startWorker({
    pool: options.pool,
    runners: pool,
    client,
    ...(options.queue === undefined ? {} : { queue: options.queue }),
    ...(jobSettings.timeout === undefined ? {} : { jobTimeoutSeconds: jobSettings.timeout }),
    onRun: (job, result) => process.stdout.write(`${terminalText(job.runId)}  ${describeResult(result)}\n`),
    onClaimError: (error) => {
      if (claimErrors++ % 30 === 0) process.stderr.write(`aloft: claiming from work pool "${terminalText(options.pool)}" failed (${terminalLine(messageOf(error))}); retrying\n`);
    },
  });
  process.stdout.write(`Worker ${worker.workerId} on work pool "${terminalText(options.pool)}"${options.queue ? ` (queue ${terminalText(options.queue)})` : ""} with ${runners} runner${runners === 1 ? "" : "s"}; API ${apiUrl}\nPress Ctrl-C to stop.\n`);

  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) {
      process.stdout.write(`Stopping: no new runs; waiting for ${pool.busy} run${pool.busy === 1 ? "" : "s"} in hand (Ctrl-C again to kill them)…\n`);
      void worker.stop();
    } else {
      process.stdout.write("Killing the runs in hand; the control plane will reschedule them.\n");
      void pool.close({ kill: true });
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await worker.done;
    await pool.close();
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  return 0;
}

function describeResult(result: PoolRunResult): string {
  switch (result.action) {
    case "ran":
      return terminalText(result.state.name);
    case "stopped":
      return `stopped: ${terminalLine(result.reason)}`;
    case "failed":
      return `failed to start: ${terminalLine(result.reason)}`;
    case "skipped":
      return `not run: ${terminalLine(result.reason)}`;
    case "lost":
      return `lost: ${terminalLine(result.reason)}`;
  }
}
