/**
 * The ports the worker functions (scheduler, dispatcher, monitor, runner) use besides the Store:
 * a work queue of runs to dispatch, the compute that runs a flow, and the flow bundles it loads.
 * AWS implements them in `lambdas/adapters/` (SQS, Lambda, ECS, S3).
 */

/** A work-queue message: the run to dispatch. */
export interface RunMessage {
  runId: string;
}

/** The longest a queued message can be held back (SQS DelaySeconds). */
export const MAX_QUEUE_DELAY_SECONDS = 900;

/**
 * The queue of runs waiting to be dispatched. Delivery is at least once: a consumer must tolerate
 * the same message twice.
 *
 * @example
 * ```ts
 * await queue.send({ runId }, { delaySeconds: 60 });
 * ```
 */
export interface WorkQueue {
  /** `delaySeconds` (0 to {@link MAX_QUEUE_DELAY_SECONDS}) holds the message back that long. */
  send(message: RunMessage, options?: { delaySeconds?: number }): Promise<void>;
}

/** What a launcher needs to start a runner for one claimed run. */
export interface LaunchRequest {
  runId: string;
  /** The deployment's work pool, when it names one. */
  workPool?: string;
}

/**
 * Starts a runner process for a claimed (PENDING) run; resolves once the compute has accepted the
 * request, not when the run ends. Rejects when the compute refused it.
 *
 * @example
 * ```ts
 * await launcher.launch({ runId, workPool: "fargate-arm" });
 * ```
 */
export interface ComputeLauncher {
  launch(request: LaunchRequest): Promise<void>;
}

/**
 * Flow bundles: ES modules built from a project's flows, addressed by bundle id.
 *
 * @example
 * ```ts
 * const exports = await bundles.load("etl-3f2a9c");
 * ```
 */
export interface FlowBundles {
  /** The module namespace of the bundle (its exports). */
  load(bundleId: string): Promise<Record<string, unknown>>;
}

/**
 * Seconds to hold a message back so that it arrives when the run is due, capped at
 * {@link MAX_QUEUE_DELAY_SECONDS} (a run due later is re-sent on arrival with the rest).
 *
 * @example
 * ```ts
 * queueDelaySeconds("2026-11-01T10:05:00Z", Date.parse("2026-11-01T10:00:00Z")); // 300
 * ```
 */
export function queueDelaySeconds(dueAt: string | undefined, now: number): number {
  if (dueAt === undefined) return 0;
  const seconds = Math.ceil((Date.parse(dueAt) - now) / 1000);
  if (!Number.isFinite(seconds) || seconds <= 0) return 0;
  return Math.min(MAX_QUEUE_DELAY_SECONDS, seconds);
}

/** What starting one flow run as a Step Functions execution needs. */
export interface StartExecutionRequest {
  stateMachineArn: string;
  /** The flow run id: the execution is named after it, so the mirror finds the run and a second start is refused. */
  runId: string;
  /** The execution input: `{ params: <the run's parameters> }`. */
  input: { params: Record<string, unknown> };
}

/**
 * Starts executions of the state machines compiled from flows (engine "step-functions"). Resolves
 * with the execution's ARN once Step Functions accepted it; starting a run whose execution exists
 * already resolves with that execution, so a redelivered start is harmless.
 *
 * @example
 * ```ts
 * const { executionArn } = await stateMachines.start({ stateMachineArn, runId, input: { params: { day: "2026-11-01" } } });
 * ```
 */
export interface StateMachines {
  start(request: StartExecutionRequest): Promise<{ executionArn: string }>;
}

/**
 * Completes the `.waitForTaskToken` state a Step Functions run waits in (its approval): SendTaskSuccess
 * on AWS; locally, the in-process execution's waiting state. Resolves false when the token can no
 * longer be completed (the state timed out, the execution ended, or the token is unknown).
 *
 * @example
 * ```ts
 * await callbacks.sendTaskSuccess(run.approvalToken, { approved: true, input: null });
 * ```
 */
export interface StepFunctionsCallbacks {
  sendTaskSuccess(taskToken: string, output: unknown): Promise<boolean>;
}
