import type { SoakResult } from "./harness.js";

/**
 * The soak's Markdown report: the server's RSS at each checkpoint (and its anonymous and
 * file-backed parts), the warm-up value, the steady
 * state after it (samples, min, median, max), the final value, the growth after warm-up with the
 * target's PASS/FAIL, then the request mix (count, errors, p50 and p99 per kind of request).
 *
 * @example
 * ```ts
 * console.log(renderSoakTable(result));
 * ```
 */
export function renderSoakTable(result: Omit<SoakResult, "table">): string {
  const count = (value: number) => value.toLocaleString("en-US");
  const mib = (value: number) => `${Math.round(value).toLocaleString("en-US")} MiB`;
  const percent = (value: number) => `${value >= 0 ? "+" : ""}${value.toFixed(1)} %`;
  const ms = (value: number) => (Number.isFinite(value) ? `${value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString("en-US")} ms` : "—");
  const { steadyState: steady } = result;
  return [
    "| point | requests sent | runs submitted | server RSS | anonymous | file-backed |",
    "|---|--:|--:|--:|--:|--:|",
    ...result.checkpoints.map((point) => `| ${point.label} | ${count(point.requests)} | ${count(point.runsSubmitted)} | ${mib(point.rssMib)} | ${mib(point.anonMib)} | ${mib(point.fileMib)} |`),
    "",
    `Warm-up RSS (median of the warm-up's last 5 s): ${mib(result.warmupRssMib)}. ` +
      `After warm-up, ${count(steady.samples)} samples: min ${mib(steady.minMib)}, median ${mib(steady.medianMib)}, max ${mib(steady.maxMib)}; final ${mib(result.finalRssMib)}.`,
    `Anonymous memory (the server's heaps, without the file pages it maps): ${mib(result.anonymous.warmupMib)} at warm-up, ${mib(result.anonymous.finalMib)} final (${percent(result.anonymous.finalGrowthPercent)}).`,
    `Growth after warm-up: max ${percent(result.maxGrowthPercent)}, final ${percent(result.finalGrowthPercent)} (target ≤ +20 %): **${result.pass ? "PASS" : "FAIL"}**`,
    `Requests: ${count(result.requests)} in ${Math.round(result.seconds)} s overall (${Math.round(result.requestsPerSecond)} req/s while sending), ${count(result.errors)} errors; ` +
      `runs: ${count(result.runs.completed)} / ${count(result.runs.submitted)} COMPLETED.`,
    "",
    "| request | count | errors | p50 | p99 |",
    "|---|--:|--:|--:|--:|",
    ...result.kinds.map((kind) => `| ${kind.kind} | ${count(kind.requests)} | ${count(kind.errors)} | ${ms(kind.p50Ms)} | ${ms(kind.p99Ms)} |`),
  ].join("\n");
}
