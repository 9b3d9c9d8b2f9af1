import { hostname } from "node:os";
import { LocalWorkQueues } from "../adapters/localWorkQueue.js";
import { DispatchService } from "../services/dispatch.js";
import type { Services } from "../services/index.js";
import { lifecycleTimings, RunMonitor, type LifecycleTimings } from "../services/monitoring.js";
import { queueDelaySeconds, type ComputeLauncher } from "../services/ports.js";
import { queueAddressOf, WorkerClaimService } from "../services/workerClaims.js";
import type { DeploymentRecord, FlowRunRecord, RunnerInfo } from "../store/records.js";
import type { Store } from "../store/store.js";

/**
 * The run lifecycle of the local server: pool queues, worker claims and the monitor loop.
 *
 * @example
 * ```ts
 * const lifecycle = localLifecycle(store, Date.now, { heartbeatSeconds: 0.2 });
 * lifecycle.stopRunnersWith(launcher);
 * await lifecycle.close();
 * ```
 */
export interface LocalLifecycle {
  readonly queues: LocalWorkQueues;
  readonly timings: LifecycleTimings;
  /** Sends a deployment run to its pool's queue, held back until it is due (durable deployments only). */
  enqueue(run: FlowRunRecord, deployment?: DeploymentRecord): Promise<void>;
  /** Starts the monitor loop and re-queues the SCHEDULED deployment runs; returns the claim service for the API. */
  start(services: Services): WorkerClaimService;
  /** The launcher of this server's own workers: the monitor stops their runner processes through it. */
  stopRunnersWith(launcher: Pick<ComputeLauncher, "stop">): void;
  /** Ends the claims in progress and the queues' long polls, and stops the monitor loop (waiting for a sweep in progress). */
  close(): Promise<void>;
}

/**
 * Composes the local run lifecycle: one in-process queue per pool queue (SQS semantics), the claim
 * service workers of local pools call, and the monitor sweep (late, crashed and cancelled runs)
 * every heartbeat interval. The queues live in memory, so at start every SCHEDULED deployment run is
 * queued again (the claim makes a duplicate message harmless).
 *
 * @example
 * ```ts
 * const lifecycle = localLifecycle(store, Date.now, { heartbeatSeconds: 0.2 });
 * deps.onDeploymentRunCreated = (run, deployment) => lifecycle.enqueue(run, deployment);
 * const workerClaims = lifecycle.start(createServices(deps));
 * ```
 */
export function localLifecycle(
  store: Store,
  now: () => number,
  options: { heartbeatSeconds?: number; cancelGraceSeconds?: number; launchTimeoutSeconds?: number } = {},
): LocalLifecycle {
  const overrides: Partial<LifecycleTimings> = {};
  if (options.heartbeatSeconds !== undefined) overrides.heartbeatSeconds = options.heartbeatSeconds;
  if (options.cancelGraceSeconds !== undefined) overrides.cancelGraceSeconds = options.cancelGraceSeconds;
  if (options.launchTimeoutSeconds !== undefined) overrides.launchTimeoutSeconds = options.launchTimeoutSeconds;
  const timings = lifecycleTimings(process.env, overrides);
  const queues = new LocalWorkQueues();
  const host = hostname();
  let launcher: Pick<ComputeLauncher, "stop"> | undefined;
  let loop: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> | undefined;
  let claims: WorkerClaimService | undefined;

  const enqueue = async (run: FlowRunRecord, known?: DeploymentRecord): Promise<void> => {
    const deployment = known ?? (run.deploymentId === undefined ? undefined : await store.getDeploymentById(run.deploymentId));
    if (!deployment || deployment.engine === "step-functions") return;
    await queues.queue(queueAddressOf(deployment)).send({ runId: run.id }, { delaySeconds: queueDelaySeconds(run.scheduledTime, now()) });
  };

  /** A runner process on this machine: through this server's worker launcher, or by its pid (a worker started by `aloft worker`). */
  const stopRunner = async (runner: RunnerInfo, reason: string): Promise<boolean> => {
    if (launcher && (await launcher.stop(runner, reason))) return true;
    if (runner.kind !== "process" || runner.pid === undefined || (runner.host !== undefined && runner.host !== host)) return false;
    try {
      process.kill(runner.pid, "SIGKILL");
      return true;
    } catch {
      return false; // already gone
    }
  };

  return {
    queues,
    timings,
    enqueue,
    stopRunnersWith: (stopper) => {
      launcher = stopper;
    },
    start(services) {
      const { flowRuns } = services;
      const dispatch = new DispatchService({ store, flowRuns, now });
      const monitor = new RunMonitor({ store, flowRuns, now, timings, enqueue: (run) => enqueue(run), stopRunner });
      const report = (what: string) => (error: unknown) => process.stderr.write(`aloft: ${what} failed: ${(error as Error).message}\n`);
      void requeueScheduled(store, enqueue).catch(report("re-queueing scheduled runs"));
      loop = setInterval(() => {
        sweeping ??= monitor
          .sweep()
          .catch(report("the run monitor's sweep"))
          .finally(() => (sweeping = undefined));
      }, timings.heartbeatSeconds * 1000);
      loop.unref();
      claims = new WorkerClaimService({ flowRuns, pools: services.workPools, dispatch, queues });
      return claims;
    },
    async close() {
      if (loop) clearInterval(loop);
      claims?.close();
      queues.close();
      await sweeping;
    },
  };
}

/** Queues every SCHEDULED deployment run again (the in-process queues start empty). */
async function requeueScheduled(store: Store, enqueue: (run: FlowRunRecord) => Promise<void>): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await store.listFlowRuns({ stateType: "SCHEDULED" }, { limit: 100, ...(cursor === undefined ? {} : { cursor }) });
    cursor = page.cursor;
    for (const run of page.items) if (run.deploymentId !== undefined && run.runnerToken === undefined) await enqueue(run);
  } while (cursor !== undefined);
}
