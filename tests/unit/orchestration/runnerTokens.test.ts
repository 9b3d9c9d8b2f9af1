import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeState, type StateName } from "../../../sdk/model/states.js";
import type { Decision, RunSnapshot, TransitionInput } from "../../../lambdas/services/orchestration/decision.js";
import type { StateType } from "../../../sdk/model/states.js";
import { decideTransition } from "../../../lambdas/services/orchestration/rules.js";

const NOW = Date.parse("2026-11-22T10:00:00.000Z");

function run(name: StateName, runnerToken?: string): RunSnapshot {
  return { state: makeState(name, NOW - 60_000), version: 3, scheduledTime: new Date(NOW - 60_000).toISOString(), ...(runnerToken ? { runnerToken } : {}) };
}

function decide(current: RunSnapshot, proposed: TransitionInput["proposed"], extra: Partial<TransitionInput> = {}): Decision {
  return decideTransition({ current, proposed, now: NOW, ...extra });
}

const writeOf = (decision: Decision) => ("write" in decision ? decision.write : undefined);

describe("runner tokens", () => {
  it("stores the claim's token on the run when a SCHEDULED run is claimed", () => {
    const decision = decide(run("Scheduled"), { type: "PENDING" }, { controlPlane: true, claimToken: "tok-A" });
    expect(decision.status).toBe("ACCEPT");
    expect(writeOf(decision)?.runnerToken).toBe("tok-A");
  });

  it("accepts the holder's RUNNING, rename and terminal proposals", () => {
    expect(decide(run("Pending", "tok-A"), { type: "RUNNING" }, { runnerToken: "tok-A" }).status).toBe("ACCEPT");
    expect(decide(run("Running", "tok-A"), { type: "RUNNING", name: "Retrying" }, { runnerToken: "tok-A" }).status).toBe("ACCEPT");
    expect(decide(run("Running", "tok-A"), { type: "COMPLETED" }, { runnerToken: "tok-A" }).status).toBe("ACCEPT");
  });

  const cases: Array<[string, StateName, TransitionInput["proposed"]["type"]]> = [
    ["PENDING → RUNNING", "Pending", "RUNNING"],
    ["RUNNING → RUNNING", "Running", "RUNNING"],
    ["RUNNING → COMPLETED", "Running", "COMPLETED"],
    ["RUNNING → FAILED", "Running", "FAILED"],
    ["RUNNING → SCHEDULED", "Running", "SCHEDULED"],
    ["CANCELLING → CANCELLED", "Cancelling", "CANCELLED"],
    ["PAUSED → RUNNING", "Paused", "RUNNING"],
  ];
  for (const [transition, from, to] of cases) {
    it(`refuses ${transition} from a runner whose token is not the run's ("claimed-by-another-runner")`, () => {
      const decision = decide(run(from, "tok-B"), { type: to }, { runnerToken: "tok-A" });
      expect(decision).toMatchObject({ status: "REJECT", rule: "claimed-by-another-runner", state: { type: run(from).state.type } });
      expect(decision.reason).toBe("The run is claimed by another runner (this runner's claim was taken over); the runner must stop.");
      expect(writeOf(decision)).toBeUndefined();
    });

    it(`refuses ${transition} without a token once a runner holds the run`, () => {
      const decision = decide(run(from, "tok-B"), { type: to });
      expect(decision).toMatchObject({ status: "REJECT", rule: "claimed-by-another-runner" });
      expect(decision.reason).toContain("only a proposal carrying its runnerToken");
    });
  }

  it("refuses a runner whose run was re-scheduled (no token any more), even for RUNNING from SCHEDULED", () => {
    const decision = decide(run("AwaitingRetry"), { type: "RUNNING" }, { runnerToken: "tok-A" });
    expect(decision).toMatchObject({ status: "REJECT", rule: "claimed-by-another-runner" });
    expect(decision.reason).toContain("claimed by no runner");
  });

  it("lets anyone ask a held run to stop (CANCELLING) without a token", () => {
    expect(decide(run("Running", "tok-A"), { type: "CANCELLING" })).toMatchObject({ status: "ACCEPT", state: { type: "CANCELLING" } });
  });

  it("lets the control plane move a held run without a token (the monitor's CRASHED, a user's resume)", () => {
    expect(decide(run("Running", "tok-A"), { type: "CRASHED" }, { controlPlane: true }).status).toBe("ACCEPT");
    expect(decide(run("Paused", "tok-A"), { type: "RUNNING" }, { controlPlane: true }).status).toBe("ACCEPT");
  });

  it("leaves runs no runner claimed to proposals without a token, as before", () => {
    expect(decide(run("Pending"), { type: "RUNNING" }).status).toBe("ACCEPT");
    expect(decide(run("Running"), { type: "COMPLETED" }).status).toBe("ACCEPT");
  });

  it("clears the token when the control plane schedules the run again, so the old runner is refused", () => {
    const decision = decide(run("Crashed", "tok-A"), { type: "SCHEDULED", name: "AwaitingRetry" }, { controlPlane: true, retry: true });
    expect(decision.status).toBe("ACCEPT");
    expect(writeOf(decision)?.runnerToken).toBeNull();
  });

  it("keeps the token through the holder's own in-process retry wait, and no claim takes that run", () => {
    const waiting = decide(run("Running", "tok-A"), { type: "SCHEDULED", name: "AwaitingRetry" }, { runnerToken: "tok-A" });
    expect(waiting.status).toBe("ACCEPT");
    expect(writeOf(waiting)?.runnerToken).toBeUndefined();
    const claim = decide(run("AwaitingRetry", "tok-A"), { type: "PENDING" }, { controlPlane: true, claimToken: "tok-B" });
    expect(claim).toMatchObject({ status: "REJECT", rule: "claimed-by-another-runner" });
    expect(decide(run("AwaitingRetry", "tok-A"), { type: "RUNNING", name: "Retrying" }, { runnerToken: "tok-A" }).status).toBe("ACCEPT");
  });

  it("judges a late report with the right token on a finished run by the terminal rule", () => {
    expect(decide(run("Crashed", "tok-A"), { type: "COMPLETED" }, { runnerToken: "tok-A" })).toMatchObject({ status: "REJECT", rule: "terminal-is-final" });
  });

  it("checks the token before a duplicate transition id, so a stale runner's resent proposal is refused", () => {
    const current = { ...run("Running", "tok-B"), transitionIds: ["runner-A:running"] };
    expect(decide(current, { type: "RUNNING" }, { runnerToken: "tok-A", transitionId: "runner-A:running" })).toMatchObject({ status: "REJECT", rule: "claimed-by-another-runner" });
  });
});

describe("runner tokens under any interleaving", () => {
  type Step =
    | { actor: "claim"; runner: number }
    | { actor: "runner"; runner: number; type: StateType }
    | { actor: "monitor"; type: "CRASHED" | "SCHEDULED" | "CANCELLED" }
    | { actor: "user"; type: "CANCELLING" };
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ actor: fc.constant("claim" as const), runner: fc.nat({ max: 2 }) }),
    fc.record({ actor: fc.constant("runner" as const), runner: fc.nat({ max: 2 }), type: fc.constantFrom<StateType>("RUNNING", "RUNNING", "COMPLETED", "FAILED", "SCHEDULED", "CANCELLED", "PAUSED") }),
    fc.record({ actor: fc.constant("monitor" as const), type: fc.constantFrom("CRASHED" as const, "SCHEDULED" as const, "CANCELLED" as const) }),
    fc.record({ actor: fc.constant("user" as const), type: fc.constant("CANCELLING" as const) }),
  );

  it("only the runner of the latest claim ever moves the run, and only until the control plane schedules it again", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
        let run: RunSnapshot = { state: makeState("Scheduled", NOW - 60_000), version: 0, scheduledTime: new Date(NOW - 60_000).toISOString() };
        let holder: number | undefined; // whose claim is the latest one still in force
        for (const step of steps) {
          const input: TransitionInput =
            step.actor === "claim"
              ? { current: run, proposed: { type: "PENDING" }, controlPlane: true, claimToken: `tok-${step.runner}`, now: NOW }
              : step.actor === "runner"
                ? { current: run, proposed: { type: step.type }, runnerToken: `tok-${step.runner}`, now: NOW }
                : step.actor === "monitor"
                  ? { current: run, proposed: { type: step.type }, controlPlane: true, retry: step.type === "SCHEDULED", now: NOW }
                  : { current: run, proposed: { type: step.type }, now: NOW };
          const decision = decideTransition(input);
          const write = "write" in decision ? decision.write : undefined;
          if (decision.status !== "ACCEPT" || write === undefined) continue;
          if (step.actor === "runner") expect(step.runner).toBe(holder);
          const next: RunSnapshot = { state: write.state, version: write.version, holdsSlot: write.holdsSlot };
          if (write.scheduledTime !== undefined) next.scheduledTime = write.scheduledTime;
          const token = write.runnerToken === undefined ? run.runnerToken : (write.runnerToken ?? undefined);
          if (token !== undefined) next.runnerToken = token;
          if (step.actor === "claim") holder = step.runner;
          if (token === undefined) holder = undefined;
          run = next;
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
