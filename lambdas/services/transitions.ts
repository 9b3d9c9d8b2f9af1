import { isTerminal, type State } from "../../sdk/model/states.js";
import type { ErrorInfo } from "../../sdk/model/errors.js";
import { VersionConflictError, type TransitionPatch } from "../store/store.js";
import type { ConcurrencyUsage, Decision, ProposedState, RunSnapshot, RunWrite } from "./orchestration/decision.js";
import { decideTransition } from "./orchestration/rules.js";
import { ServiceError } from "./errors.js";

/** A proposal as the API receives it. */
export interface Proposal {
  state: ProposedState;
  transitionId?: string;
  force?: boolean;
  /** An explicit retry (the `/retry` route); re-opens FAILED, CRASHED and CANCELLED runs. */
  retry?: boolean;
  result?: unknown;
  error?: ErrorInfo;
  /** The proposing runner's token (from its claim); see the "claimed-by-another-runner" rule. */
  runnerToken?: string;
  /** The flow's retries, reported by the runner with RUNNING (flow runs). */
  retries?: number;
  /** Internal: the control plane proposes (user actions, dispatcher, monitor, mirror), so no token is needed. Never from the API body. */
  controlPlane?: boolean;
  /** Internal: with a PAUSED proposal, the task token of the Step Functions approval the run waits for. */
  approvalToken?: string;
  /** Internal: with a PENDING proposal, the token of the runner the claim hands the run to. */
  claimToken?: string;
  /** Internal (the monitor's crash): the runner's last heartbeat as seen; refused, atomically, if it moved. */
  expectHeartbeatAt?: string | null;
  /** Internal (the monitor): the version of the run the proposal was made about; refused once the run changed. */
  expectVersion?: number;
}

/** The stored fields of a run the transition logic reads. */
export interface TransitionTarget {
  id: string;
  state: State;
  version: number;
  scheduledTime?: string;
  transitionIds?: string[];
  holdsSlot?: boolean;
  startTime?: string;
  runnerToken?: string;
  heartbeatAt?: string;
}

/** How one kind of run (flow run or task run) is read, written and limited. */
export interface TransitionPort<R extends TransitionTarget> {
  entity: string;
  read(id: string): Promise<R | undefined>;
  write(id: string, expectedVersion: number, state: State, patch: TransitionPatch): Promise<R>;
  /** The concurrency limits that apply to the run, with slots in use by others. */
  usages(run: R, now: number): Promise<ConcurrencyUsage[]>;
  /** Takes one slot per usage for the run; false (having released what it took) when one is full. */
  takeSlots(run: R, usages: ConcurrencyUsage[], now: number): Promise<boolean>;
  releaseSlots(run: R): Promise<void>;
  /** The patch field that counts attempts (flow runs: runCount; task runs: attempts). */
  countField: "runCount" | "attempts";
  count(run: R): number;
}

/** The outcome of a proposal: the decision and the run as it is afterwards. */
export interface TransitionOutcome<R> {
  decision: Decision;
  run: R | undefined;
}

const MAX_ROUNDS = 8;

/** How many recent transition ids a run remembers for idempotency. */
export const RECENT_TRANSITION_IDS = 32;

/**
 * Decides a proposal with the orchestration rules and applies the decision as one conditional write
 * on the run's version, taking or releasing concurrency slots as the decision says. A lost race
 * (the version moved, or a slot was taken meanwhile) reads the run again and decides again.
 *
 * @example
 * ```ts
 * const { decision } = await applyProposal(flowRunPort, runId, { state: { type: "PENDING" }, transitionId }, Date.now);
 * ```
 */
export async function applyProposal<R extends TransitionTarget>(
  port: TransitionPort<R>,
  id: string,
  proposal: Proposal,
  now: () => number,
): Promise<TransitionOutcome<R>> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const run = await port.read(id);
    const at = now();
    const concurrency = run && proposal.state.type === "RUNNING" && run.holdsSlot !== true ? await port.usages(run, at) : [];
    const decision = decideTransition({
      current: run ? snapshotOf(run) : undefined,
      proposed: proposal.state,
      ...(proposal.transitionId === undefined ? {} : { transitionId: proposal.transitionId }),
      ...(proposal.retry === undefined ? {} : { retry: proposal.retry }),
      ...(proposal.force === undefined ? {} : { force: proposal.force }),
      ...(proposal.runnerToken === undefined ? {} : { runnerToken: proposal.runnerToken }),
      ...(proposal.controlPlane === undefined ? {} : { controlPlane: proposal.controlPlane }),
      ...(proposal.claimToken === undefined ? {} : { claimToken: proposal.claimToken }),
      ...(proposal.expectHeartbeatAt === undefined ? {} : { expectHeartbeatAt: proposal.expectHeartbeatAt }),
      ...(proposal.expectVersion === undefined ? {} : { expectVersion: proposal.expectVersion }),
      now: at,
      concurrency,
    });
    if (!run || decision.status === "WAIT" || decision.status === "ABORT" || !("write" in decision) || !decision.write) {
      return { decision, run };
    }
    if (decision.effects.takeSlot && !(await port.takeSlots(run, concurrency, at))) continue;
    try {
      const written = await port.write(id, decision.write.expectedVersion, decision.write.state, patchFor(port, run, decision.write, proposal, at));
      if (decision.effects.releaseSlot) await port.releaseSlots(written);
      return { decision, run: written };
    } catch (error) {
      if (decision.effects.takeSlot) await port.releaseSlots(run);
      if (error instanceof VersionConflictError) continue;
      throw error;
    }
  }
  throw new ServiceError("CONFLICT", `${port.entity} ${id} is changing too fast to apply the proposal; try again`);
}

function snapshotOf(run: TransitionTarget): RunSnapshot {
  const snapshot: RunSnapshot = { state: run.state, version: run.version };
  if (run.scheduledTime !== undefined) snapshot.scheduledTime = run.scheduledTime;
  if (run.transitionIds !== undefined) snapshot.transitionIds = run.transitionIds;
  if (run.holdsSlot !== undefined) snapshot.holdsSlot = run.holdsSlot;
  if (run.runnerToken !== undefined) snapshot.runnerToken = run.runnerToken;
  if (run.heartbeatAt !== undefined) snapshot.heartbeatAt = run.heartbeatAt;
  return snapshot;
}

function patchFor<R extends TransitionTarget>(port: TransitionPort<R>, run: R, write: RunWrite, proposal: Proposal, at: number): TransitionPatch {
  const timestamp = new Date(at).toISOString();
  const patch: TransitionPatch = { holdsSlot: write.holdsSlot };
  if (write.transitionId !== undefined) {
    patch.transitionId = write.transitionId;
    patch.transitionIds = [...(run.transitionIds ?? []), write.transitionId].slice(-RECENT_TRANSITION_IDS);
  }
  if (write.scheduledTime !== undefined) patch.scheduledTime = write.scheduledTime;
  if (write.expectHeartbeatAt !== undefined) patch.expectHeartbeatAt = write.expectHeartbeatAt;
  if (write.runnerToken !== undefined) {
    // A new claim (or none): the last runner's heartbeat and whereabouts are no longer the run's.
    patch.runnerToken = write.runnerToken;
    patch.heartbeatAt = null;
    patch.runner = null;
  }
  const from = run.state.type;
  const to = write.state.type;
  if (to === "RUNNING" && from !== "RUNNING") {
    patch[port.countField] = port.count(run) + 1;
    if (run.startTime === undefined) patch.startTime = timestamp;
  }
  if (to === "RUNNING" && proposal.retries !== undefined) patch.retries = proposal.retries;
  if (isTerminal(to)) patch.endTime = timestamp;
  else if (isTerminal(from)) patch.endTime = null;
  if (to === "COMPLETED" && proposal.result !== undefined) patch.result = proposal.result;
  if ((to === "FAILED" || to === "CRASHED") && proposal.error !== undefined) patch.error = proposal.error;
  if (isTerminal(from) && !isTerminal(to)) patch.error = null;
  if (to === "PAUSED" && proposal.approvalToken !== undefined) patch.approvalToken = proposal.approvalToken;
  else if (from === "PAUSED" && to !== "PAUSED") patch.approvalToken = null;
  return patch;
}
