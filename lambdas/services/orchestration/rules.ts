/**
 * The orchestration rules: one pure function, {@link decideTransition}, that answers every proposed
 * state transition of a flow run or task run with ACCEPT, REJECT, WAIT or ABORT. It reads nothing
 * but its input and writes nothing; the caller applies the returned {@link RunWrite} as one
 * conditional write on the run's version and, when that condition fails, reads the run again and
 * decides again. That compare-and-set is what makes the rules hold under races: two workers that
 * both read a SCHEDULED run and both get ACCEPT for PENDING cannot both write, and the loser's second
 * decision sees PENDING and is refused.
 *
 * The rules, Prefect-compatible, in the order they are applied:
 *
 * 1. A run that does not exist or is being deleted: ABORT.
 * 2. A malformed proposal (unknown type, a known name of another type, a `scheduledTime` on a
 *    non-SCHEDULED proposal or one that is not a date): ABORT.
 * 3. Runner tokens ("claimed-by-another-runner", REJECT): a claim (PENDING with a `claimToken`) gives
 *    the run its runner's token; entering SCHEDULED takes it away. A proposal that carries a token
 *    other than the run's current one comes from a runner that lost the run (it was crashed and
 *    re-scheduled, or claimed again) and is refused, whatever it proposes. While a run that holds a
 *    token is not terminal, a proposal without a token is refused too, except CANCELLING (anyone may
 *    ask a run to stop). Control-plane proposals (a user's cancel, retry or resume, the dispatcher,
 *    the monitor) need no token. A SCHEDULED run keeps its token only when its own runner proposed
 *    it (the wait of an in-process flow retry); no claim takes such a run. So two runners never
 *    both run one run: the second claim changes the token, and the first runner's reports are refused.
 *    A proposal about a given version of the run (`expectVersion`: the monitor's, made from a listing)
 *    is refused ("run-changed") once the run has moved on.
 *    A crash proposal that names the runner's last heartbeat it saw (`expectHeartbeatAt`) is refused
 *    ("runner-heartbeat-moved") when the runner has beaten since, and its write is conditional on it.
 * 4. A transition id the run has already recorded: ACCEPT with the current state, no write and no
 *    effects (the first proposal with that id already wrote).
 * 5. The {@link TRANSITION_RULES} table, by (current type, proposed type):
 *    - PENDING is entered only from SCHEDULED, so one run is claimed by one runner at a time.
 *    - PAUSED is entered only from RUNNING or PAUSED.
 *    - CANCELLING becomes CANCELLED only.
 *    - SCHEDULED → CANCELLING becomes CANCELLED at once (there is no process to stop); so does a
 *      PAUSED run named `Suspended` (its process has exited).
 *    - A terminal run (COMPLETED, FAILED, CANCELLED, CRASHED) is left only by an explicit retry to
 *      SCHEDULED or PENDING: `retry` re-opens FAILED, CRASHED and CANCELLED runs, `force` also
 *      re-opens COMPLETED ones. Nothing, not even `force`, turns a terminal run into CRASHED,
 *      CANCELLING, PAUSED, RUNNING or another terminal state. (The retry policy's own retries need
 *      no flag: they go RUNNING → SCHEDULED named `AwaitingRetry` before the run is ever terminal.)
 *    - Same type to same type: SCHEDULED, RUNNING and PAUSED accept it (a rename such as Late,
 *      Retrying or Suspended, or a new scheduled time); PENDING, CANCELLING and terminal types refuse
 *      it. Heartbeats belong to the run's lease, not to state transitions.
 * 6. Entering RUNNING from SCHEDULED or PENDING before the run's `scheduledTime`: WAIT until then.
 *    (Claiming early, SCHEDULED → PENDING, is allowed: workers fetch runs shortly before they are due.)
 * 7. Entering RUNNING from another type while the run holds no slot, with concurrency limits given:
 *    a limit of 0 ABORTs; a full limit with `CANCEL_NEW` REJECTs and cancels the run; a full limit
 *    with `ENQUEUE` WAITs; otherwise ACCEPT with `takeSlot`. The caller takes the slots with their
 *    own conditional write (e.g. `size(leases) < :limit`) before writing the run, and decides again
 *    if that fails.
 * 8. Any write that leaves RUNNING, PAUSED and CANCELLING while the run holds a slot releases it
 *    (`releaseSlot`): on a terminal state, and on a return to SCHEDULED (a retry's wait, a resume),
 *    which takes a fresh slot on entering RUNNING again.
 */
import { STATE_NAME_TYPES, STATE_TYPES, isTerminal, makeState } from "../../../sdk/model/states.js";
import type { State, StateName, StateType } from "../../../sdk/model/states.js";
import {
  DEFAULT_SLOT_WAIT_SECONDS,
  type ConcurrencyUsage,
  type Decision,
  type DecisionRule,
  type RunSnapshot,
  type RunWrite,
  type SlotEffects,
  type TransitionInput,
} from "./decision.js";

/**
 * What the table says about one (current type, proposed type) pair before the time, slot and
 * flag refinements of {@link decideTransition}:
 *
 * - `allowed` — ACCEPT (subject to the early-start and concurrency rules for RUNNING);
 * - `cancel-without-process` — ACCEPT, rewritten to CANCELLED;
 * - `retry-reopens` — ACCEPT with `retry` or `force`, else REJECT;
 * - `completed-needs-force` — ACCEPT with `force`, else REJECT;
 * - any other rule — REJECT.
 *
 * @example
 * ```ts
 * const cell: TableRule = TRANSITION_RULES.CANCELLING.COMPLETED; // "cancelling-ends-cancelled"
 * ```
 */
export type TableRule = Extract<
  DecisionRule,
  | "allowed"
  | "cancel-without-process"
  | "retry-reopens"
  | "completed-needs-force"
  | "claim-only-from-scheduled"
  | "pause-only-when-running"
  | "cancelling-ends-cancelled"
  | "terminal-is-final"
>;

const OK = "allowed";
const NO_PROCESS = "cancel-without-process";
const RETRY = "retry-reopens";
const FORCE = "completed-needs-force";
const CLAIM = "claim-only-from-scheduled";
const PAUSE = "pause-only-when-running";
const CANCELLING = "cancelling-ends-cancelled";
const FINAL = "terminal-is-final";

/** Spreads one row, written in {@link STATE_TYPES} order, into a record by proposed type. */
function row(...cells: readonly TableRule[]): Readonly<Record<StateType, TableRule>> {
  return Object.fromEntries(STATE_TYPES.map((type, i) => [type, cells[i]])) as Record<StateType, TableRule>;
}

/**
 * The transition table: `TRANSITION_RULES[current][proposed]`. Rows are the current type, columns
 * the proposed type, both in {@link STATE_TYPES} order.
 *
 * @example
 * ```ts
 * TRANSITION_RULES.SCHEDULED.CANCELLING; // "cancel-without-process"
 * TRANSITION_RULES.RUNNING.PENDING; // "claim-only-from-scheduled"
 * ```
 */
export const TRANSITION_RULES: Readonly<Record<StateType, Readonly<Record<StateType, TableRule>>>> = {
  // current ↓    SCHEDULED   PENDING     RUNNING     PAUSED      CANCELLING  COMPLETED   FAILED      CANCELLED   CRASHED
  SCHEDULED:  row(OK,         OK,         OK,         PAUSE,      NO_PROCESS, OK,         OK,         OK,         OK),
  PENDING:    row(OK,         CLAIM,      OK,         PAUSE,      OK,         OK,         OK,         OK,         OK),
  RUNNING:    row(OK,         CLAIM,      OK,         OK,         OK,         OK,         OK,         OK,         OK),
  PAUSED:     row(OK,         CLAIM,      OK,         OK,         OK,         OK,         OK,         OK,         OK),
  CANCELLING: row(CANCELLING, CANCELLING, CANCELLING, CANCELLING, CANCELLING, CANCELLING, CANCELLING, OK,         CANCELLING),
  COMPLETED:  row(FORCE,      FORCE,      FINAL,      FINAL,      FINAL,      FINAL,      FINAL,      FINAL,      FINAL),
  FAILED:     row(RETRY,      RETRY,      FINAL,      FINAL,      FINAL,      FINAL,      FINAL,      FINAL,      FINAL),
  CANCELLED:  row(RETRY,      RETRY,      FINAL,      FINAL,      FINAL,      FINAL,      FINAL,      FINAL,      FINAL),
  CRASHED:    row(RETRY,      RETRY,      FINAL,      FINAL,      FINAL,      FINAL,      FINAL,      FINAL,      FINAL),
};

/**
 * The name a proposed state gets when it has none.
 *
 * @example
 * ```ts
 * DEFAULT_STATE_NAMES.CANCELLING; // "Cancelling"
 * ```
 */
export const DEFAULT_STATE_NAMES: Readonly<Record<StateType, StateName>> = {
  SCHEDULED: "Scheduled",
  PENDING: "Pending",
  RUNNING: "Running",
  PAUSED: "Paused",
  CANCELLING: "Cancelling",
  COMPLETED: "Completed",
  FAILED: "Failed",
  CANCELLED: "Cancelled",
  CRASHED: "Crashed",
};

/** The types in which a run holds its concurrency slots. */
const SLOT_HOLDING: ReadonlySet<StateType> = new Set(["RUNNING", "PAUSED", "CANCELLING"]);

const KNOWN_TYPES: ReadonlySet<string> = new Set(STATE_TYPES);

/**
 * Decides one proposed transition of a flow run or task run. Pure: the same input always gives the
 * same decision, and nothing is read or written. See the module documentation for the rules.
 *
 * @example
 * ```ts
 * const decision = decideTransition({
 *   current: { state: makeState("Scheduled", Date.now()), version: 1 },
 *   proposed: { type: "CANCELLING" },
 *   transitionId: "ui:cancel:42",
 *   now: Date.now(),
 * });
 * decision.status; // "ACCEPT"
 * decision.state?.type; // "CANCELLED": a scheduled run has nothing to stop
 * ```
 */
export function decideTransition(input: TransitionInput): Decision {
  const { current, proposed } = input;
  if (current === undefined) {
    return { status: "ABORT", state: undefined, rule: "run-not-found", reason: "The run does not exist.", effects: {} };
  }
  const from = current.state.type;
  if (current.deleting === true) {
    return abort(current, "run-deleting", "The run is being deleted and accepts no more transitions.");
  }
  const malformed = proposalProblem(input);
  if (malformed !== undefined) return abort(current, "invalid-proposal", malformed);

  const to = proposed.type;
  const claimedElsewhere = tokenProblem(input, current);
  if (claimedElsewhere !== undefined) return reject(current, "claimed-by-another-runner", claimedElsewhere);
  if (input.expectVersion !== undefined && current.version !== input.expectVersion) {
    return reject(current, "run-changed", `The proposal was made about version ${input.expectVersion} of the run; it is at version ${current.version} (${from}) now.`);
  }
  if (input.expectHeartbeatAt !== undefined && (current.heartbeatAt ?? null) !== input.expectHeartbeatAt) {
    return reject(current, "runner-heartbeat-moved", `The runner beat at ${current.heartbeatAt ?? "(never)"}, after the heartbeat the proposal expected; it is alive.`);
  }
  if (input.transitionId !== undefined && current.transitionIds?.includes(input.transitionId) === true) {
    return {
      status: "ACCEPT",
      state: current.state,
      rule: "duplicate-transition",
      reason: `Transition "${input.transitionId}" was already applied; the run is ${from}.`,
      effects: {},
    };
  }

  const reopening = input.retry === true || input.force === true;
  const cell = TRANSITION_RULES[from][to];
  switch (cell) {
    case "claim-only-from-scheduled":
      return reject(current, cell, `Only a SCHEDULED run can be claimed (PENDING); this run is ${from}.`);
    case "pause-only-when-running":
      return reject(current, cell, `Only a RUNNING run can be paused; this run is ${from}.`);
    case "cancelling-ends-cancelled":
      return reject(current, cell, `A CANCELLING run can only become CANCELLED, not ${to}.`);
    case "terminal-is-final":
      if (reopening) {
        return reject(
          current,
          "reopen-through-claim",
          `A retried run re-opens as SCHEDULED or PENDING, not ${to}, so that exactly one runner claims it.`,
        );
      }
      return reject(current, cell, terminalReason(from, to));
    case "completed-needs-force":
      if (input.force === true) return accept(input, current, proposedState(input), "retry-reopens", reopenReason(from, to, "force"));
      if (input.retry === true) {
        return reject(current, cell, "A COMPLETED run is re-run only with force; a retry re-opens FAILED, CRASHED or CANCELLED runs.");
      }
      return reject(current, "terminal-is-final", terminalReason(from, to));
    case "retry-reopens":
      if (reopening) {
        return accept(input, current, proposedState(input), cell, reopenReason(from, to, input.force === true ? "force" : "retry"));
      }
      return reject(current, "terminal-is-final", terminalReason(from, to));
    case "cancel-without-process":
      return cancelWithoutProcess(input, current);
    case "allowed":
      return decideAllowed(input, current);
  }
}

/** Refines an `allowed` cell: suspended cancels, early starts and concurrency slots. */
function decideAllowed(input: TransitionInput, current: RunSnapshot): Decision {
  const from = current.state.type;
  const to = input.proposed.type;
  if (from === "PAUSED" && to === "CANCELLING" && current.state.name === "Suspended") {
    return cancelWithoutProcess(input, current);
  }
  if (to === "RUNNING" && from !== "RUNNING") {
    if ((from === "SCHEDULED" || from === "PENDING") && current.scheduledTime !== undefined) {
      const earlyMs = Date.parse(current.scheduledTime) - input.now;
      if (earlyMs > 0) {
        return {
          status: "WAIT",
          state: current.state,
          delaySeconds: Math.max(1, Math.ceil(earlyMs / 1000)),
          rule: "early-start",
          reason: `The run is scheduled for ${current.scheduledTime}, ${Math.ceil(earlyMs / 1000)}s from now.`,
          effects: {},
        };
      }
    }
    const limits = input.concurrency ?? [];
    if (current.holdsSlot !== true && limits.length > 0) return decideSlot(input, current, limits);
  }
  return accept(input, current, proposedState(input), "allowed", `${from} → ${to} accepted.`);
}

/** Entering RUNNING without a slot: take one in every limit, or wait, cancel or abort. */
function decideSlot(input: TransitionInput, current: RunSnapshot, limits: readonly ConcurrencyUsage[]): Decision {
  const zero = limits.find((usage) => usage.limit <= 0);
  if (zero !== undefined) {
    return abort(current, "concurrency-limit-zero", `Concurrency limit "${zero.name}" is 0, so the run can never start.`);
  }
  const full = limits.filter((usage) => usage.inUse >= usage.limit);
  const cancelNew = full.find((usage) => usage.strategy === "CANCEL_NEW");
  if (cancelNew !== undefined) {
    const reason =
      `Concurrency limit "${cancelNew.name}" is full (${cancelNew.inUse} of ${cancelNew.limit} slots in use) ` +
      "and its strategy is CANCEL_NEW, so the run is cancelled.";
    const state = makeState("Cancelled", input.now, reason);
    // The transition id is not recorded: a resent proposal must be refused again, not reported ACCEPTed.
    const write = runWrite(current, state, { scheduledTime: current.scheduledTime, transitionId: undefined, holdsSlot: false });
    return { status: "REJECT", state, write, rule: "concurrency-cancel-new", reason, effects: {} };
  }
  if (full.length > 0) {
    const delaySeconds = Math.max(1, ...full.map((usage) => Math.ceil(usage.waitSeconds ?? DEFAULT_SLOT_WAIT_SECONDS)));
    const names = full.map((usage) => `"${usage.name}" (${usage.inUse} of ${usage.limit} slots in use)`).join(", ");
    const subject = full.length === 1 ? `Concurrency limit ${names} is` : `Concurrency limits ${names} are`;
    const reason = `${subject} full; waiting ${delaySeconds}s for a slot.`;
    return { status: "WAIT", state: current.state, delaySeconds, rule: "concurrency-full", reason, effects: {} };
  }
  const reason = `${current.state.type} → RUNNING accepted; a concurrency slot is taken.`;
  return accept(input, current, proposedState(input), "allowed", reason, { takeSlot: true });
}

function cancelWithoutProcess(input: TransitionInput, current: RunSnapshot): Decision {
  const what = current.state.type === "SCHEDULED" ? "SCHEDULED" : `${current.state.type} (${current.state.name})`;
  const reason = `The run was ${what}, with no process to stop, so it is cancelled at once.`;
  return accept(input, current, makeState("Cancelled", input.now, input.proposed.message), "cancel-without-process", reason);
}

function accept(
  input: TransitionInput,
  current: RunSnapshot,
  state: State,
  rule: DecisionRule,
  reason: string,
  { takeSlot = false }: { takeSlot?: boolean } = {},
): Decision {
  const releaseSlot = current.holdsSlot === true && !SLOT_HOLDING.has(state.type);
  const effects: SlotEffects = {};
  if (takeSlot) effects.takeSlot = true;
  if (releaseSlot) effects.releaseSlot = true;
  const holdsSlot = takeSlot || (current.holdsSlot === true && !releaseSlot);
  const scheduledTime =
    state.type === "SCHEDULED" ? (input.proposed.scheduledTime ?? new Date(input.now).toISOString()) : current.scheduledTime;
  const byHolder = input.runnerToken !== undefined && input.runnerToken === current.runnerToken;
  const write = runWrite(current, state, {
    scheduledTime,
    transitionId: input.transitionId,
    holdsSlot,
    claimToken: input.claimToken,
    byHolder,
    expectHeartbeatAt: input.expectHeartbeatAt,
  });
  return { status: "ACCEPT", state, write, rule, reason, effects };
}

function reject(current: RunSnapshot, rule: DecisionRule, reason: string): Decision {
  return { status: "REJECT", state: current.state, rule, reason, effects: {} };
}

function abort(current: RunSnapshot, rule: DecisionRule, reason: string): Decision {
  return { status: "ABORT", state: current.state, rule, reason, effects: {} };
}

function runWrite(
  current: RunSnapshot,
  state: State,
  fields: {
    scheduledTime: string | undefined;
    transitionId: string | undefined;
    holdsSlot: boolean;
    claimToken?: string | undefined;
    /** The proposal carries the run's own token: its runner keeps the run (an in-process flow retry's wait). */
    byHolder?: boolean;
    expectHeartbeatAt?: string | null | undefined;
  },
): RunWrite {
  const write: RunWrite = { expectedVersion: current.version, version: current.version + 1, state, holdsSlot: fields.holdsSlot };
  if (fields.scheduledTime !== undefined) write.scheduledTime = fields.scheduledTime;
  if (fields.transitionId !== undefined) write.transitionId = fields.transitionId;
  // A claim hands the run to a new runner (or to none); a run scheduled again belongs to nobody.
  if (state.type === "PENDING" && fields.claimToken !== undefined) write.runnerToken = fields.claimToken;
  else if (state.type === "PENDING" && current.runnerToken !== undefined) write.runnerToken = null;
  else if (state.type === "SCHEDULED" && current.runnerToken !== undefined && !fields.byHolder) write.runnerToken = null;
  if (fields.expectHeartbeatAt !== undefined) write.expectHeartbeatAt = fields.expectHeartbeatAt;
  return write;
}

/** Why a proposal's runner token (or its absence) forbids it, or `undefined` when it may proceed. */
function tokenProblem(input: TransitionInput, current: RunSnapshot): string | undefined {
  const held = current.runnerToken;
  const from = current.state.type;
  if (from === "SCHEDULED" && held !== undefined && input.proposed.type === "PENDING") {
    // Its runner keeps it through the wait of an in-process flow retry: nobody else claims it meanwhile.
    return "The run is waiting for a retry inside the runner that holds it; it cannot be claimed by another.";
  }
  if (input.controlPlane === true) return undefined;
  if (input.runnerToken !== undefined) {
    if (input.runnerToken === held) return undefined;
    return held === undefined
      ? `This runner no longer holds the run: it is ${from} and claimed by no runner (it was crashed or re-scheduled); the runner must stop.`
      : `The run is claimed by another runner (this runner's claim was taken over); the runner must stop.`;
  }
  if (held === undefined || isTerminal(from) || input.proposed.type === "CANCELLING") return undefined;
  return `The ${from} run is held by the runner that claimed it; only a proposal carrying its runnerToken can move it to ${input.proposed.type} (cancel it instead).`;
}

function proposedState(input: TransitionInput): State {
  const { type, name, message } = input.proposed;
  const state: State = { type, name: name ?? DEFAULT_STATE_NAMES[type], timestamp: new Date(input.now).toISOString() };
  if (message !== undefined) state.message = message;
  return state;
}

/** Why a proposal can never be accepted, or `undefined` when it is well formed. */
function proposalProblem(input: TransitionInput): string | undefined {
  const { type, name, scheduledTime } = input.proposed;
  if (!KNOWN_TYPES.has(type)) return `Unknown state type "${String(type)}"; expected one of ${STATE_TYPES.join(", ")}.`;
  if (name !== undefined) {
    if (name.trim() === "") return "The proposed state name is empty.";
    if (Object.hasOwn(STATE_NAME_TYPES, name)) {
      const owner = STATE_NAME_TYPES[name as StateName];
      if (owner !== type) return `The state name "${name}" belongs to ${owner}, not ${type}.`;
    }
  }
  if (scheduledTime !== undefined) {
    if (type !== "SCHEDULED") return `scheduledTime is only allowed on a SCHEDULED proposal, not ${type}.`;
    if (Number.isNaN(Date.parse(scheduledTime))) return `scheduledTime "${scheduledTime}" is not an ISO 8601 date.`;
  }
  return undefined;
}

function terminalReason(from: StateType, to: StateType): string {
  if (to === "CRASHED" || to === "CANCELLING" || to === "PAUSED") return `A ${from} run can't become ${to}.`;
  if (to === from) return `The run is already ${from}.`;
  return `The run is ${from}, a terminal state it leaves only by an explicit retry to SCHEDULED or PENDING.`;
}

function reopenReason(from: StateType, to: StateType, by: "retry" | "force"): string {
  return `The ${from} run is re-opened as ${to} by an explicit ${by}.`;
}
