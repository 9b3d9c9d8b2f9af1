import { describe, expect, it } from "vitest";
import { renderRunsTable, runRunsBenchmark } from "../../bench/runs/harness.js";

// Runs the real harness against `aloft server start --runners 2` from the build (`npm run build` must
// have run, as `npm test` does) at a tiny scale; figures are checked for shape and counts, not speed.
describe("bench/runs harness", () => {
  it("pushes every run through the local pool to COMPLETED and reports throughput, latency and memory", { timeout: 90_000 }, async () => {
    const progress: string[] = [];
    const result = await runRunsBenchmark({ runs: 20, runners: 2, pacedRuns: 3, say: (line) => progress.push(line) });

    expect(result.burst).toMatchObject({ runs: 20, completed: 20 });
    expect(result.paced).toMatchObject({ runs: 3, completed: 3 });
    for (const phase of [result.burst, result.paced]) {
      expect(phase.runsPerSecond).toBeGreaterThan(0);
      expect(phase.p50StartMs).toBeGreaterThanOrEqual(0);
      expect(phase.p50StartMs).toBeLessThanOrEqual(phase.p99StartMs);
    }
    expect(result.peakRssMib).toBeGreaterThan(0);
    const lines = result.table.split("\n");
    expect(lines[0]).toBe("| phase (2 runners) | completed | runs/s | p50 schedule→start | p99 schedule→start |");
    expect(lines[2]).toMatch(/^\| burst \(all submitted at once\) \| 20 \/ 20 \| [\d.]+ \| [\d,]+ ms \| [\d,]+ ms \|$/);
    expect(progress[0]).toBe("runs: burst of 20 runs through 2 runners");
  });

  it("prints a dash for a latency it could not measure", () => {
    const phase = { runs: 0, completed: 0, runsPerSecond: 0, p50StartMs: Number.NaN, p99StartMs: Number.NaN };
    expect(renderRunsTable(1, phase, phase, 10).split("\n")[2]).toBe("| burst (all submitted at once) | 0 / 0 | 0.0 | — | — |");
  });
});
