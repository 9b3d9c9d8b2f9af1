import { describe, expect, it } from "vitest";
import { runSoakBenchmark } from "../../bench/soak/harness.js";

// Runs the real soak harness against `aloft server start` from the build (`npm run build` must have
// run, as `npm test` does) at a tiny scale; figures are checked for shape and counts, not for memory.
describe("bench/soak harness", () => {
  it("sends the mixed requests, pushes every run through the local pool and reports the server's RSS at each checkpoint", { timeout: 180_000 }, async () => {
    const progress: string[] = [];
    const result = await runSoakBenchmark({ requests: 200, runs: 6, clients: 4, settleSeconds: 0, sampleIntervalMs: 200, say: (line) => progress.push(line) });

    expect(result.errors).toBe(0);
    expect(result.requests).toBeGreaterThanOrEqual(200);
    expect(result.runs).toMatchObject({ submitted: 6, completed: 6 });
    expect(result.kinds.map((kind) => kind.kind)).toEqual(expect.arrayContaining(["create flow run", "propose task run state", "get flow run", "list runs"]));
    expect(result.checkpoints.map((point) => point.label)).toEqual([
      "server started, idle",
      "warm-up end (10 %)",
      ...[20, 30, 40, 50, 60, 70, 80, 90, 100].map((percent) => `${percent} %`),
      "all requests sent",
      "every run ended",
      "after 0 s idle (final)",
    ]);
    for (const point of result.checkpoints) {
      expect(point.rssMib).toBeGreaterThan(20);
      expect(point.anonMib + point.fileMib).toBeCloseTo(point.rssMib, 0);
    }
    expect(result.checkpoints.at(-1)!.runsSubmitted).toBe(6);
    expect(result.steadyState.samples).toBeGreaterThan(0);
    expect(result.steadyState.minMib).toBeLessThanOrEqual(result.steadyState.medianMib);
    expect(result.steadyState.medianMib).toBeLessThanOrEqual(result.steadyState.maxMib);
    expect(result.maxGrowthPercent).toBeCloseTo(((result.steadyState.maxMib - result.warmupRssMib) / result.warmupRssMib) * 100, 6);
    expect(result.pass).toBe(result.maxGrowthPercent <= 20);

    const lines = result.table.split("\n");
    expect(lines[0]).toBe("| point | requests sent | runs submitted | server RSS | anonymous | file-backed |");
    expect(lines[2]).toMatch(/^\| server started, idle \| 0 \| 0 \| [\d,]+ MiB \| [\d,]+ MiB \| [\d,]+ MiB \|$/);
    expect(lines.find((line) => line.startsWith("Growth after warm-up"))).toMatch(/^Growth after warm-up: max [+-][\d.]+ %, final [+-][\d.]+ % \(target ≤ \+20 %\): \*\*(PASS|FAIL)\*\*$/);
    expect(lines).toContain("| request | count | errors | p50 | p99 |");
    expect(progress[0]).toBe("soak: starting the server (2 runners)…");
  });

  it("refuses sizes that are not whole numbers, naming each", async () => {
    await expect(runSoakBenchmark({ requests: 0, clients: 1.5, runs: -1, warmupFraction: 1 })).rejects.toThrow(
      "requests must be a whole number ≥ 1; clients must be a whole number ≥ 1; runs must be a whole number ≥ 0; warmupFraction must be between 0 and 1",
    );
  });
});
