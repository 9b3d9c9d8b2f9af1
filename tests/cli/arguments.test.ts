import { describe, expect, it } from "vitest";
import { parseTarget } from "../../sdk/cli/loadFlow.js";
import { parseParam } from "../../sdk/cli/runParams.js";
import { UsageError } from "../../sdk/cli/usageError.js";

describe("--param key=value", () => {
  it.each([
    ["limit=5", "limit", 5],
    ["day=2026-11-01", "day", "2026-11-01"],
    ["dryRun=true", "dryRun", true],
    ["tags=[\"a\",1]", "tags", ["a", 1]],
    ["window={\"from\":1}", "window", { from: 1 }],
    ["name=\"007\"", "name", "007"],
    ["query=a=b", "query", "a=b"],
    ["empty=", "empty", ""],
  ])("parses %s", (text, key, value) => {
    expect(parseParam(text)).toEqual([key, value]);
  });

  it("rejects a value without a key", () => {
    expect(() => parseParam("=5")).toThrow(new UsageError('--param "=5" has no key before "=" (expected key=value)'));
  });
});

describe("<file>[:export]", () => {
  it.each([
    ["flows/etl.ts", { file: "flows/etl.ts" }],
    ["flows/etl.ts:nightly", { file: "flows/etl.ts", exportName: "nightly" }],
    ["C:\\flows\\etl.ts", { file: "C:\\flows\\etl.ts" }],
    ["C:\\flows\\etl.ts:etl", { file: "C:\\flows\\etl.ts", exportName: "etl" }],
  ])("splits %s", (target, expected) => {
    expect(parseTarget(target)).toEqual(expected);
  });

  it("rejects an export that is not an identifier", () => {
    expect(() => parseTarget("etl.ts:my-flow")).toThrow(new UsageError('"my-flow" in etl.ts:my-flow is not an export name (expected <file>[:export])'));
  });
});
