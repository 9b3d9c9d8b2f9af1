/**
 * The vocabulary of orchestration: what a caller proposes for a run, what the run looks like when
 * the proposal is decided, and the {@link Decision} that comes back. The rules themselves live in
 * `rules.ts`; this file only holds types, so adapters and HTTP routes can import it cheaply.
 *
 * Flow runs and task runs share these types and the same rules: a task run's tag limits are passed
 * as {@link ConcurrencyUsage} entries just like a deployment's limit.
 */
import type { State, StateType } from "../../../sdk/model/states.js";

/**
 * The four answers to a proposed transition.
 *
 * - `ACCEPT` — the proposal is honoured (possibly rewritten, e.g. CANCELLING → CANCELLED for a run
 *   with nothing to stop). The caller adopts `state`.
 * - `REJECT` — the run's current state forbids the proposal. The caller adopts `state` (normally the
 *   current state) and must not act as if the proposal had happened. Proposing the same thing again
 *   is pointless until the run's state changes.
 * - `WAIT` — not yet: propose again after `delaySeconds` (a run that starts early, or a full
 *   concurrency limit with the ENQUEUE strategy). Nothing is written.
 * - `ABORT` — the proposal can never succeed whatever the run's state becomes: the run does not
 *   exist or is being deleted, the proposal is malformed, or a concurrency limit is 0. The caller
 *   gives up (a runner exits without running).
 *
 * @example
 * ```ts
 * const status: DecisionStatus = "WAIT";
 * ```
 */
export type DecisionStatus = "ACCEPT" | "REJECT" | "WAIT" | "ABORT";

/**
 * The rule that produced a decision: a stable code for logs, metrics and tests (the `reason` is the
 * human sentence).
 *
 * @example
 * ```ts
 * if (decision.rule === "concurrency-full") metrics.count("slot_waits");
 * ```
 */
export type DecisionRule =
  | "allowed"
  | "duplicate-transition"
  | "run-not-found"
  | "run-deleting"
  | "invalid-proposal"
  | "claim-only-from-scheduled"
  | "pause-only-when-running"
  | "cancelling-ends-cancelled"
  | "cancel-without-process"
  | "terminal-is-final"
  | "retry-reopens"
  | "completed-needs-force"
  | "reopen-through-claim"
  | "early-start"
  | "concurrency-limit-zero"
  | "concurrency-full"
  | "concurrency-cancel-new"
  | "claimed-by-another-runner"
  | "runner-heartbeat-moved"
  | "run-changed";

/**
 * What happens when a concurrency limit is full: `ENQUEUE` makes the run WAIT for a slot,
 * `CANCEL_NEW` cancels the run that asked (Prefect's collision strategies).
 *
 * @example
 * ```ts
 * const strategy: CollisionStrategy = "CANCEL_NEW";
 * ```
 */
export type CollisionStrategy = "ENQUEUE" | "CANCEL_NEW";

/**
 * One concurrency limit that applies to the run (a deployment's limit, or a task run's `tag:<name>`
 * limit), read just before deciding.
 *
 * @example
 * ```ts
 * const usage: ConcurrencyUsage = { name: "deployment:etl", limit: 2, inUse: 2, strategy: "ENQUEUE" };
 * ```
 */
export interface ConcurrencyUsage {
  /** Named in reasons, e.g. `deployment:etl` or `tag:db`. */
  name: string;
  /** Slots the limit allows; 0 means the run can never start (ABORT). */
  limit: number;
  /** Slots held by other runs right now. */
  inUse: number;
  /** What to do when the limit is full; `ENQUEUE` when omitted. */
  strategy?: CollisionStrategy;
  /** How long an ENQUEUE'd run waits before proposing again; {@link DEFAULT_SLOT_WAIT_SECONDS} when omitted. */
  waitSeconds?: number;
}

/**
 * Seconds a run waits for a concurrency slot before proposing RUNNING again (Prefect's default).
 *
 * @example
 * ```ts
 * const retryAt = Date.now() + DEFAULT_SLOT_WAIT_SECONDS * 1000;
 * ```
 */
export const DEFAULT_SLOT_WAIT_SECONDS = 30;

/**
 * A run (flow run or task run) as the store holds it when a proposal is decided.
 *
 * @example
 * ```ts
 * const run: RunSnapshot = {
 *   state: makeState("Scheduled", Date.now()),
 *   version: 3,
 *   scheduledTime: "2026-11-22T10:00:00.000Z",
 *   transitionIds: ["c0ffee-1", "c0ffee-2"],
 * };
 * ```
 */
export interface RunSnapshot {
  state: State;
  /** Incremented by exactly 1 on every write; the write is conditional on it. */
  version: number;
  /**
   * When the run is due (ISO 8601). Set by every SCHEDULED state and kept through PENDING, so a
   * RUNNING proposal from SCHEDULED or PENDING before this time gets WAIT.
   */
  scheduledTime?: string;
  /**
   * Transition ids of the writes already made to this run, oldest first. The store may keep only
   * the most recent ones; a duplicate older than what is kept is decided as a new proposal.
   */
  transitionIds?: readonly string[];
  /** Whether the run holds a slot in its concurrency limits (taken on entering RUNNING). */
  holdsSlot?: boolean;
  /** The run is being deleted: it accepts no more transitions. */
  deleting?: boolean;
  /**
   * The token of the runner that claimed the run (set on entering PENDING by a claim, cleared on
   * entering SCHEDULED). While it is set, only that runner moves the run.
   */
  runnerToken?: string;
  /** The runner's last heartbeat (ISO 8601), when it has beaten since its claim. */
  heartbeatAt?: string;
}

/**
 * The state a caller asks the run to move to.
 *
 * @example
 * ```ts
 * const retry: ProposedState = { type: "SCHEDULED", name: "AwaitingRetry", scheduledTime: "2026-11-22T10:05:00.000Z" };
 * ```
 */
export interface ProposedState {
  type: StateType;
  /** Refines the type; must not be a known name of another type. The type's usual name when omitted. */
  name?: string;
  message?: string;
  /** For SCHEDULED only: when the run is due (ISO 8601); the decision time when omitted. */
  scheduledTime?: string;
}

/**
 * Everything {@link decideTransition} needs: it reads nothing else, so the same input always gives
 * the same decision.
 *
 * @example
 * ```ts
 * const input: TransitionInput = {
 *   current: run,
 *   proposed: { type: "PENDING" },
 *   transitionId: "worker-7:run-42:claim",
 *   now: Date.now(),
 * };
 * ```
 */
export interface TransitionInput {
  /** The run as read from the store; `undefined` when it does not exist (ABORT). */
  current: RunSnapshot | undefined;
  proposed: ProposedState;
  /** A client-chosen id; proposing the same id again never writes twice. */
  transitionId?: string;
  /** An explicit retry (the retry policy or a user's "retry"): re-opens a FAILED, CRASHED or CANCELLED run. */
  retry?: boolean;
  /** An operator's override: like `retry`, and also re-runs a COMPLETED run. */
  force?: boolean;
  /** The decision time, in epoch milliseconds. */
  now: number;
  /** The concurrency limits that apply to the run, read just before deciding. */
  concurrency?: readonly ConcurrencyUsage[];
  /** The token of the runner that proposes (given to it by its claim); must be the run's current token. */
  runnerToken?: string;
  /**
   * The control plane itself proposes (a user's cancel, retry or resume, the dispatcher, the monitor,
   * the Step Functions mirror): no runner token is needed.
   */
  controlPlane?: boolean;
  /** With a PENDING proposal (a claim): the new runner's token, stored on the run by the write. */
  claimToken?: string;
  /**
   * The monitor's crash proposal: the runner's last heartbeat as the monitor saw it (`null`: none).
   * A run whose heartbeat has moved since is not crashed (REJECT, "runner-heartbeat-moved"), and the
   * write is conditional on it too, so a beat that lands between the read and the write wins.
   */
  expectHeartbeatAt?: string | null;
  /**
   * The proposal was made about this version of the run (the monitor, from a listing): a run that
   * has changed since is not touched (REJECT, "run-changed").
   */
  expectVersion?: number;
}

/**
 * Slot bookkeeping the caller performs together with the run's write.
 *
 * @example
 * ```ts
 * if (decision.effects.takeSlot) await limits.take(run.id, usages);
 * ```
 */
export interface SlotEffects {
  /** Take one slot in every limit of `TransitionInput.concurrency` (the run enters RUNNING). */
  takeSlot?: boolean;
  /** Release the slots the run holds (it left RUNNING, PAUSED and CANCELLING). */
  releaseSlot?: boolean;
}

/**
 * The single conditional write that applies a decision: set the run to these values if, and only
 * if, its version is still `expectedVersion`. When the condition fails, read the run again and
 * decide again.
 *
 * @example
 * ```ts
 * // DynamoDB: UpdateItem … ConditionExpression "version = :expected"
 * const values = { ":expected": write.expectedVersion, ":version": write.version, ":state": write.state };
 * ```
 */
export interface RunWrite {
  expectedVersion: number;
  /** Always `expectedVersion + 1`. */
  version: number;
  state: State;
  scheduledTime?: string;
  /** Append to the run's `transitionIds` when present. */
  transitionId?: string;
  holdsSlot: boolean;
  /** The run's runner token after the write: a string sets it, `null` clears it, absent keeps it. */
  runnerToken?: string | null;
  /** A condition of the write: the run's heartbeat is still this (`null`: it has none). */
  expectHeartbeatAt?: string | null;
}

interface DecisionCommon {
  rule: DecisionRule;
  /** One sentence a person can read in the dashboard or a log. */
  reason: string;
  effects: SlotEffects;
}

/**
 * The proposal was honoured. `write` is absent only for a duplicate transition id (already written).
 *
 * @example
 * ```ts
 * if (decision.status === "ACCEPT" && decision.write) await store.conditionalWrite(runId, decision.write);
 * ```
 */
export interface AcceptDecision extends DecisionCommon {
  status: "ACCEPT";
  state: State;
  write?: RunWrite;
}

/**
 * The proposal was refused. `write` is present only when the rule moves the run itself (a full
 * limit with CANCEL_NEW cancels the run).
 *
 * @example
 * ```ts
 * if (decision.status === "REJECT") runner.adopt(decision.state);
 * ```
 */
export interface RejectDecision extends DecisionCommon {
  status: "REJECT";
  state: State;
  write?: RunWrite;
}

/**
 * Not yet: propose again after `delaySeconds` (a whole number, at least 1). Nothing is written.
 *
 * @example
 * ```ts
 * if (decision.status === "WAIT") await sleep(decision.delaySeconds * 1000);
 * ```
 */
export interface WaitDecision extends DecisionCommon {
  status: "WAIT";
  state: State;
  delaySeconds: number;
}

/**
 * Never: give up. `state` is the current state, or `undefined` when the run does not exist.
 *
 * @example
 * ```ts
 * if (decision.status === "ABORT") process.exitCode = 1;
 * ```
 */
export interface AbortDecision extends DecisionCommon {
  status: "ABORT";
  state: State | undefined;
}

/**
 * The answer to a proposed transition, with the state the caller must adopt.
 *
 * @example
 * ```ts
 * const decision: Decision = decideTransition({ current: run, proposed: { type: "RUNNING" }, now: Date.now() });
 * switch (decision.status) {
 *   case "ACCEPT": return start();
 *   case "WAIT": return retryIn(decision.delaySeconds);
 *   case "REJECT": case "ABORT": return stop(decision.reason);
 * }
 * ```
 */
export type Decision = AcceptDecision | RejectDecision | WaitDecision | AbortDecision;
