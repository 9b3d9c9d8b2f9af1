import type { ErrorInfo } from "../../sdk/model/errors.js";
import type { Decision, ProposedState } from "./orchestration/decision.js";
import { ServiceError } from "./errors.js";
import type { FlowRunService } from "./flowRuns.js";
import type { Store } from "../store/store.js";

/**
 * The `detail` of an EventBridge "Step Functions Execution Status Change" event (the fields read).
 * `output`, `error` and `cause` are strings or null.
 */
export interface ExecutionStatusChange {
  executionArn: string;
  /** The execution's name: Aloft names executions after the flow run id. */
  name: string;
  status: string;
  output?: string | null;
  outputDetails?: { truncated?: boolean } | null;
  error?: string | null;
  cause?: string | null;
}

/** What a status change did to the run. */
export type MirrorOutcome =
  | { action: "applied"; state: string }
  /** The event was delivered before (same execution and status): nothing was written; `state` is the run's. */
  | { action: "duplicate"; state: string }
  | { action: "refused"; decision: Decision["status"]; reason: string }
  | { action: "ignored"; reason: string };

/**
 * The flow-run state an execution status stands for, or undefined for a status Aloft does not
 * mirror (e.g. PENDING_REDRIVE).
 *
 * @example
 * ```ts
 * stateForExecutionStatus("TIMED_OUT"); // { type: "FAILED", name: "TimedOut" }
 * ```
 */
export function stateForExecutionStatus(status: string): ProposedState | undefined {
  switch (status) {
    case "RUNNING":
      return { type: "RUNNING" };
    case "SUCCEEDED":
      return { type: "COMPLETED" };
    case "FAILED":
      return { type: "FAILED" };
    case "TIMED_OUT":
      return { type: "FAILED", name: "TimedOut", message: "the Step Functions execution timed out" };
    case "ABORTED":
      return { type: "CANCELLED", message: "the Step Functions execution was stopped" };
    default:
      return undefined;
  }
}

/** Error names that mean a step of the execution ran out of time: the run failed as TimedOut. */
const TIMEOUT_ERRORS = new Set(["States.Timeout", "Aloft.TimedOut"]);

/**
 * Mirrors Step Functions executions onto their flow runs: each status change is proposed to the
 * run named by the execution (transition id `sfn:<executionArn>:<status>`, so a redelivered event
 * writes once). Events come in any order; one the run's state refuses (RUNNING after SUCCEEDED) is
 * refused by the orchestration rules and nothing more. An execution with no flow run of its name
 * is not Aloft's and is ignored. An execution that FAILED on `States.Timeout` or `Aloft.TimedOut`
 * fails the run as TimedOut, as a TIMED_OUT execution does.
 *
 * @example
 * ```ts
 * const mirror = new ExecutionMirror({ store, flowRuns });
 * await mirror.apply(event.detail);
 * ```
 */
export class ExecutionMirror {
  constructor(private readonly deps: { store: Store; flowRuns: FlowRunService }) {}

  async apply(change: ExecutionStatusChange): Promise<MirrorOutcome> {
    const timedOutState = change.status === "FAILED" && TIMEOUT_ERRORS.has(change.error ?? "");
    const state: ProposedState | undefined = timedOutState
      ? { type: "FAILED", name: "TimedOut", message: `a state of the Step Functions execution timed out (${change.error})` }
      : stateForExecutionStatus(change.status);
    if (!state) return { action: "ignored", reason: `execution status ${change.status} is not mirrored` };
    // Checked first so that a foreign execution's large output is never written to the payload store.
    if (!(await this.deps.store.getFlowRun(change.name))) return notOurs(change);
    const proposal: Parameters<FlowRunService["proposeState"]>[1] = { state, transitionId: `sfn:${change.executionArn}:${change.status}` };
    if (change.status === "SUCCEEDED") {
      if (change.outputDetails?.truncated === true) {
        state.message = "the execution's output was over EventBridge's event size limit, so its result was not recorded";
      } else if (change.output !== undefined && change.output !== null) {
        proposal.result = parseOutput(change.output);
      }
    }
    if (change.status === "FAILED" || change.status === "TIMED_OUT") proposal.error = errorOf(change);
    try {
      const { decision } = await this.deps.flowRuns.proposeState(change.name, proposal);
      if (decision.status === "ACCEPT") return { action: decision.rule === "duplicate-transition" ? "duplicate" : "applied", state: decision.state.type };
      return { action: "refused", decision: decision.status, reason: decision.reason };
    } catch (error) {
      if (error instanceof ServiceError && error.code === "NOT_FOUND") return notOurs(change);
      throw error;
    }
  }
}

function notOurs(change: ExecutionStatusChange): MirrorOutcome {
  return { action: "ignored", reason: `no flow run is named after execution ${change.executionArn}` };
}

function parseOutput(output: string): unknown {
  try {
    return JSON.parse(output) as unknown;
  } catch {
    return output;
  }
}

function errorOf(change: ExecutionStatusChange): ErrorInfo {
  const name = change.error || (change.status === "TIMED_OUT" ? "States.Timeout" : "States.Failed");
  const message = lambdaErrorMessage(change.cause) || change.cause || change.error || `the Step Functions execution ${change.status === "TIMED_OUT" ? "timed out" : "failed"}`;
  return { name, message };
}

/** A task Lambda's error reaches the execution as AWS's JSON `{"errorType","errorMessage","trace"}`: its message is what the user threw. */
function lambdaErrorMessage(cause: string | null | undefined): string | undefined {
  if (!cause?.startsWith("{")) return undefined;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === "string" && parsed.errorMessage !== "" ? parsed.errorMessage : undefined;
  } catch {
    return undefined;
  }
}
