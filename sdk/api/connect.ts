import { configure } from "../engine/context.js";
import { findFlow } from "../definitions/registry.js";
import { setApprovalRuntime } from "../definitions/approval.js";
import { controlPlaneApprovals } from "./approvals.js";
import { AloftClient } from "./client.js";
import { ControlPlaneLink, type ControlPlaneCalls } from "./controlPlaneLink.js";

/**
 * The calls a {@link ControlPlaneLink} makes, on an {@link AloftClient}.
 *
 * @example
 * ```ts
 * const link = new ControlPlaneLink(clientCalls(new AloftClient()));
 * ```
 */
export function clientCalls(client: AloftClient): ControlPlaneCalls {
  return {
    createFlowRun: (body) => client.flowRuns.create(body),
    proposeFlowRunState: (id, body) => client.flowRuns.proposeState(id, body),
    createTaskRun: (body) => client.taskRuns.create(body),
    proposeTaskRunState: (id, body) => client.taskRuns.proposeState(id, body),
    createLogs: (logs) => client.logs.create({ logs }),
    createArtifact: (body) => client.artifacts.create(body),
    listJournal: (runId) => client.flowRuns.journal(runId),
    putJournalEntry: (runId, key, value) => client.flowRuns.putJournalEntry(runId, key, value),
  };
}

/**
 * Records every flow run of this process in a control plane from now on: runs, task runs, states,
 * logs and artifacts are reported, top-level runs journal their completed calls there (so
 * `aloft runs retry` resumes them), and `waitForApproval` suspends the run until `aloft runs resume`. Importing `aloft` does this by itself when `ALOFT_API_URL` is
 * set. Returns the link and a function that disconnects.
 *
 * @example
 * ```ts
 * const { link, disconnect } = connectToControlPlane(new AloftClient({ apiUrl: "http://localhost:4200" }));
 * await etl.run({ day: "2026-11-01" });
 * disconnect();
 * ```
 */
export function connectToControlPlane(client: AloftClient = new AloftClient()): { link: ControlPlaneLink; disconnect: () => void } {
  const link = new ControlPlaneLink(clientCalls(client), { entrypointOf: entrypointOf });
  const restoreEngine = configure({ telemetry: link.recorder, journal: link.journal });
  // waitForApproval suspends the run in the control plane and waits for `aloft runs resume`.
  const restoreApprovals = setApprovalRuntime(controlPlaneApprovals(client, { flush: () => link.flush() }));
  const disconnect = () => {
    restoreApprovals();
    restoreEngine();
  };
  return { link, disconnect };
}

function entrypointOf(flowName: string): string | undefined {
  try {
    return findFlow(flowName).sourceFile;
  } catch {
    return undefined;
  }
}
