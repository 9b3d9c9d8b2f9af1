import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FlowRunResponse } from "aloft";
import { linesOf, startControlPlane, type ControlPlaneFixture } from "./controlPlaneCli.js";

// Each page of the API reads at most 4 filtered Query pages (docs/data-model.md, "Listing cost"):
// cancelled runs behind 1,050 newer scheduled runs of the same flow are not on the first page.
let cp: ControlPlaneFixture;
let cancelled: FlowRunResponse[];

beforeAll(async () => {
  cp = await startControlPlane();
  cancelled = [];
  for (let i = 0; i < 3; i++) {
    const run = await cp.client.flowRuns.create({ flowName: "sparse" });
    await cp.client.flowRuns.cancel(run.id);
    cancelled.unshift(run);
  }
  for (let created = 0; created < 1_050; created += 25) {
    await Promise.all(Array.from({ length: 25 }, () => cp.client.flowRuns.create({ flowName: "sparse" })));
  }
  expect((await cp.client.flowRuns.list({ flow: "sparse", state: "CANCELLED", limit: 2 })).items).toEqual([]);
}, 120_000);

afterAll(async () => {
  await cp?.close();
});

describe("aloft runs ls over short pages", () => {
  it("follows the API's cursors past empty pages until it has --limit runs", async () => {
    const result = await cp.aloft(["runs", "ls", "--flow", "sparse", "--state", "cancelled", "--limit", "2", "--wide"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const [, ...rows] = linesOf(result.stdout);
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual(cancelled.slice(0, 2).map((run) => run.id));
  });

  it("with --json prints every matching run when there are fewer than --limit, and stops at the end", async () => {
    const result = await cp.aloft(["runs", "ls", "--flow", "sparse", "--state", "cancelled", "--limit", "50", "--json"]);
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as FlowRunResponse[]).map((run) => run.id)).toEqual(cancelled.map((run) => run.id));
  });
});
