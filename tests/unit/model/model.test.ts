import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { durationToMs, formatMs } from "../../../sdk/model/duration.js";
import { hashValue, stableStringify } from "../../../sdk/engine/hash.js";
import { STATE_NAME_TYPES, isTerminal } from "aloft";

describe("durations", () => {
  it.each([
    [2, 2000],
    [0.25, 250],
    ["250ms", 250],
    ["30s", 30_000],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["1.5s", 1500],
  ])("reads %j as %i ms", (value, ms) => {
    expect(durationToMs(value)).toBe(ms);
  });

  it.each([["5 minutes"], ["-1s"], [-1], [Number.NaN], [Number.POSITIVE_INFINITY], ["1w"], [""], [null], [{}]])("rejects %j", (value) => {
    expect(durationToMs(value)).toBeUndefined();
  });

  it("formats milliseconds for people", () => {
    expect([formatMs(250), formatMs(1500), formatMs(30_000), formatMs(90_000), formatMs(3_600_000), formatMs(5_400_000)]).toEqual([
      "250ms",
      "1.5s",
      "30s",
      "1m30s",
      "1h",
      "1h30m",
    ]);
  });
});

describe("stable hashing of arguments", () => {
  it("gives equal hashes to equal values whatever their key order", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(hashValue(reversed)).toBe(hashValue(record));
      }),
    );
  });

  it("gives different hashes to different JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        fc.pre(stableStringify(a) !== stableStringify(b));
        expect(hashValue(a)).not.toBe(hashValue(b));
      }),
    );
  });

  it("distinguishes values JSON would conflate", () => {
    expect(stableStringify([undefined])).not.toBe(stableStringify([null]));
    expect(stableStringify(new Map([["a", 1]]))).not.toBe(stableStringify({ a: 1 }));
    expect(stableStringify(1n)).not.toBe(stableStringify(1));
  });

  it("handles circular structures", () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    expect(stableStringify(a)).toBe('{"self":[circular],"x":1}');
  });
});

describe("states", () => {
  it("maps every state name to its Prefect type", () => {
    expect(STATE_NAME_TYPES).toMatchObject({
      Late: "SCHEDULED",
      AwaitingRetry: "SCHEDULED",
      AwaitingConcurrencySlot: "SCHEDULED",
      Retrying: "RUNNING",
      Suspended: "PAUSED",
      Cached: "COMPLETED",
      TimedOut: "FAILED",
      InvalidParameters: "FAILED",
      Crashed: "CRASHED",
    });
  });

  it("treats exactly COMPLETED, FAILED, CANCELLED and CRASHED as terminal", () => {
    expect((["SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING", "COMPLETED", "FAILED", "CANCELLED", "CRASHED"] as const).filter(isTerminal)).toEqual([
      "COMPLETED",
      "FAILED",
      "CANCELLED",
      "CRASHED",
    ]);
  });
});
