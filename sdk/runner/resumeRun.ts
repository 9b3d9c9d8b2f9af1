import { AloftClient } from "../api/client.js";
import { connectToControlPlane } from "../api/connect.js";
import type { Recorder } from "../engine/recorder.js";
import type { FlowRun } from "../model/runs.js";
import { loadFlow } from "../cli/loadFlow.js";
import { UsageError } from "../cli/usageError.js";

/**
 * Re-executes a FAILED, CRASHED or CANCELLED run (COMPLETED with `force`) from its journal, in this
 * process: the control plane re-opens the run, the flow's code is loaded from the run's entrypoint,
 * and every call the journal records as completed returns its recorded result instead of running
 * again. Resolves to the run's new final state. A deployment's run is refused: the control plane
 * re-opens it for its work pool or state machine (`client.flowRuns.retry`), which resume it there.
 *
 * @example
 * ```ts
 * const run = await resumeRun("4f8c…", { client: new AloftClient() });
 * console.log(run.state.name); // "Completed"
 * ```
 */
export async function resumeRun(
  runId: string,
  options: { client?: AloftClient; force?: boolean; recorder?: Recorder; signal?: AbortSignal } = {},
): Promise<FlowRun> {
  const client = options.client ?? new AloftClient();
  const stored = await client.flowRuns.get(runId);
  if (stored.deploymentId !== undefined) {
    // Re-opening a deployment run queues it for its work pool (or state machine): running it here too
    // would run it twice.
    throw new UsageError(`flow run ${runId} belongs to a deployment: re-open it with client.flowRuns.retry and its work pool runs it`);
  }
  if (!stored.entrypoint) {
    throw new UsageError(`flow run ${runId} has no entrypoint: it was not started from a file Aloft could see, so it cannot be re-executed here`);
  }
  const reopened = await client.flowRuns.retry(runId, options.force ? { force: true } : {});
  if (reopened.status !== "ACCEPT") {
    throw new UsageError(`flow run ${runId} cannot be retried: ${reopened.reason ?? `it is ${stored.state.type}`}`);
  }
  const { flow } = await loadFlow(stored.entrypoint, process.cwd(), { flowName: stored.flowName });
  const { link, disconnect } = connectToControlPlane(client);
  try {
    return await flow.run(stored.parameters as never, {
      runId,
      journal: link.journal,
      ...(stored.tags.length > 0 ? { tags: stored.tags } : {}),
      ...(options.recorder ? { recorder: options.recorder, replaceRecorder: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    await link.flush();
    disconnect();
  }
}
