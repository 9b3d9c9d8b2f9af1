import type { DeploymentRecord, FlowRunRecord, WorkPoolQueue, WorkPoolRecord } from "../store/records.js";
import type { ClaimOptions, DispatchService } from "./dispatch.js";
import { ServiceError } from "./errors.js";
import type { FlowRunService } from "./flowRuns.js";
import { MAX_RECEIVE_MESSAGES, type ReceivedMessage, type WorkQueue, type WorkQueues } from "./ports.js";
import { DEFAULT_QUEUE, LOCAL_POOL, queuesByPriority, type WorkPoolService } from "./workPools.js";

/** The most runs one claim request takes. */
export const MAX_CLAIMS_PER_REQUEST = 50;
/** The longest a claim request waits for a run. */
export const MAX_CLAIM_WAIT_SECONDS = 20;

/**
 * `POST /v1/work-pools/{pool}/claims`, validated.
 *
 * @example
 * ```ts
 * const request: ClaimRequest = { workerId: "laptop-1", limit: 4, waitSeconds: 10, queue: "gpu" };
 * ```
 */
export interface ClaimRequest {
  /** Names the worker in logs and transition ids. */
  workerId: string;
  /** Runs to take at most (1 to {@link MAX_CLAIMS_PER_REQUEST}); 1 by default. */
  limit?: number;
  /** Long polling: wait up to this long (0 to {@link MAX_CLAIM_WAIT_SECONDS} whole seconds) for a first run; 0 by default. */
  waitSeconds?: number;
  /** Take only from this queue of the pool; every queue, by priority, when absent. */
  queue?: string;
}

/**
 * One run a worker took: what its runner needs.
 *
 * @example
 * ```ts
 * for (const { runId, runnerToken, deployment } of await claims.claim("local", { workerId: "w1" })) start(runId, runnerToken, deployment.entrypoint);
 * ```
 */
export interface ClaimedItem {
  runId: string;
  /** The runner's token: it sends it with every proposal and heartbeat of the run. */
  runnerToken: string;
  flowRun: FlowRunRecord;
  deployment: DeploymentRecord;
}

/**
 * The queue of a pool a deployment's runs go to: the deployment's pool (the local server's `local`
 * pool for a deployment without one) and its queue (`default` unless named).
 *
 * @example
 * ```ts
 * await queues.queue(queueAddressOf(deployment)).send({ runId: run.id });
 * ```
 */
export function queueAddressOf(deployment: Pick<DeploymentRecord, "workPool" | "workQueue">): { pool: string; queue: string } {
  return { pool: deployment.workPool ?? LOCAL_POOL, queue: deployment.workQueue ?? DEFAULT_QUEUE };
}

/**
 * Workers of local pools take runs here (`POST /v1/work-pools/{pool}/claims`): the pool's queues
 * are read highest priority first, skipping paused queues (and everything while the pool is
 * paused) and queues with as many runs taken as their concurrency limit; each message is claimed
 * through {@link DispatchService.claim} — the same claim the Lambda dispatcher makes, so a run is
 * never taken twice — and deleted. With `waitSeconds` the request long-polls every eligible queue
 * at once until a run arrives.
 *
 * @example
 * ```ts
 * const claims = new WorkerClaimService({ flowRuns, pools, dispatch, queues });
 * const items = await claims.claim("local", { workerId: "laptop-1", limit: 4, waitSeconds: 5 });
 * ```
 */
export class WorkerClaimService {
  /** Claims from a queue with a concurrency limit are made one at a time, so concurrent workers cannot overshoot it. */
  private readonly limitedQueueLocks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly deps: {
      flowRuns: FlowRunService;
      pools: WorkPoolService;
      dispatch: DispatchService;
      queues: WorkQueues;
    },
  ) {}

  /** Aborted by {@link WorkerClaimService.close}: every claim in progress, and every later one, answers with what it has. */
  private readonly closing = new AbortController();

  /**
   * Ends the long polls of every claim in progress (each answers with the runs it took so far, often
   * none) and makes later claims answer at once: the server is stopping.
   */
  close(): void {
    this.closing.abort();
  }

  async claim(poolName: string, request: ClaimRequest, signal?: AbortSignal): Promise<ClaimedItem[]> {
    const stop = new AbortController();
    const abort = () => stop.abort();
    const sources = signal ? [signal, this.closing.signal] : [this.closing.signal];
    for (const source of sources) {
      if (source.aborted) stop.abort();
      else source.addEventListener("abort", abort, { once: true });
    }
    try {
      return await this.claimUntil(poolName, request, stop.signal);
    } finally {
      for (const source of sources) source.removeEventListener("abort", abort);
    }
  }

  private async claimUntil(poolName: string, request: ClaimRequest, signal: AbortSignal): Promise<ClaimedItem[]> {
    const limit = request.limit ?? 1;
    const waitSeconds = request.waitSeconds ?? 0;
    const deadline = Date.now() + waitSeconds * 1000;
    const items: ClaimedItem[] = [];
    for (;;) {
      const pool = await this.deps.pools.get(poolName);
      if (pool.type !== "local") {
        throw new ServiceError("CONFLICT", `work pool "${pool.name}" is a ${pool.type} pool: the control plane dispatches its runs, workers claim only from local pools`);
      }
      if (request.queue !== undefined && !pool.queues.some((queue) => queue.name === request.queue)) {
        throw new ServiceError("NOT_FOUND", `work pool "${pool.name}" has no queue "${request.queue}"; its queues are: ${queuesByPriority(pool).map((queue) => queue.name).join(", ")}`);
      }
      // Read once per round: the pool (as just read) and the deployments of the runs claimed.
      const reads: ClaimOptions = { pool, deployments: new Map() };
      const eligible = pool.paused ? [] : queuesByPriority(pool).filter((queue) => !queue.paused && (request.queue === undefined || queue.name === request.queue));
      // The queues a long poll may wait on: a queue at its concurrency limit is not one (a message
      // received from it would only be put back, and counted toward its dead-letter limit).
      const pollable: WorkPoolQueue[] = [];
      for (const queue of eligible) {
        if (items.length >= limit) break;
        if (await this.takeFrom(pool, queue, limit - items.length, items, request.workerId, reads)) pollable.push(queue);
      }
      const remainingSeconds = Math.floor((deadline - Date.now()) / 1000);
      if (items.length > 0 || remainingSeconds <= 0 || signal.aborted) return items;
      if (pollable.length === 0) {
        // A paused pool, or every queue paused or full: look again shortly rather than spin.
        await sleep(Math.min(1_000, remainingSeconds * 1000), signal);
        continue;
      }
      await this.longPoll(pool, pollable, Math.min(remainingSeconds, MAX_CLAIM_WAIT_SECONDS), limit, items, request.workerId, reads, signal);
      if (items.length > 0 || signal.aborted) return items;
    }
  }

  /** Claims up to `wanted` runs from one queue into `items`; false when the queue is at its concurrency limit. */
  private async takeFrom(pool: WorkPoolRecord, queue: WorkPoolQueue, wanted: number, items: ClaimedItem[], workerId: string, reads: ClaimOptions): Promise<boolean> {
    if (queue.concurrencyLimit === undefined) {
      await this.drain(pool, queue, wanted, items, workerId, reads);
      return true;
    }
    return this.serialized(pool, queue, () => this.drainLimited(pool, queue, wanted, items, workerId, reads));
  }

  private async drainLimited(pool: WorkPoolRecord, queue: WorkPoolQueue, wanted: number, items: ClaimedItem[], workerId: string, reads: ClaimOptions): Promise<boolean> {
    const limit = queue.concurrencyLimit ?? 0;
    const taken = await this.deps.dispatch.takenRunsIn(pool.name, queue.name, limit);
    const room = Math.min(wanted, limit - taken);
    if (room <= 0) return false;
    await this.drain(pool, queue, room, items, workerId, reads);
    return true;
  }

  /** Receives and claims until `wanted` runs are taken or the queue has no visible message. */
  private async drain(pool: WorkPoolRecord, queue: WorkPoolQueue, wanted: number, items: ClaimedItem[], workerId: string, reads: ClaimOptions): Promise<void> {
    const workQueue = this.deps.queues.queue({ pool: pool.name, queue: queue.name });
    let taken = 0;
    while (taken < wanted) {
      const deliveries = await workQueue.receive({ maxMessages: Math.min(MAX_RECEIVE_MESSAGES, wanted - taken) });
      if (deliveries.length === 0) return;
      taken += await this.handle(workQueue, deliveries, wanted - taken, items, workerId, reads);
    }
  }

  /** Claims each delivery (up to `room` runs); returns how many were taken. Deliveries beyond the room are released. */
  private async handle(workQueue: WorkQueue, deliveries: ReceivedMessage[], room: number, items: ClaimedItem[], workerId: string, reads: ClaimOptions): Promise<number> {
    let taken = 0;
    for (const delivery of deliveries) {
      if (taken >= room) {
        await workQueue.changeVisibility(delivery.receiptHandle, 0);
        continue;
      }
      const outcome = await this.deps.dispatch.claim({ runId: delivery.message.runId, messageId: delivery.messageId, receiveCount: delivery.receiveCount }, workQueue, reads);
      if (outcome.action === "claimed" && outcome.claimed.runnerToken !== undefined) {
        const { run, deployment, runnerToken } = outcome.claimed;
        try {
          items.push({ runId: run.id, runnerToken, flowRun: await this.deps.flowRuns.get(run.id), deployment });
          taken++;
        } catch (error) {
          await this.deps.dispatch.unclaim(run.id, { runId: run.id, messageId: delivery.messageId, receiveCount: delivery.receiveCount }, `worker ${workerId} could not take the run: ${(error as Error).message}`);
          throw error;
        }
      }
      // Claimed, re-sent for later (deferred), or nothing to do (skipped, failed): the delivery is handled.
      await workQueue.delete(delivery.receiptHandle);
    }
    return taken;
  }

  /**
   * Long-polls every eligible queue at once; the first to get messages ends the others' polls, and
   * every message received is claimed (or released when there is no room for it).
   */
  private async longPoll(
    pool: WorkPoolRecord,
    queues: WorkPoolQueue[],
    waitSeconds: number,
    limit: number,
    items: ClaimedItem[],
    workerId: string,
    reads: ClaimOptions,
    signal?: AbortSignal,
  ): Promise<void> {
    const stop = new AbortController();
    const abort = () => stop.abort();
    signal?.addEventListener("abort", abort, { once: true });
    try {
      const received = await Promise.all(
        queues.map(async (queue) => {
          const workQueue = this.deps.queues.queue({ pool: pool.name, queue: queue.name });
          const maxMessages = queue.concurrencyLimit === undefined ? Math.min(MAX_RECEIVE_MESSAGES, limit) : 1;
          const deliveries = await workQueue.receive({ maxMessages, waitSeconds, signal: stop.signal });
          if (deliveries.length > 0) stop.abort();
          return { queue, workQueue, deliveries };
        }),
      );
      for (const { queue, workQueue, deliveries } of received) {
        if (deliveries.length === 0) continue;
        const room = limit - items.length;
        if (queue.concurrencyLimit === undefined) {
          await this.handle(workQueue, deliveries, room, items, workerId, reads);
          continue;
        }
        await this.serialized(pool, queue, async () => {
          const taken = await this.deps.dispatch.takenRunsIn(pool.name, queue.name, queue.concurrencyLimit ?? 0);
          await this.handle(workQueue, deliveries, Math.min(room, (queue.concurrencyLimit ?? 0) - taken), items, workerId, reads);
        });
      }
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }

  private async serialized<T>(pool: WorkPoolRecord, queue: WorkPoolQueue, work: () => Promise<T>): Promise<T> {
    const key = `${pool.name}\u0000${queue.name}`;
    const previous = this.limitedQueueLocks.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.limitedQueueLocks.set(key, settled);
    try {
      return await next;
    } finally {
      if (this.limitedQueueLocks.get(key) === settled) this.limitedQueueLocks.delete(key);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
