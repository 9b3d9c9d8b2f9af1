import { describe, expect, it } from "vitest";
import { runApiBenchmark } from "../../bench/api/harness.js";
import { percentile } from "../../bench/api/load.js";

// Runs the real harness against the local Aloft server started from the build (`npm run build` must
// have run, as `npm test` does) at a tiny scale; figures are checked for shape and counts, not speed.
describe("bench/api harness", () => {
  it("runs every phase against the Aloft server with every answer accepted, and dashes for a skipped Prefect", async () => {
    const progress: string[] = [];
    const { results, table, hasErrors } = await runApiBenchmark({ only: "aloft", scale: 0.002, say: (line) => progress.push(line) });

    expect(hasErrors).toBe(false);
    const aloft = results.aloft!;
    // 5,000 × 0.002 flow runs; 10,000 × 0.002 task runs, each taken through RUNNING and COMPLETED.
    expect(aloft.phases.flowRuns.requests).toBe(10);
    expect(aloft.phases.taskRunSetup.requests).toBe(20);
    expect(aloft.phases.transitions.requests).toBe(40);
    for (const phase of Object.values(aloft.phases)) {
      expect(phase.errors).toBe(0);
      expect(phase.requestsPerSecond).toBeGreaterThan(0);
      expect(phase.p50Ms).toBeLessThanOrEqual(phase.p99Ms);
      expect(phase.p99Ms).toBeLessThanOrEqual(phase.maxMs);
    }
    expect(aloft.untimedErrors).toBe(0);
    expect(aloft.peakRssKib).toBeGreaterThan(0);
    expect(results.prefect).toBeUndefined();

    const lines = table.split("\n");
    expect(lines[0]).toMatch(/^\| phase +\| requests \| Aloft req\/s \| Prefect req\/s \| req\/s ratio \|/);
    const transitions = lines.find((line) => line.startsWith("| 2. task-run transitions"))!.split("|").slice(1, -1).map((cell) => cell.trim());
    expect(transitions[1]).toBe("40");
    expect(transitions[2]).toMatch(/^[\d,]+$/);
    expect(transitions[3]).toBe("—");
    expect(transitions.at(-1)).toBe("0 / —");
    expect(progress.some((line) => line.startsWith("prefect"))).toBe(false);
  });

  it("rejects a scale that is not a positive number, naming it", async () => {
    await expect(runApiBenchmark({ only: "aloft", scale: -1 })).rejects.toThrow("scale must be a number > 0 (got -1)");
  });

  it("takes percentiles by nearest rank", () => {
    const latencies = Array.from({ length: 200 }, (_, index) => 200 - index);
    expect(percentile(latencies, 0.5)).toBe(100);
    expect(percentile(latencies, 0.99)).toBe(198);
    expect(percentile(latencies, 1)).toBe(200);
    expect(percentile([], 0.5)).toBeNaN();
  });
});
