import type { Decision, RunSnapshot, RunWrite } from "../../../lambdas/services/orchestration/decision.js";

/** One write the store made, with what it replaced and the decision that asked for it. */
export interface WriteRecord {
  runId: string;
  before: RunSnapshot;
  write: RunWrite;
  decision: Decision;
}

export type ApplyResult = "written" | "nothing-to-write" | "version-conflict" | "no-slot";

/**
 * A test double for the run store: runs keyed by id, each written only by compare-and-set on its
 * version, plus one concurrency limit whose slots are taken with their own conditional check. It
 * applies a decision's write and slot effects together; a real store does two conditional writes
 * (slot first, then the run, giving the slot back if the run's write fails), which is the same as
 * far as the rules can tell.
 */
export class VersionedStore {
  readonly writes: WriteRecord[] = [];
  private readonly runs = new Map<string, RunSnapshot>();
  private slotsInUse = 0;
  private mostSlotsInUse = 0;

  constructor(readonly slotLimit: number) {}

  create(runId: string, run: RunSnapshot): void {
    this.runs.set(runId, structuredClone(run));
  }

  /** A copy of the run, as a service would read it. */
  read(runId: string): RunSnapshot | undefined {
    const run = this.runs.get(runId);
    return run === undefined ? undefined : structuredClone(run);
  }

  get inUse(): number {
    return this.slotsInUse;
  }

  get peakInUse(): number {
    return this.mostSlotsInUse;
  }

  runIds(): string[] {
    return [...this.runs.keys()];
  }

  apply(runId: string, decision: Decision): ApplyResult {
    const write = "write" in decision ? decision.write : undefined;
    if (write === undefined) return "nothing-to-write";
    const run = this.runs.get(runId);
    if (run === undefined || run.version !== write.expectedVersion) return "version-conflict";
    if (decision.effects.takeSlot === true && this.slotsInUse >= this.slotLimit) return "no-slot";
    if (decision.effects.takeSlot === true) this.slotsInUse += 1;
    if (decision.effects.releaseSlot === true) this.slotsInUse -= 1;
    this.mostSlotsInUse = Math.max(this.mostSlotsInUse, this.slotsInUse);

    const next: RunSnapshot = {
      state: write.state,
      version: write.version,
      holdsSlot: write.holdsSlot,
      transitionIds: write.transitionId === undefined ? (run.transitionIds ?? []) : [...(run.transitionIds ?? []), write.transitionId],
    };
    if (write.scheduledTime !== undefined) next.scheduledTime = write.scheduledTime;
    this.writes.push({ runId, before: structuredClone(run), write: structuredClone(write), decision });
    this.runs.set(runId, next);
    return "written";
  }
}
