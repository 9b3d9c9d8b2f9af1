import type { ControlPlaneCalls } from "../../sdk/api/controlPlaneLink.js";
import { MAX_PAGE_LIMIT } from "../store/paging.js";
import type { Services } from "./index.js";

/**
 * The calls a `ControlPlaneLink` makes, answered by the services in this process instead of over
 * HTTP: the runner functions report runs, states, logs and artifacts, and read and write the
 * journal, straight to the table (one hop fewer, no signing, no API Gateway).
 *
 * @example
 * ```ts
 * const link = new ControlPlaneLink(inProcessCalls(services));
 * await flow.run(params, { runId, journal: link.journal, recorder: link.recorder });
 * ```
 */
export function inProcessCalls(services: Services): ControlPlaneCalls {
  const { flowRuns, taskRuns, telemetry } = services;
  return {
    createFlowRun: async (body) => (await flowRuns.create(body)).run,
    proposeFlowRunState: (id, body) => flowRuns.proposeState(id, body),
    createTaskRun: (body) => taskRuns.create(body),
    proposeTaskRunState: (id, body) => taskRuns.proposeState(id, body),
    createLogs: (logs) => telemetry.putLogs(logs),
    createArtifact: (body) => telemetry.createArtifact(body),
    listJournal: async (runId) => {
      // A replay needs the whole journal: every page of it, each a bounded read.
      const entries: Array<{ key: string; value: unknown }> = [];
      let cursor: string | undefined;
      do {
        const page = await telemetry.listJournal(runId, { limit: MAX_PAGE_LIMIT, ...(cursor === undefined ? {} : { cursor }) });
        entries.push(...page.items.map(({ key, value }) => ({ key, value })));
        cursor = page.cursor;
      } while (cursor !== undefined);
      return entries;
    },
    putJournalEntry: async (runId, key, value) => ({ value: (await telemetry.putJournalEntry(runId, key, value)).entry.value }),
  };
}
