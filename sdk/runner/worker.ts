import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { AloftClient } from "../api/client.js";
import { messageOf } from "../model/errors.js";
import type { RunJob } from "./runnerMessages.js";
import type { PoolRunResult } from "./runnerPool.js";

/** How long one claim request waits for work (the route long-polls up to 20 s). */
export const CLAIM_WAIT_SECONDS = 5;
/** The most runs one claim request asks for (the route's cap). */
export const MAX_CLAIM_LIMIT = 50;
/** Pause after a failed claim request before the next one. */
export const CLAIM_RETRY_MS = 1_000;

/** Where claimed runs go: a pool of runners ({@link RunnerPool} locally). */
export interface RunSink {
  /** Runners free for a run now. */
  readonly free: number;
  /** Resolves when a runner is free. */
  idle(): Promise<void>;
  /** Runs a claimed run; resolves when it has ended (or its runner died). */
  run(job: RunJob): Promise<PoolRunResult>;
}

/** The claim call: `POST /v1/work-pools/{pool}/claims`. */
export type ClaimRuns = (pool: string, body: { workerId: string; limit: number; waitSeconds: number; queue?: string }) => Promise<{ items: RunJob[] }>;

/** The crash report of a run whose runner died: `POST /v1/flow-runs/{id}/crash`. */
export type ReportCrash = (runId: string, body: { runnerToken: string; reason: string }) => Promise<unknown>;

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  pool: string;
  runners: RunSink;
  client?: AloftClient;
  /** Default: `client.workPools.claim`. */
  claim?: ClaimRuns;
  /** Default: `client.flowRuns.reportCrash`. */
  reportCrash?: ReportCrash;
  /** Claim only from this queue of the pool. */
  queue?: string;
  /** Default `<host>:<pid>:<random>`. */
  workerId?: string;
  /** Seconds each claim request long-polls; default {@link CLAIM_WAIT_SECONDS}. */
  claimWaitSeconds?: number;
  /** The pool's job timeout, given to each run (it ends FAILED, TimedOut, when it runs longer). */
  jobTimeoutSeconds?: number;
  /** Called after each run with its result (the CLI prints a line). */
  onRun?: (job: RunJob, result: PoolRunResult) => void;
  /** Called when a claim request fails (it is retried after a pause). */
  onClaimError?: (error: unknown) => void;
}

/**
 * A running worker.
 *
 * @example
 * ```ts
 * const worker: Worker = startWorker({ pool: "local", runners: pool });
 * await worker.stop();
 * ```
 */
export interface Worker {
  readonly workerId: string;
  /** Runs handed to runners so far. */
  readonly claimed: number;
  /** Stops claiming; resolves when every run in hand has ended. */
  stop(): Promise<void>;
  /** Resolves when the worker has stopped (after {@link Worker.stop}). */
  readonly done: Promise<void>;
}

/**
 * Pulls runs from a work pool and hands each to a free runner: one long-polling claim request at
 * a time, asking for as many runs as there are free runners, so a claimed run never waits for a
 * runner (and a run no runner could take stays queued for other workers). Claims go through the
 * orchestration rules, so two workers never take one run. A run whose runner died with it in hand
 * (`lost`: the process exited, or was killed, e.g. by a flow module that exits at import) is
 * reported at once with the reason, so the control plane crashes it — and re-schedules it while it
 * has attempts left — without waiting for missed heartbeats; runs lost while the worker stops (its
 * runners killed on purpose) are left to the monitor.
 *
 * @example
 * ```ts
 * const runners = new RunnerPool({ size: 4, env });
 * const worker = startWorker({ pool: "local", runners, client });
 * process.once("SIGINT", () => void worker.stop().then(() => runners.close()));
 * ```
 */
export function startWorker(options: WorkerOptions): Worker {
  const client = options.client ?? new AloftClient();
  const claim: ClaimRuns = options.claim ?? ((pool, body) => client.workPools.claim(pool, body));
  const reportCrash: ReportCrash = options.reportCrash ?? ((runId, body) => client.flowRuns.reportCrash(runId, body));
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const waitSeconds = options.claimWaitSeconds ?? CLAIM_WAIT_SECONDS;
  const inFlight = new Set<Promise<void>>();
  const stopping = new AbortController();
  let claimed = 0;

  const loop = async () => {
    while (!stopping.signal.aborted) {
      await untilStopped(options.runners.idle(), stopping.signal);
      if (stopping.signal.aborted) break;
      const limit = Math.min(MAX_CLAIM_LIMIT, options.runners.free);
      if (limit === 0) continue;
      let items: RunJob[];
      try {
        ({ items } = await claim(options.pool, { workerId, limit, waitSeconds, ...(options.queue === undefined ? {} : { queue: options.queue }) }));
      } catch (error) {
        options.onClaimError?.(error);
        await untilStopped(delay(CLAIM_RETRY_MS), stopping.signal);
        continue;
      }
      // Runs claimed while stopping are still run: their claim is taken, and only this worker holds it.
      for (const claim of items) {
        const job = options.jobTimeoutSeconds === undefined ? claim : { ...claim, timeoutSeconds: options.jobTimeoutSeconds };
        claimed++;
        const running = options.runners.run(job).then(
          async (result) => {
            if (result.action === "lost" && !stopping.signal.aborted) {
              // A report that fails changes nothing: the monitor crashes the run after three missed heartbeats.
              await reportCrash(job.runId, { runnerToken: job.runnerToken, reason: result.reason }).catch(() => undefined);
            }
            options.onRun?.(job, result);
          },
          (error: unknown) => options.onRun?.(job, { action: "failed", reason: messageOf(error) }),
        );
        inFlight.add(running);
        void running.finally(() => inFlight.delete(running));
      }
    }
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  const done = loop();
  return {
    workerId,
    get claimed() {
      return claimed;
    },
    stop: () => {
      stopping.abort();
      return done;
    },
    done,
  };
}

/**
 * Settles with `promise`, or at once when `signal` aborts. Each call removes what it added: racing
 * the loop's promises against one "stopped" promise instead would leave a reaction on it per pass,
 * kept until the worker stops (thousands of runs, thousands of closures).
 */
function untilStopped(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const stop = () => resolve();
    signal.addEventListener("abort", stop, { once: true });
    promise.then(
      () => (signal.removeEventListener("abort", stop), resolve()),
      (error: unknown) => (signal.removeEventListener("abort", stop), reject(error)),
    );
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
