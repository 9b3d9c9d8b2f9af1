import { activeTrace } from "../compiler/traceContext.js";
import { runScopes } from "../engine/context.js";
import { AloftError } from "../model/errors.js";
import { durationToMs, type Duration } from "../model/duration.js";

/**
 * Options of {@link waitForApproval}.
 *
 * @example
 * ```ts
 * const options: ApprovalOptions = { timeout: "24h" };
 * ```
 */
export interface ApprovalOptions {
  /** How long to wait before the run fails TimedOut. Default: as long as the run may last. */
  timeout?: Duration;
}

/**
 * What the run was resumed with: `input` is the body of `aloft runs resume <id> --input …` (or null).
 *
 * @example
 * ```ts
 * const { input } = await waitForApproval();
 * ```
 */
export interface Approval<I = unknown> {
  approved: true;
  input: I;
}

/**
 * What a local runtime is asked for one approval.
 *
 * @example
 * ```ts
 * const request: ApprovalRequest = { flowRunId: "4c…", timeoutMs: 60_000 };
 * ```
 */
export interface ApprovalRequest {
  flowRunId: string | undefined;
  flowName: string | undefined;
  timeoutMs: number | undefined;
  signal: AbortSignal | undefined;
}

/** Waits for a run to be resumed; supplied by whatever can resume runs (the control plane link). */
export type ApprovalRuntime = (request: ApprovalRequest) => Promise<Approval>;

const slots = globalThis as typeof globalThis & { [key: symbol]: unknown };
const RUNTIME_KEY = Symbol.for("aloft.approvalRuntime");

/**
 * Installs the runtime that waits for approvals outside Step Functions; returns a function that
 * restores the previous one.
 *
 * @example
 * ```ts
 * const restore = setApprovalRuntime(async () => ({ approved: true, input: null }));
 * ```
 */
export function setApprovalRuntime(runtime: ApprovalRuntime | undefined): () => void {
  const previous = slots[RUNTIME_KEY] as ApprovalRuntime | undefined;
  slots[RUNTIME_KEY] = runtime;
  return () => {
    slots[RUNTIME_KEY] = previous;
  };
}

/**
 * Pauses the flow run until someone approves it: `aloft runs resume <id>` or
 * `POST /v1/flow-runs/{id}/resume`. Compiled for Step Functions it is a `.waitForTaskToken` Task
 * whose token the control plane keeps; it resolves to the resume's input.
 *
 * @example
 * ```ts
 * import { flow, waitForApproval } from "aloft";
 *
 * export const release = flow({ name: "release", run: async () => {
 *   const build = await buildImage();
 *   const { input } = await waitForApproval({ timeout: "24h" });
 *   return deploy(build, input);
 * }});
 * ```
 */
export function waitForApproval<I = unknown>(options: ApprovalOptions = {}): Promise<Approval<I>> {
  const trace = activeTrace();
  if (trace) return Promise.resolve(trace.waitForApproval(options)) as Promise<Approval<I>>;
  const timeoutMs = options.timeout === undefined ? undefined : durationToMs(options.timeout);
  if (options.timeout !== undefined && timeoutMs === undefined) {
    return Promise.reject(new TypeError(`waitForApproval: timeout is not a duration: ${String(options.timeout)}`));
  }
  const runtime = slots[RUNTIME_KEY] as ApprovalRuntime | undefined;
  if (!runtime) {
    return Promise.reject(
      new AloftError(
        "APPROVAL_UNAVAILABLE",
        "waitForApproval() needs a control plane to resume the run: deploy the flow (or run it with ALOFT_API_URL set), or compile it for Step Functions",
      ),
    );
  }
  const scope = runScopes.getStore();
  return runtime({ flowRunId: scope?.flow?.run.id, flowName: scope?.flow?.run.flowName, timeoutMs, signal: scope?.flow?.signal }) as Promise<Approval<I>>;
}
