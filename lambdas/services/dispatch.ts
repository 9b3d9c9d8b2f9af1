import type { DeploymentRecord, FlowRunRecord } from "../store/records.js";
import type { Store } from "../store/store.js";
import type { FlowRunService } from "./flowRuns.js";
import { isPayloadRef } from "./payloads.js";
import { queueDelaySeconds, type ComputeLauncher, type StateMachines, type WorkQueue } from "./ports.js";

/** Where a runner runs: the runner Lambda, or a Fargate task. */
export type RunnerCompute = "lambda" | "fargate";

/**
 * The compute a deployment's work pool asks for: pools whose name starts with `fargate` run in
 * Fargate tasks, every other pool (and no pool) in the runner Lambda.
 *
 * @example
 * ```ts
 * computeForWorkPool("fargate-arm"); // "fargate"
 * computeForWorkPool(undefined); // "lambda"
 * ```
 */
export function computeForWorkPool(workPool: string | undefined): RunnerCompute {
  return workPool?.startsWith("fargate") ? "fargate" : "lambda";
}

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
      queue: WorkQueue;
      launchers: Record<RunnerCompute, ComputeLauncher>;
      /** Starts runs of "step-functions" deployments; without it, such runs fail at dispatch. */
      stateMachines?: StateMachines;
      now: () => number;
    },
  ) {}

  async dispatch(delivery: Delivery): Promise<DispatchOutcome> {
    const { store, queue } = this.deps;
    const run = await store.getFlowRun(delivery.runId);
    if (!run) return { action: "skipped", reason: `flow run ${delivery.runId} does not exist` };
    // Only a SCHEDULED run can be claimed: anything else was claimed already, or cancelled.
    if (run.state.type !== "SCHEDULED") return { action: "skipped", reason: `flow run ${run.id} is ${run.state.type}, not SCHEDULED` };
    const delaySeconds = queueDelaySeconds(run.scheduledTime, this.deps.now());
    if (delaySeconds > 0) {
      await queue.send({ runId: run.id }, { delaySeconds });
      return { action: "deferred", delaySeconds };
    }
    const deployment = run.deploymentId === undefined ? undefined : await store.getDeploymentById(run.deploymentId);
    if (!deployment) return this.failWithoutDeployment(run, delivery);
    const unstartable = deployment.engine === "step-functions" ? this.unstartableReason(run, deployment) : undefined;
    if (unstartable !== undefined) return this.failAtDispatch(run, delivery, "StateMachineUnavailable", unstartable);
    if (!(await this.claim(run.id, delivery))) return { action: "skipped", reason: `flow run ${run.id} is not SCHEDULED or was claimed by another delivery` };
    return this.launch(run, deployment, delivery);
  }

  /** Claims the run for this delivery; true only if this call wrote the claim. */
  private async claim(runId: string, delivery: Delivery): Promise<boolean> {
    const first = await this.deps.flowRuns.proposeState(runId, { state: { type: "PENDING" }, transitionId: `dispatch:${delivery.messageId}` });
    if (first.decision.status !== "ACCEPT") return false;
    if (first.decision.rule !== "duplicate-transition") return true;
    // An earlier delivery of this message claimed the run. If that claim was undone after a failed
    // launch the run is SCHEDULED again and this delivery is the retry; otherwise it is a duplicate.
    if (first.decision.state.type !== "SCHEDULED") return false;
    const again = await this.deps.flowRuns.proposeState(runId, {
      state: { type: "PENDING" },
      transitionId: `dispatch:${delivery.messageId}:${delivery.receiveCount}`,
    });
    return again.decision.status === "ACCEPT" && again.decision.rule !== "duplicate-transition";
  }

  private async launch(run: FlowRunRecord, deployment: DeploymentRecord, delivery: Delivery): Promise<DispatchOutcome> {
    const compute = deployment.engine === "step-functions" ? "step-functions" : computeForWorkPool(deployment.workPool);
    try {
      if (compute === "step-functions") {
        const { executionArn } = await this.startExecution(run, deployment);
        return { action: "started", executionArn };
      }
      await this.deps.launchers[compute].launch({ runId: run.id, ...(deployment.workPool === undefined ? {} : { workPool: deployment.workPool }) });
      return { action: "launched", compute };
    } catch (error) {
      const failure = new LaunchFailedError(run.id, compute, error);
      await this.deps.flowRuns.proposeState(run.id, {
        state: { type: "SCHEDULED", name: "AwaitingRetry", message: failure.message.slice(0, 4_000), scheduledTime: new Date(this.deps.now()).toISOString() },
        transitionId: `dispatch:${delivery.messageId}:${delivery.receiveCount}:undo`,
      });
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
  private async failWithoutDeployment(run: FlowRunRecord, delivery: Delivery): Promise<DispatchOutcome> {
    const reason =
      run.deploymentId === undefined
        ? `flow run ${run.id} belongs to no deployment, so the control plane has no code to run it with`
        : `deployment ${run.deploymentId} of flow run ${run.id} no longer exists`;
    return this.failAtDispatch(run, delivery, "DeploymentNotFound", reason);
  }

  private async failAtDispatch(run: FlowRunRecord, delivery: Delivery, errorName: string, reason: string): Promise<DispatchOutcome> {
    const outcome = await this.deps.flowRuns.proposeState(run.id, {
      state: { type: "FAILED", message: reason },
      error: { name: errorName, message: reason },
      transitionId: `dispatch:${delivery.messageId}`,
    });
    return outcome.decision.status === "ACCEPT" ? { action: "failed", reason } : { action: "skipped", reason: outcome.decision.reason };
  }
}
