import { randomBytes } from "node:crypto";
import type { DeploymentRecord, FlowRunRecord, WorkPoolRecord } from "../store/records.js";
import type { Store } from "../store/store.js";
import type { ServiceDeps } from "./context.js";
import type { FlowRunService } from "./flowRuns.js";
import { isPayloadRef } from "./payloads.js";
import { queueDelaySeconds, type ComputeLauncher, type StateMachines, type WorkQueue } from "./ports.js";
import { DEFAULT_QUEUE, resolveQueue } from "./workPools.js";

/**
 * A new runner token: 24 random bytes, base64url. Only the claimer ever sees it.
 *
 * @example
 * ```ts
 * const token = newRunnerToken(); // "m1V0…"
 * ```
 */
export function newRunnerToken(): string {
  return randomBytes(24).toString("base64url");
}

/** Where a runner runs: the runner Lambda, or a Fargate task. */
export type RunnerCompute = "lambda" | "fargate";

/** How long a run of a paused pool or queue, or of a queue at its concurrency limit, waits before it is looked at again. */
export const HELD_BACK_SECONDS = 30;

/**
 * The compute a deployment's runs get from the dispatcher: its work pool's type, and the runner
 * Lambda for a deployment without a pool. Local pools are served by `aloft worker`, not the dispatcher.
 *
 * @example
 * ```ts
 * computeForWorkPool({ type: "fargate" }); // "fargate"
 * computeForWorkPool(undefined); // "lambda"
 * ```
 */
export function computeForWorkPool(pool: Pick<WorkPoolRecord, "type"> | undefined): RunnerCompute | "local" {
  return pool?.type ?? "lambda";
}

/**
 * The service hooks that send deployment runs to the dispatcher's work queue as soon as they are
 * created, retried or resumed (held back until due, at most 15 minutes; the dispatcher re-queues an
 * early message), instead of leaving them for the monitor's Late sweep.
 *
 * @example
 * ```ts
 * const deps = serviceDeps(store, payloads, { ...queueingHooks(new SqsWorkQueue(loadSqsClient, queueUrl), Date.now) });
 * ```
 */
export function queueingHooks(queue: WorkQueue, now: () => number): Required<Pick<ServiceDeps, "onDeploymentRunCreated" | "onRunRescheduled">> {
  const send = (run: FlowRunRecord) => queue.send({ runId: run.id }, { delaySeconds: queueDelaySeconds(run.scheduledTime, now()) });
  return { onDeploymentRunCreated: (run) => send(run), onRunRescheduled: send };
}

/**
 * A claimed run: what a runner needs to run it.
 *
 * @example
 * ```ts
 * const outcome = await dispatch.claim(delivery, queue);
 * if (outcome.action === "claimed") await launcher.launch({ runId: outcome.claimed.run.id, runnerToken: outcome.claimed.runnerToken });
 * ```
 */
export interface ClaimedRun {
  run: FlowRunRecord;
  deployment: DeploymentRecord;
  /** The deployment's work pool (absent for a deployment without one). */
  pool?: WorkPoolRecord;
  /** The runner's token; absent for Step Functions runs, which have no runner. */
  runnerToken?: string;
}

/**
 * How a claim may skip reads its caller has already made (a worker's claim request reads the pool
 * once and claims many runs of few deployments).
 *
 * @example
 * ```ts
 * const deployments = new Map();
 * for (const delivery of deliveries) await dispatch.claim(delivery, queue, { pool, deployments });
 * ```
 */
export interface ClaimOptions {
  /** Leave runs of local pools to their workers (the Lambda dispatcher). */
  skipLocalPools?: boolean;
  /** The pool as just read: used when it is the run's deployment's pool. */
  pool?: WorkPoolRecord;
  /** Deployments already read during this request, by id (filled as the claim reads more). */
  deployments?: Map<string, Promise<DeploymentRecord | undefined>>;
}

type FailedOrSkipped = { action: "failed"; reason: string } | { action: "skipped"; reason: string };

/**
 * What claiming a delivery led to.
 *
 * @example
 * ```ts
 * const outcome: ClaimOutcome = await dispatch.claim(delivery, queue);
 * if (outcome.action === "deferred") console.log(`back in ${outcome.delaySeconds}s`);
 * ```
 */
export type ClaimOutcome =
  | { action: "claimed"; claimed: ClaimedRun }
  | { action: "deferred"; delaySeconds: number }
  | { action: "skipped"; reason: string }
  | { action: "failed"; reason: string };

/** One work-queue delivery, as SQS describes it. */
export interface Delivery {
  runId: string;
  messageId: string;
  /** SQS's ApproximateReceiveCount: 1 on the first delivery. */
  receiveCount: number;
}

/** What a delivery led to. */
export type DispatchOutcome =
  | { action: "deferred"; delaySeconds: number }
  | { action: "launched"; compute: RunnerCompute }
  | { action: "started"; executionArn: string }
  | { action: "skipped"; reason: string }
  | { action: "failed"; reason: string };

/**
 * The runner could not be started; the run went back to SCHEDULED (AwaitingRetry) and the delivery
 * must fail so that the queue delivers it again (and its dead-letter queue keeps it after too many).
 */
export class LaunchFailedError extends Error {
  constructor(readonly runId: string, readonly compute: RunnerCompute | "step-functions", cause: unknown) {
    const what = compute === "step-functions" ? "the Step Functions execution" : `a ${compute} runner`;
    super(`could not start ${what} for flow run ${runId}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "LaunchFailedError";
  }
}

/**
 * Dispatch: turns a work-queue message into exactly one runner. A run not yet due is queued again
 * for the rest of its wait. A due run is claimed (SCHEDULED → PENDING, transition id
 * `dispatch:<messageId>`) and only the delivery whose claim wrote launches, so two deliveries of
 * one message, or two messages for one run, start one runner. When the launch fails the claim is
 * undone (SCHEDULED, AwaitingRetry) and {@link LaunchFailedError} is thrown; the message's next
 * delivery finds its own claim undone and claims again under `dispatch:<messageId>:<receiveCount>`.
 * A run of a deployment with engine "step-functions" starts no runner: it is claimed the same way,
 * then started as an execution of the deployment's state machine named after the run (the mirror
 * takes it from there).
 *
 * @example
 * ```ts
 * const dispatch = new DispatchService({ store, flowRuns, queue, launchers: { lambda, fargate }, now: Date.now });
 * await dispatch.dispatch({ runId, messageId: record.messageId, receiveCount: 1 });
 * ```
 */
export class DispatchService {
  constructor(
    private readonly deps: {
      store: Store;
      flowRuns: FlowRunService;
      /** The queue deliveries come from (SQS); runs held back are sent to it again. Only `claim` callers that pass their own queue may omit it. */
      queue?: WorkQueue;
      /** The compute of lambda and fargate pools; the local server, which only claims for workers, has none. */
      launchers?: Partial<Record<RunnerCompute, ComputeLauncher>>;
      /** Starts runs of "step-functions" deployments; without it, such runs fail at dispatch. */
      stateMachines?: StateMachines;
      now: () => number;
    },
  ) {}

  async dispatch(delivery: Delivery): Promise<DispatchOutcome> {
    const { queue } = this.deps;
    if (queue === undefined) throw new Error("this DispatchService has no work queue: dispatch() needs the queue its deliveries come from");
    const outcome = await this.claim(delivery, queue, { skipLocalPools: true });
    if (outcome.action !== "claimed") return outcome;
    return this.launch(outcome.claimed, delivery);
  }

  /**
   * Claims the run of a delivery for one runner: the one claim code path of the Lambda dispatcher
   * and of `POST /v1/work-pools/{pool}/claims`. A run not yet due, or whose pool or queue is
   * paused or at its concurrency limit, is sent to `requeue` again with a delay ("deferred"); a
   * run whose deployment is gone fails; a due run is claimed (SCHEDULED → PENDING with a new runner
   * token, transition id `dispatch:<messageId>`), and only the delivery whose claim wrote gets
   * "claimed", so two deliveries of one message, or two messages for one run, give one runner.
   */
  async claim(delivery: Delivery, requeue: WorkQueue, options: ClaimOptions = {}): Promise<ClaimOutcome> {
    const { store } = this.deps;
    const run = await store.getFlowRun(delivery.runId);
    if (!run) return { action: "skipped", reason: `flow run ${delivery.runId} does not exist` };
    // Only a SCHEDULED run can be claimed: anything else was claimed already, or cancelled.
    if (run.state.type !== "SCHEDULED") return { action: "skipped", reason: `flow run ${run.id} is ${run.state.type}, not SCHEDULED` };
    if (run.runnerToken !== undefined) return { action: "skipped", reason: `flow run ${run.id} waits for a retry inside the runner that holds it` };
    const delaySeconds = queueDelaySeconds(run.scheduledTime, this.deps.now());
    if (delaySeconds > 0) return this.defer(run, requeue, delaySeconds);
    const deployment = run.deploymentId === undefined ? undefined : await this.deploymentById(run.deploymentId, options.deployments);
    if (!deployment) return this.failWithoutDeployment(run, delivery);
    const unstartable = deployment.engine === "step-functions" ? this.unstartableReason(run, deployment) : undefined;
    if (unstartable !== undefined) return this.failAtDispatch(run, delivery, "StateMachineUnavailable", unstartable);
    let pool: WorkPoolRecord | undefined;
    if (deployment.engine !== "step-functions" && deployment.workPool !== undefined) {
      pool = options.pool?.name === deployment.workPool ? options.pool : await store.getWorkPool(deployment.workPool);
      if (!pool) return this.failAtDispatch(run, delivery, "WorkPoolNotFound", `work pool "${deployment.workPool}" of deployment ${deployment.name} does not exist`);
      if (options.skipLocalPools === true && pool.type === "local") {
        // A misrouted message: `aloft worker --pool <name>` takes the runs of local pools.
        return { action: "skipped", reason: `flow run ${run.id} belongs to local work pool "${pool.name}", whose workers take its runs` };
      }
      if (await this.heldBack(pool, deployment)) return this.defer(run, requeue, HELD_BACK_SECONDS);
    }
    // Step Functions runs have no runner to beat and report: they are claimed without a token.
    const runnerToken = deployment.engine === "step-functions" ? undefined : newRunnerToken();
    if (!(await this.claimRun(run.id, delivery, runnerToken))) {
      return { action: "skipped", reason: `flow run ${run.id} is not SCHEDULED or was claimed by another delivery` };
    }
    const claimed: ClaimedRun = { run, deployment };
    if (pool) claimed.pool = pool;
    if (runnerToken !== undefined) claimed.runnerToken = runnerToken;
    return { action: "claimed", claimed };
  }

  private deploymentById(id: string, cache: ClaimOptions["deployments"]): Promise<DeploymentRecord | undefined> {
    if (cache === undefined) return this.deps.store.getDeploymentById(id);
    let found = cache.get(id);
    if (found === undefined) {
      found = this.deps.store.getDeploymentById(id);
      cache.set(id, found);
    }
    return found;
  }

  /** Gives a claimed run back (SCHEDULED, AwaitingRetry): its runner could not be started. */
  async unclaim(runId: string, delivery: Delivery, reason: string): Promise<void> {
    await this.deps.flowRuns.proposeState(runId, {
      state: { type: "SCHEDULED", name: "AwaitingRetry", message: reason.slice(0, 4_000), scheduledTime: new Date(this.deps.now()).toISOString() },
      transitionId: `dispatch:${delivery.messageId}:${delivery.receiveCount}:undo`,
      controlPlane: true,
    });
  }

  private async defer(run: FlowRunRecord, requeue: WorkQueue, delaySeconds: number): Promise<ClaimOutcome> {
    await requeue.send({ runId: run.id }, { delaySeconds });
    return { action: "deferred", delaySeconds };
  }

  /** Whether the run must wait: its pool or queue is paused, or its queue has as many runs taken as its concurrency limit. */
  private async heldBack(pool: WorkPoolRecord, deployment: DeploymentRecord): Promise<boolean> {
    if (pool.paused) return true;
    const queue = resolveQueue(pool, deployment.workQueue);
    if (!queue) return false;
    if (queue.paused) return true;
    return queue.concurrencyLimit !== undefined && (await this.takenRunsIn(pool.name, queue.name, queue.concurrencyLimit)) >= queue.concurrencyLimit;
  }

  /**
   * How many runs of a pool's queue are taken (PENDING or RUNNING), counting up to `atMost`: the
   * state index (GSI3) gives the taken runs, their deployments say which queue they came from.
   */
  async takenRunsIn(poolName: string, queueName: string, atMost: number): Promise<number> {
    const { store } = this.deps;
    const deployments = new Map<string, Promise<DeploymentRecord | undefined>>();
    let taken = 0;
    for (const stateType of ["PENDING", "RUNNING"] as const) {
      let cursor: string | undefined;
      do {
        const page = await store.listFlowRuns({ stateType }, { limit: 100, ...(cursor === undefined ? {} : { cursor }) });
        cursor = page.cursor;
        for (const run of page.items) {
          if (run.deploymentId === undefined) continue;
          if (!deployments.has(run.deploymentId)) deployments.set(run.deploymentId, store.getDeploymentById(run.deploymentId));
          const deployment = await deployments.get(run.deploymentId);
          if (deployment?.workPool === poolName && (deployment.workQueue ?? DEFAULT_QUEUE) === queueName && ++taken >= atMost) return taken;
        }
      } while (cursor !== undefined);
    }
    return taken;
  }

  /** Claims the run for this delivery; true only if this call wrote the claim. */
  private async claimRun(runId: string, delivery: Delivery, runnerToken: string | undefined): Promise<boolean> {
    const claim = { state: { type: "PENDING" as const }, controlPlane: true, ...(runnerToken === undefined ? {} : { claimToken: runnerToken }) };
    const first = await this.deps.flowRuns.proposeState(runId, { ...claim, transitionId: `dispatch:${delivery.messageId}` });
    if (first.decision.status !== "ACCEPT") return false;
    if (first.decision.rule !== "duplicate-transition") return true;
    // An earlier delivery of this message claimed the run. If that claim was undone after a failed
    // launch the run is SCHEDULED again and this delivery is the retry; otherwise it is a duplicate.
    if (first.decision.state.type !== "SCHEDULED") return false;
    const again = await this.deps.flowRuns.proposeState(runId, { ...claim, transitionId: `dispatch:${delivery.messageId}:${delivery.receiveCount}` });
    return again.decision.status === "ACCEPT" && again.decision.rule !== "duplicate-transition";
  }

  private async launch(claimed: ClaimedRun, delivery: Delivery): Promise<DispatchOutcome> {
    const { run, deployment, pool, runnerToken } = claimed;
    const compute = deployment.engine === "step-functions" ? "step-functions" : pool?.type === "fargate" ? "fargate" : "lambda";
    try {
      if (compute === "step-functions") {
        const { executionArn } = await this.startExecution(run, deployment);
        return { action: "started", executionArn };
      }
      const launcher = this.deps.launchers?.[compute];
      if (launcher === undefined) throw new Error(`this dispatcher has no ${compute} launcher`);
      await launcher.launch({
        runId: run.id,
        ...(runnerToken === undefined ? {} : { runnerToken }),
        ...(deployment.workPool === undefined ? {} : { workPool: deployment.workPool }),
        ...(pool === undefined ? {} : { job: pool.jobSettings }),
      });
      return { action: "launched", compute };
    } catch (error) {
      const failure = new LaunchFailedError(run.id, compute, error);
      await this.unclaim(run.id, delivery, failure.message);
      throw failure;
    }
  }


  /** Starts the run as an execution of its deployment's state machine, with the run's parameters (references resolved). */
  private async startExecution(run: FlowRunRecord, deployment: DeploymentRecord): Promise<{ executionArn: string }> {
    const { stateMachines } = this.deps;
    const reason = this.unstartableReason(run, deployment);
    if (stateMachines === undefined || deployment.stateMachineArn === undefined || reason !== undefined) throw new Error(reason);
    const { parameters } = await this.deps.flowRuns.get(run.id);
    return stateMachines.start({ stateMachineArn: deployment.stateMachineArn, runId: run.id, input: { params: parameters as Record<string, unknown> } });
  }

  /** Why a run of a "step-functions" deployment cannot be started here, or undefined when it can. */
  private unstartableReason(run: FlowRunRecord, deployment: DeploymentRecord): string | undefined {
    if (deployment.stateMachineArn === undefined) {
      return `deployment ${deployment.name} has engine "step-functions" but no state machine: deploy it with the CDK FlowBundle construct`;
    }
    if (this.deps.stateMachines === undefined) return `this dispatcher cannot start Step Functions executions (deployment ${deployment.name})`;
    // The execution input must fit Step Functions' 256 KiB; parameters stored by reference are over 64 KiB.
    if (isPayloadRef(run.parameters) && run.parameters.bytes > 255 * 1024) {
      return `the parameters of flow run ${run.id} (${run.parameters.bytes} bytes) are over Step Functions' 256 KiB execution input limit`;
    }
    return undefined;
  }

  /** A run with no deployment has no code to run: it fails, with the reason, instead of waiting forever. */
  private async failWithoutDeployment(run: FlowRunRecord, delivery: Delivery): Promise<FailedOrSkipped> {
    const reason =
      run.deploymentId === undefined
        ? `flow run ${run.id} belongs to no deployment, so the control plane has no code to run it with`
        : `deployment ${run.deploymentId} of flow run ${run.id} no longer exists`;
    return this.failAtDispatch(run, delivery, "DeploymentNotFound", reason);
  }

  private async failAtDispatch(run: FlowRunRecord, delivery: Delivery, errorName: string, reason: string): Promise<FailedOrSkipped> {
    const outcome = await this.deps.flowRuns.proposeState(run.id, {
      controlPlane: true,
      state: { type: "FAILED", message: reason },
      error: { name: errorName, message: reason },
      transitionId: `dispatch:${delivery.messageId}`,
    });
    return outcome.decision.status === "ACCEPT" ? { action: "failed", reason } : { action: "skipped", reason: outcome.decision.reason };
  }
}
