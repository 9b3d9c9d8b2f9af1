import { randomUUID } from "node:crypto";
import type { Approval, ApprovalRuntime } from "../definitions/approval.js";
import { sleepWith, systemClock } from "../engine/clock.js";
import { formatMs } from "../model/duration.js";
import { AloftError, CancelledError, TimedOutError } from "../model/errors.js";
import type { AloftClient } from "./client.js";

/** Approval tokens of runs whose own process waits for the approval (not a Step Functions task token). */
export const ENGINE_APPROVAL_PREFIX = "engine:";

/**
 * The journal key under which resume leaves an engine approval's outcome.
 *
 * @example
 * ```ts
 * approvalJournalKey("engine:4f8c…"); // "approval:engine:4f8c…"
 * ```
 */
export function approvalJournalKey(token: string): string {
  return `approval:${token}`;
}

/** How often a waiting run asks whether it was approved, unless told otherwise. */
export const APPROVAL_POLL_MS = 1_000;

/**
 * `waitForApproval` for runs recorded by a control plane: once the run's reports are delivered
 * (`flush`, the link's), the run goes PAUSED "Suspended" with a token of its own; the flow waits, asking the API every `pollMs`, until `aloft runs resume`
 * approves it (resolving to `{ approved: true, input }`), the timeout passes (TimedOutError: the run
 * ends TimedOut) or the run is cancelled.
 *
 * @example
 * ```ts
 * setApprovalRuntime(controlPlaneApprovals(client, { flush: () => link.flush() }));
 * ```
 */
export function controlPlaneApprovals(client: AloftClient, options: { pollMs?: number; flush?: () => Promise<void> } = {}): ApprovalRuntime {
  const pollMs = options.pollMs ?? APPROVAL_POLL_MS;
  return async ({ flowRunId, timeoutMs, signal }) => {
    if (flowRunId === undefined) throw new AloftError("APPROVAL_UNAVAILABLE", "waitForApproval() must be called inside a flow run");
    // The run's reports so far (its creation, RUNNING) must reach the API before it can pause.
    await options.flush?.();
    const taskToken = `${ENGINE_APPROVAL_PREFIX}${randomUUID()}`;
    const suspended = await client.flowRuns.awaitApproval(flowRunId, { taskToken, ...(timeoutMs === undefined ? {} : { timeoutSeconds: Math.max(1, Math.ceil(timeoutMs / 1000)) }) });
    if (suspended.status !== "ACCEPT") throw new AloftError("APPROVAL_UNAVAILABLE", `flow run ${flowRunId} cannot wait for approval: ${suspended.reason ?? `it is ${suspended.state.name}`}`);
    const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
    for (;;) {
      const run = await client.flowRuns.get(flowRunId);
      if (run.state.type !== "PAUSED") {
        const entry = (await client.flowRuns.journal(flowRunId)).find((candidate) => candidate.key === approvalJournalKey(taskToken));
        if (entry) return entry.value as Approval;
        throw new CancelledError(`flow run ${flowRunId} stopped waiting for approval: it is ${run.state.name}`, { runId: flowRunId });
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new TimedOutError(`flow run ${flowRunId} was not approved within ${formatMs(timeoutMs!)}`, { runId: flowRunId });
      await sleepWith(systemClock, Math.min(pollMs, left), signal);
    }
  };
}
