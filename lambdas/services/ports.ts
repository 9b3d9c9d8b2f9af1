/**
 * The ports the worker functions (scheduler, dispatcher, monitor, runner) use besides the Store:
 * a work queue of runs to dispatch, the compute that runs a flow, and the flow bundles it loads.
 * AWS implements them in `lambdas/adapters/` (SQS, Lambda, ECS, S3).
 */
import type { JobSettings, RunnerInfo } from "../store/records.js";

/** A work-queue message: the run to dispatch. */
export interface RunMessage {
  runId: string;
}

/** The longest a queued message can be held back (SQS DelaySeconds). */
export const MAX_QUEUE_DELAY_SECONDS = 900;

/** The most messages one receive returns (as SQS). */
export const MAX_RECEIVE_MESSAGES = 10;

/** The longest a receive waits for a message (SQS long polling). */
export const MAX_RECEIVE_WAIT_SECONDS = 20;

/** The longest a received message stays hidden from other consumers (SQS: 12 hours). */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

/** How a consumer receives. */
export interface ReceiveOptions {
  /** 1 to {@link MAX_RECEIVE_MESSAGES}; 1 by default. */
  maxMessages?: number;
  /** Long polling: wait up to this long (0 to {@link MAX_RECEIVE_WAIT_SECONDS}) for a first message; 0 by default. */
  waitSeconds?: number;
  /** How long the messages received stay hidden from other consumers; the queue's own timeout by default. */
  visibilityTimeoutSeconds?: number;
  /** Ends a long poll early: the receive then resolves with no messages. */
  signal?: AbortSignal;
}

/** One delivery of a message. */
export interface ReceivedMessage {
  message: RunMessage;
  messageId: string;
  /** Identifies this delivery: deleting or changing the visibility of the message needs it. */
  receiptHandle: string;
  /** 1 on the first delivery, +1 on each one after (the message was not deleted in time). */
  receiveCount: number;
}

/**
 * The queue of runs waiting to be dispatched. Delivery is at least once: a consumer must tolerate
 * the same message twice. A received message is hidden for its visibility timeout; a consumer
 * deletes it once handled, or it is delivered again (and after the queue's maxReceiveCount
 * deliveries it moves to the dead-letter queue). Order is roughly first in, first out.
 *
 * @example
 * ```ts
 * await queue.send({ runId }, { delaySeconds: 60 });
 * for (const delivery of await queue.receive({ maxMessages: 10, waitSeconds: 20 })) {
 *   await handle(delivery.message);
 *   await queue.delete(delivery.receiptHandle);
 * }
 * ```
 */
export interface WorkQueue {
  /** `delaySeconds` (0 to {@link MAX_QUEUE_DELAY_SECONDS}) holds the message back that long. */
  send(message: RunMessage, options?: { delaySeconds?: number }): Promise<void>;
  /** The visible messages, up to `maxMessages`; with `waitSeconds`, waits for the first one that long. */
  receive(options?: ReceiveOptions): Promise<ReceivedMessage[]>;
  /** Deletes the delivered message. Rejects a receipt handle the queue never issued. */
  delete(receiptHandle: string): Promise<void>;
  /** Hides the delivered message for `seconds` from now (0 makes it visible at once). */
  changeVisibility(receiptHandle: string, seconds: number): Promise<void>;
}

/** Which queue: a work pool's queue by name. */
export interface QueueAddress {
  pool: string;
  queue: string;
}

/**
 * The work queues of every pool, one per (pool, queue).
 *
 * @example
 * ```ts
 * const queue = queues.queue({ pool: "etl", queue: deployment.workQueue ?? "default" });
 * await queue.send({ runId });
 * ```
 */
export interface WorkQueues {
  queue(address: QueueAddress): WorkQueue;
}

/**
 * Checks and fills in receive options: every out-of-range value is a RangeError naming it.
 *
 * @example
 * ```ts
 * receiveSettings({ waitSeconds: 5 }); // { maxMessages: 1, waitSeconds: 5 }
 * ```
 */
export function receiveSettings(options: ReceiveOptions = {}): { maxMessages: number; waitSeconds: number; visibilityTimeoutSeconds?: number } {
  const { maxMessages = 1, waitSeconds = 0, visibilityTimeoutSeconds } = options;
  const problems: string[] = [];
  if (!Number.isInteger(maxMessages) || maxMessages < 1 || maxMessages > MAX_RECEIVE_MESSAGES) problems.push(`maxMessages must be an integer from 1 to ${MAX_RECEIVE_MESSAGES}, not ${maxMessages}`);
  if (!Number.isInteger(waitSeconds) || waitSeconds < 0 || waitSeconds > MAX_RECEIVE_WAIT_SECONDS) problems.push(`waitSeconds must be an integer from 0 to ${MAX_RECEIVE_WAIT_SECONDS}, not ${waitSeconds}`);
  if (visibilityTimeoutSeconds !== undefined) checkVisibilityTimeout(visibilityTimeoutSeconds, problems);
  if (problems.length > 0) throw new RangeError(problems.join("; "));
  return { maxMessages, waitSeconds, ...(visibilityTimeoutSeconds === undefined ? {} : { visibilityTimeoutSeconds }) };
}

/**
 * Checks a visibility timeout: whole seconds from 0 to {@link MAX_VISIBILITY_TIMEOUT_SECONDS}.
 *
 * @example
 * ```ts
 * visibilitySeconds(30); // 30
 * ```
 */
export function visibilitySeconds(seconds: number): number {
  const problems: string[] = [];
  checkVisibilityTimeout(seconds, problems);
  if (problems.length > 0) throw new RangeError(problems.join("; "));
  return seconds;
}

function checkVisibilityTimeout(seconds: number, problems: string[]): void {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_VISIBILITY_TIMEOUT_SECONDS) {
    problems.push(`a visibility timeout must be an integer from 0 to ${MAX_VISIBILITY_TIMEOUT_SECONDS} seconds, not ${seconds}`);
  }
}

/** What a launcher needs to start a runner for one claimed run. */
export interface LaunchRequest {
  runId: string;
  /** The claim token the runner proves itself with (heartbeats, state proposals). */
  runnerToken?: string;
  /** The deployment's work pool, when it names one. */
  workPool?: string;
  /** The pool's job settings for this runner. */
  job?: JobSettings;
}

/**
 * Starts a runner for a claimed (PENDING) run; resolves once the compute has accepted the request,
 * not when the run ends, with where the runner runs. Rejects when the compute refused it.
 *
 * @example
 * ```ts
 * const runner = await launcher.launch({ runId, runnerToken, workPool: "fargate-arm", job: pool.jobSettings });
 * // later, when a cancelled run's runner did not stop by itself:
 * await launcher.stop(runner, "cancelled by the user; the runner did not stop within 30 s");
 * ```
 */
export interface ComputeLauncher {
  launch(request: LaunchRequest): Promise<RunnerInfo>;
  /**
   * Asks the compute to stop a runner this launcher started. True when a stop was requested; false
   * when this compute cannot stop a runner, or it is not one of this launcher's runners.
   */
  stop(runner: RunnerInfo, reason: string): Promise<boolean>;
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
 * await stateMachines.stop({ stateMachineArn, runId, reason: "cancelled by a user" });
 * ```
 */
export interface StateMachines {
  start(request: StartExecutionRequest): Promise<{ executionArn: string }>;
  /**
   * Stops the run's execution (a cancel): resolves true once Step Functions accepted the stop (the
   * execution then ends ABORTED), false when the machine has no execution of the run (never started,
   * or an Express execution, which cannot be stopped).
   */
  stop(request: StopExecutionRequest): Promise<boolean>;
}

/** Which run's execution to stop, and why (recorded as the execution's cause). */
export interface StopExecutionRequest {
  stateMachineArn: string;
  runId: string;
  reason: string;
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
