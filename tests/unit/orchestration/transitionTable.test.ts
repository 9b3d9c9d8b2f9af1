import { describe, expect, it } from "vitest";
import { STATE_TYPES, isTerminal, type StateType } from "../../../sdk/model/states.js";
import type { RunSnapshot } from "../../../lambdas/services/orchestration/decision.js";
import { DEFAULT_STATE_NAMES, decideTransition } from "../../../lambdas/services/orchestration/rules.js";
import { WITHOUT_FLAGS, WITH_FORCE, WITH_RETRY, type ExpectedTable } from "./expectedTransitions.js";

const NOW = Date.parse("2026-11-22T10:00:00.000Z");

function runIn(type: StateType): RunSnapshot {
  return {
    state: { type, name: DEFAULT_STATE_NAMES[type], timestamp: "2026-11-22T09:00:00.000Z" },
    version: 7,
    scheduledTime: "2026-11-22T09:00:00.000Z",
  };
}

const pairs = STATE_TYPES.flatMap((from) => STATE_TYPES.map((to) => ({ from, to })));

function checkTable(table: ExpectedTable, flags: { retry?: boolean; force?: boolean }): void {
  it.each(pairs)("$from → $to", ({ from, to }) => {
    const current = runIn(from);
    const decision = decideTransition({ current, proposed: { type: to }, transitionId: "t-1", now: NOW, ...flags });
    const expected = table[from][to];
    if (expected === "reject") {
      expect(decision.status).toBe("REJECT");
      expect(decision.state).toBe(current.state);
      expect("write" in decision ? decision.write : undefined).toBeUndefined();
    } else {
      expect(decision.status).toBe("ACCEPT");
      expect(decision.state?.type).toBe(expected);
      expect("write" in decision ? decision.write : undefined).toMatchObject({
        expectedVersion: 7,
        version: 8,
        transitionId: "t-1",
        state: { type: expected, timestamp: "2026-11-22T10:00:00.000Z" },
      });
    }
    expect(decision.effects).toEqual({});
    expect(decision.reason).toMatch(/^[^\n]+\.$/);
  });
}

describe("every (current, proposed) pair without flags", () => {
  checkTable(WITHOUT_FLAGS, {});
});

describe("every (current, proposed) pair with an explicit retry", () => {
  checkTable(WITH_RETRY, { retry: true });
});

describe("every (current, proposed) pair with force", () => {
  checkTable(WITH_FORCE, { force: true });
});

describe("the tables themselves", () => {
  it("lets a terminal run out only to SCHEDULED or PENDING, and never to CRASHED, CANCELLING or PAUSED", () => {
    for (const table of [WITHOUT_FLAGS, WITH_RETRY, WITH_FORCE]) {
      for (const from of STATE_TYPES.filter(isTerminal)) {
        const exits = STATE_TYPES.filter((to) => table[from][to] !== "reject");
        expect(exits.every((to) => to === "SCHEDULED" || to === "PENDING")).toBe(true);
      }
    }
    expect(STATE_TYPES.filter((to) => WITH_RETRY.COMPLETED[to] !== "reject")).toEqual([]);
  });

  it("lets a run enter PENDING only from SCHEDULED or a re-opened terminal state", () => {
    for (const table of [WITHOUT_FLAGS, WITH_RETRY, WITH_FORCE]) {
      const claimedFrom = STATE_TYPES.filter((from) => table[from].PENDING === "PENDING");
      expect(claimedFrom.every((from) => from === "SCHEDULED" || isTerminal(from))).toBe(true);
    }
  });
});
