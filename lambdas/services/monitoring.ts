import type { Store } from "../store/store.js";
import type { FlowRunService } from "./flowRuns.js";
import type { WorkQueue } from "./ports.js";

/** A SCHEDULED run this long past its due time is Late. */
export const LATE_AFTER_SECONDS = 15;
/** SCHEDULED runs read per sweep at most (pages of 100, newest first). */
export const MAX_SCHEDULED_RUNS_PER_SWEEP = 2_000;

/** What one sweep found. */
export interface SweepOutcome {
  /** Runs marked Late by this sweep. */
  late: string[];
  /** Of those, the runs sent to the work queue again (deployment runs). */
  requeued: string[];
  /** SCHEDULED runs examined. */
  examined: number;
}

/**
 * The monitor's sweep: a SCHEDULED run more than {@link LATE_AFTER_SECONDS} past its due time was
 * not dispatched (its message was lost, or the process that made the run died before sending it).
 * It is renamed Late, keeping its due time (transition id `late:<runId>`, so the rename happens
 * once), and a deployment run is queued for dispatch again. The dispatcher's claim makes a second
 * message for a run harmless.
 *
 * @example
 * ```ts
 * const monitor = new LateRunMonitor({ store, flowRuns, queue, now: Date.now });
 * const { late } = await monitor.sweep();
 * ```
 */
export class LateRunMonitor {
  constructor(private readonly deps: { store: Store; flowRuns: FlowRunService; queue: WorkQueue; now: () => number }) {}

  async sweep(): Promise<SweepOutcome> {
    const { store, flowRuns, queue } = this.deps;
    const outcome: SweepOutcome = { late: [], requeued: [], examined: 0 };
    let cursor: string | undefined;
    do {
      const page = await store.listFlowRuns({ stateType: "SCHEDULED" }, { limit: 100, ...(cursor === undefined ? {} : { cursor }) });
      cursor = page.cursor;
      outcome.examined += page.items.length;
      const lateBefore = this.deps.now() - LATE_AFTER_SECONDS * 1000;
      for (const run of page.items) {
        if (run.state.type !== "SCHEDULED" || run.state.name === "Late" || run.scheduledTime === undefined) continue;
        if (Date.parse(run.scheduledTime) >= lateBefore) continue;
        const { decision } = await flowRuns.proposeState(run.id, {
          state: { type: "SCHEDULED", name: "Late", scheduledTime: run.scheduledTime },
          transitionId: `late:${run.id}`,
        });
        if (decision.status !== "ACCEPT" || decision.rule === "duplicate-transition") continue;
        outcome.late.push(run.id);
        if (run.deploymentId !== undefined) {
          await queue.send({ runId: run.id });
          outcome.requeued.push(run.id);
        }
      }
    } while (cursor !== undefined && outcome.examined < MAX_SCHEDULED_RUNS_PER_SWEEP);
    return outcome;
  }
}
