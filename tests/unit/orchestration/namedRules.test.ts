import { describe, expect, it } from "vitest";
import { makeState, type StateName } from "../../../sdk/model/states.js";
import type { ConcurrencyUsage, Decision, RunSnapshot, TransitionInput } from "../../../lambdas/services/orchestration/decision.js";
import { decideTransition } from "../../../lambdas/services/orchestration/rules.js";

const NOW = Date.parse("2026-11-22T10:00:00.000Z");
const iso = (offsetSeconds: number): string => new Date(NOW + offsetSeconds * 1000).toISOString();

function run(name: StateName, extra: Partial<RunSnapshot> = {}): RunSnapshot {
  return { state: makeState(name, NOW - 60_000), version: 4, scheduledTime: iso(-60), ...extra };
}

function decide(current: RunSnapshot | undefined, proposed: TransitionInput["proposed"], extra: Partial<TransitionInput> = {}): Decision {
  return decideTransition({ current, proposed, now: NOW, ...extra });
}

function writeOf(decision: Decision) {
  return "write" in decision ? decision.write : undefined;
}

const free = (strategy: ConcurrencyUsage["strategy"] = "ENQUEUE"): ConcurrencyUsage => ({ name: "deployment:etl", limit: 2, inUse: 1, strategy });
const full = (strategy: ConcurrencyUsage["strategy"] = "ENQUEUE"): ConcurrencyUsage => ({ name: "deployment:etl", limit: 2, inUse: 2, strategy });

describe("starting early", () => {
  it("makes a run proposed RUNNING before its scheduled time WAIT for the remaining whole seconds", () => {
    const decision = decide(run("Scheduled", { scheduledTime: iso(90.2) }), { type: "RUNNING" });
    expect(decision).toMatchObject({ status: "WAIT", delaySeconds: 91, rule: "early-start", state: { type: "SCHEDULED" } });
    expect(decision.reason).toBe(`The run is scheduled for ${iso(90.2)}, 91s from now.`);
    expect(writeOf(decision)).toBeUndefined();
  });

  it("makes a claimed (PENDING) run WAIT too, using the scheduled time carried from SCHEDULED", () => {
    const decision = decide(run("Pending", { scheduledTime: iso(5) }), { type: "RUNNING" });
    expect(decision).toMatchObject({ status: "WAIT", delaySeconds: 5 });
  });

  it("waits at least one second when less than a second remains", () => {
    expect(decide(run("Scheduled", { scheduledTime: iso(0.001) }), { type: "RUNNING" })).toMatchObject({ status: "WAIT", delaySeconds: 1 });
  });

  it("starts a run proposed RUNNING exactly at its scheduled time", () => {
    expect(decide(run("Scheduled", { scheduledTime: iso(0) }), { type: "RUNNING" }).status).toBe("ACCEPT");
  });

  it("lets a worker claim (PENDING) a run before it is due", () => {
    const decision = decide(run("Scheduled", { scheduledTime: iso(10) }), { type: "PENDING" });
    expect(decision.status).toBe("ACCEPT");
    expect(writeOf(decision)?.scheduledTime).toBe(iso(10));
  });
});

describe("cancelling", () => {
  it("turns SCHEDULED → CANCELLING into CANCELLED, keeping the message", () => {
    const decision = decide(run("Scheduled"), { type: "CANCELLING", message: "cancelled from the dashboard" }, { transitionId: "ui-1" });
    expect(decision).toMatchObject({
      status: "ACCEPT",
      rule: "cancel-without-process",
      state: { type: "CANCELLED", name: "Cancelled", message: "cancelled from the dashboard" },
    });
    expect(writeOf(decision)).toMatchObject({ version: 5, transitionId: "ui-1", state: { type: "CANCELLED" } });
  });

  it("cancels a Suspended run at once, since its process has exited", () => {
    expect(decide(run("Suspended"), { type: "CANCELLING" })).toMatchObject({ status: "ACCEPT", state: { type: "CANCELLED" } });
  });

  it("sends a Paused run (its process still waiting) to CANCELLING", () => {
    expect(decide(run("Paused"), { type: "CANCELLING" })).toMatchObject({ status: "ACCEPT", state: { type: "CANCELLING" } });
  });

  it("refuses to let a CANCELLING run complete, naming the only way out", () => {
    const decision = decide(run("Cancelling"), { type: "COMPLETED" });
    expect(decision).toMatchObject({ status: "REJECT", state: { type: "CANCELLING" } });
    expect(decision.reason).toBe("A CANCELLING run can only become CANCELLED, not COMPLETED.");
  });
});

describe("concurrency slots", () => {
  it("takes a slot when a run enters RUNNING with room in its limits", () => {
    const decision = decide(run("Pending"), { type: "RUNNING" }, { concurrency: [free()] });
    expect(decision).toMatchObject({ status: "ACCEPT", effects: { takeSlot: true } });
    expect(writeOf(decision)?.holdsSlot).toBe(true);
  });

  it("takes no slot when no limit applies", () => {
    const decision = decide(run("Pending"), { type: "RUNNING" });
    expect(decision.effects).toEqual({});
    expect(writeOf(decision)?.holdsSlot).toBe(false);
  });

  it("releases the slot when the run reaches a terminal state", () => {
    for (const type of ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"] as const) {
      const decision = decide(run("Running", { holdsSlot: true }), { type });
      expect(decision).toMatchObject({ status: "ACCEPT", effects: { releaseSlot: true } });
      expect(writeOf(decision)?.holdsSlot).toBe(false);
    }
    const cancelled = decide(run("Cancelling", { holdsSlot: true }), { type: "CANCELLED" });
    expect(cancelled.effects).toEqual({ releaseSlot: true });
  });

  it("releases the slot while a retry waits in SCHEDULED and takes a fresh one on RUNNING", () => {
    const awaiting = decide(run("Running", { holdsSlot: true }), { type: "SCHEDULED", name: "AwaitingRetry", scheduledTime: iso(30) });
    expect(awaiting).toMatchObject({ status: "ACCEPT", effects: { releaseSlot: true }, state: { name: "AwaitingRetry" } });
    expect(writeOf(awaiting)).toMatchObject({ holdsSlot: false, scheduledTime: iso(30) });
    const retrying = decideTransition({
      current: run("AwaitingRetry", { scheduledTime: iso(30) }),
      proposed: { type: "RUNNING", name: "Retrying" },
      now: NOW + 30_000,
      concurrency: [free()],
    });
    expect(retrying).toMatchObject({ status: "ACCEPT", effects: { takeSlot: true }, state: { name: "Retrying" } });
  });

  it("keeps the slot through PAUSED and CANCELLING and takes no second one on resume", () => {
    expect(decide(run("Running", { holdsSlot: true }), { type: "PAUSED" }).effects).toEqual({});
    expect(writeOf(decide(run("Running", { holdsSlot: true }), { type: "CANCELLING" }))?.holdsSlot).toBe(true);
    const resumed = decide(run("Paused", { holdsSlot: true }), { type: "RUNNING" }, { concurrency: [full()] });
    expect(resumed).toMatchObject({ status: "ACCEPT", effects: {} });
    expect(writeOf(resumed)?.holdsSlot).toBe(true);
  });

  it("makes a run WAIT for a slot when the limit is full and the strategy is ENQUEUE", () => {
    const decision = decide(run("Pending"), { type: "RUNNING" }, { concurrency: [full("ENQUEUE")] });
    expect(decision).toMatchObject({ status: "WAIT", delaySeconds: 30, rule: "concurrency-full", state: { type: "PENDING" }, effects: {} });
    expect(decision.reason).toBe('Concurrency limit "deployment:etl" (2 of 2 slots in use) is full; waiting 30s for a slot.');
  });

  it("waits as long as the slowest full limit asks, naming every full limit", () => {
    const decision = decide(run("Pending"), { type: "RUNNING" }, {
      concurrency: [free(), { name: "tag:db", limit: 1, inUse: 1, waitSeconds: 12.5 }, { name: "tag:s3", limit: 3, inUse: 4, waitSeconds: 5 }],
    });
    expect(decision).toMatchObject({ status: "WAIT", delaySeconds: 13 });
    expect(decision.reason).toContain('"tag:db" (1 of 1 slots in use), "tag:s3" (4 of 3 slots in use)');
  });

  it("cancels the run when the limit is full and the strategy is CANCEL_NEW", () => {
    const decision = decide(run("Pending"), { type: "RUNNING" }, { concurrency: [full("CANCEL_NEW")], transitionId: "runner-1" });
    expect(decision).toMatchObject({ status: "REJECT", rule: "concurrency-cancel-new", state: { type: "CANCELLED", name: "Cancelled" }, effects: {} });
    const write = writeOf(decision);
    expect(write).toMatchObject({ expectedVersion: 4, version: 5, holdsSlot: false, state: { type: "CANCELLED" } });
    expect(write?.transitionId).toBeUndefined();
  });

  it("prefers cancelling over waiting when one full limit says CANCEL_NEW and another ENQUEUE", () => {
    const limits = [full("ENQUEUE"), { name: "tag:db", limit: 1, inUse: 1, strategy: "CANCEL_NEW" as const }];
    expect(decide(run("Pending"), { type: "RUNNING" }, { concurrency: limits }).state?.type).toBe("CANCELLED");
  });

  it("aborts a run whose limit is 0, since it could never start", () => {
    const decision = decide(run("Pending"), { type: "RUNNING" }, { concurrency: [free(), { name: "tag:db", limit: 0, inUse: 0 }] });
    expect(decision).toMatchObject({ status: "ABORT", rule: "concurrency-limit-zero", state: { type: "PENDING" } });
    expect(decision.reason).toBe('Concurrency limit "tag:db" is 0, so the run can never start.');
  });

  it("checks the schedule before the limit, so an early run takes no slot", () => {
    const decision = decide(run("Scheduled", { scheduledTime: iso(20) }), { type: "RUNNING" }, { concurrency: [full("CANCEL_NEW")] });
    expect(decision).toMatchObject({ status: "WAIT", rule: "early-start" });
  });
});

describe("transition ids", () => {
  it("answers a repeated transition id with ACCEPT, the current state, no write and no effects", () => {
    const current = run("Running", { holdsSlot: true, transitionIds: ["claim-1", "start-1"] });
    const decision = decide(current, { type: "RUNNING" }, { transitionId: "start-1", concurrency: [full("CANCEL_NEW")] });
    expect(decision).toEqual({
      status: "ACCEPT",
      state: current.state,
      rule: "duplicate-transition",
      reason: 'Transition "start-1" was already applied; the run is RUNNING.',
      effects: {},
    });
  });

  it("recognises an older id, not only the last one, even when the proposal would now be refused", () => {
    const decision = decide(run("Completed", { transitionIds: ["claim-1", "start-1", "done-1"] }), { type: "PENDING" }, { transitionId: "claim-1" });
    expect(decision).toMatchObject({ status: "ACCEPT", rule: "duplicate-transition", state: { type: "COMPLETED" } });
    expect(writeOf(decision)).toBeUndefined();
  });

  it("records a new id in the write", () => {
    expect(writeOf(decide(run("Scheduled", { transitionIds: ["a"] }), { type: "PENDING" }, { transitionId: "b" }))?.transitionId).toBe("b");
  });
});

describe("leaving a terminal state", () => {
  it("re-opens a FAILED run as AwaitingRetry on an explicit retry, at the proposed time", () => {
    const decision = decide(run("Failed"), { type: "SCHEDULED", name: "AwaitingRetry", scheduledTime: iso(60) }, { retry: true });
    expect(decision).toMatchObject({ status: "ACCEPT", rule: "retry-reopens", state: { type: "SCHEDULED", name: "AwaitingRetry" } });
    expect(writeOf(decision)?.scheduledTime).toBe(iso(60));
  });

  it("schedules a re-opened run for now when no time is proposed", () => {
    expect(writeOf(decide(run("Crashed"), { type: "SCHEDULED" }, { retry: true }))?.scheduledTime).toBe(iso(0));
  });

  it("refuses to re-run a COMPLETED run on a retry, and does it with force", () => {
    const retried = decide(run("Completed"), { type: "PENDING" }, { retry: true });
    expect(retried).toMatchObject({ status: "REJECT", rule: "completed-needs-force", state: { type: "COMPLETED" } });
    expect(decide(run("Completed"), { type: "PENDING" }, { force: true })).toMatchObject({ status: "ACCEPT", state: { type: "PENDING" } });
  });

  it("refuses a retry straight to RUNNING, so a re-opened run is claimed by one runner", () => {
    expect(decide(run("Failed"), { type: "RUNNING" }, { force: true })).toMatchObject({ status: "REJECT", rule: "reopen-through-claim" });
  });

  it("refuses terminal → CRASHED, CANCELLING and PAUSED with a reason naming both states", () => {
    for (const type of ["CRASHED", "CANCELLING", "PAUSED"] as const) {
      const decision = decide(run("Completed"), { type });
      expect(decision).toMatchObject({ status: "REJECT", rule: "terminal-is-final" });
      expect(decision.reason).toBe(`A COMPLETED run can't become ${type}.`);
    }
  });

  it("explains how to leave a terminal state when it is refused", () => {
    expect(decide(run("Failed"), { type: "SCHEDULED" }).reason).toBe(
      "The run is FAILED, a terminal state it leaves only by an explicit retry to SCHEDULED or PENDING.",
    );
  });
});

describe("same type to same type", () => {
  it("accepts a rename within SCHEDULED, RUNNING or PAUSED as a write", () => {
    expect(decide(run("Scheduled"), { type: "SCHEDULED", name: "Late" })).toMatchObject({ status: "ACCEPT", state: { name: "Late" } });
    expect(decide(run("Running"), { type: "RUNNING", name: "Retrying" })).toMatchObject({ status: "ACCEPT", state: { name: "Retrying" } });
    expect(decide(run("Paused"), { type: "PAUSED", name: "Suspended" })).toMatchObject({ status: "ACCEPT", state: { name: "Suspended" } });
  });

  it("takes no slot on RUNNING → RUNNING even when the limit is full", () => {
    const decision = decide(run("Running"), { type: "RUNNING" }, { concurrency: [full("CANCEL_NEW")] });
    expect(decision).toMatchObject({ status: "ACCEPT", effects: {} });
  });

  it("refuses a second claim of a PENDING run", () => {
    const decision = decide(run("Pending"), { type: "PENDING" });
    expect(decision).toMatchObject({ status: "REJECT", rule: "claim-only-from-scheduled", state: { type: "PENDING" } });
    expect(decision.reason).toBe("Only a SCHEDULED run can be claimed (PENDING); this run is PENDING.");
  });
});

describe("ABORT versus REJECT", () => {
  it("aborts when the run does not exist, with no state to adopt", () => {
    expect(decide(undefined, { type: "PENDING" })).toEqual({
      status: "ABORT",
      state: undefined,
      rule: "run-not-found",
      reason: "The run does not exist.",
      effects: {},
    });
  });

  it("aborts any proposal, even an allowed one, while the run is being deleted", () => {
    expect(decide(run("Scheduled", { deleting: true }), { type: "PENDING" })).toMatchObject({ status: "ABORT", rule: "run-deleting" });
  });

  it.each([
    [{ type: "FAILED", name: "Completed" }, 'The state name "Completed" belongs to COMPLETED, not FAILED.'],
    [{ type: "DONE" }, 'Unknown state type "DONE"; expected one of SCHEDULED, PENDING, RUNNING, PAUSED, CANCELLING, COMPLETED, FAILED, CANCELLED, CRASHED.'],
    [{ type: "RUNNING", name: " " }, "The proposed state name is empty."],
    [{ type: "PENDING", scheduledTime: iso(5) }, "scheduledTime is only allowed on a SCHEDULED proposal, not PENDING."],
    [{ type: "SCHEDULED", scheduledTime: "tomorrow" }, 'scheduledTime "tomorrow" is not an ISO 8601 date.'],
  ])("aborts the malformed proposal %j", (proposed, reason) => {
    const decision = decide(run("Scheduled"), proposed as TransitionInput["proposed"]);
    expect(decision).toMatchObject({ status: "ABORT", rule: "invalid-proposal", reason, state: { type: "SCHEDULED" } });
  });

  it("accepts a custom name that no type claims", () => {
    expect(decide(run("Running"), { type: "FAILED", name: "QuotaExceeded" })).toMatchObject({ status: "ACCEPT", state: { name: "QuotaExceeded" } });
  });

  it("rejects, rather than aborts, a proposal the current state forbids but a later state may allow", () => {
    expect(decide(run("Cancelled"), { type: "PENDING" }).status).toBe("REJECT");
    expect(decide(run("Cancelled"), { type: "PENDING" }, { retry: true }).status).toBe("ACCEPT");
  });
});
