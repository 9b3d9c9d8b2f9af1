import { describe, expect, it } from "vitest";
import { runEngineBenchmark } from "../../bench/engine/harness.js";

// Runs the real harness (fresh child processes importing the built package, so `npm run build`
// must have run, as `npm test` does) at a tiny scale; figures are checked for shape, not speed.
describe("bench/engine harness", () => {
  it("prints one row per workload with Aloft's throughput and peak RSS, and dashes for a skipped Prefect", async () => {
    const progress: string[] = [];
    const { table, rows } = await runEngineBenchmark({ only: "aloft", scale: 0.001, runs: 1, say: (line) => progress.push(line) });

    const lines = table.split("\n");
    expect(lines[0]).toMatch(/^\| workload +\| Aloft tasks\/s \| Prefect tasks\/s \| ratio \| Aloft peak RSS \| Prefect peak RSS \|$/);
    const body = lines.slice(2).map((line) => line.split("|").slice(1, -1).map((cell) => cell.trim()));
    expect(body.map((cells) => cells[0]?.split(" ")[0])).toEqual(["W1", "W2", "W3"]);
    for (const [, aloftRate, prefectRate, ratio, aloftRss, prefectRss] of body) {
      expect(aloftRate).toMatch(/^[\d,]+$/);
      expect(Number(aloftRate!.replaceAll(",", ""))).toBeGreaterThan(0);
      expect(aloftRss).toMatch(/^\d+\.\d MiB$/);
      expect(Number.parseFloat(aloftRss!)).toBeGreaterThan(0);
      expect([prefectRate, ratio, prefectRss]).toEqual(["—", "—", "—"]);
    }
    // Scale shrinks the task counts but every workload still runs at least one task.
    expect(rows.map((row) => row.aloft?.tasks)).toEqual([10, 10, 1]);
    expect(progress.some((line) => line.startsWith("prefect"))).toBe(false);
  });

  it("rejects a scale that is not a positive number, naming it", async () => {
    await expect(runEngineBenchmark({ only: "aloft", scale: 0 })).rejects.toThrow("scale must be a number > 0 (got 0)");
  });
});
