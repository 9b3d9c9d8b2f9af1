import type { PhaseId, PhaseResult, SystemResult } from "./harness.js";
import type { System } from "./servers.js";

const PHASES: readonly { id: PhaseId; title: string }[] = [
  { id: "flowRuns", title: "1. create flow runs" },
  { id: "transitions", title: "2. task-run transitions" },
  { id: "taskRunSetup", title: "(2. set-up: create task runs)" },
];

/**
 * Renders the results as Markdown: one row per phase with each system's req/s, p50 and p99 (ms),
 * the throughput ratio (Aloft / Prefect) and the p99 ratio (Prefect / Aloft: how many times lower
 * Aloft's is), the answers the client retried (Prefect's client policy), errors, then peak RSS. Skipped systems show "—"; a phase with errors shows
 * its count instead of hiding it.
 *
 * @example
 * ```ts
 * console.log(renderApiTable({ aloft: result }));
 * ```
 */
export function renderApiTable(results: Partial<Record<System, SystemResult>>): string {
  const { aloft, prefect } = results;
  const header = ["phase", "requests", "Aloft req/s", "Prefect req/s", "req/s ratio", "Aloft p50", "Prefect p50", "Aloft p99", "Prefect p99", "p99 ratio", "retried (A / P)", "errors (A / P)"];
  const rows = PHASES.map(({ id, title }) => {
    const a = aloft?.phases[id];
    const p = prefect?.phases[id];
    return [
      title,
      (a ?? p)?.requests.toLocaleString("en-US") ?? "—",
      a ? rate(a) : "—",
      p ? rate(p) : "—",
      a && p ? `${ratio(a.requestsPerSecond / p.requestsPerSecond)}×` : "—",
      a ? ms(a.p50Ms) : "—",
      p ? ms(p.p50Ms) : "—",
      a ? ms(a.p99Ms) : "—",
      p ? ms(p.p99Ms) : "—",
      a && p ? (p.p99Ms >= a.p99Ms ? `${ratio(p.p99Ms / a.p99Ms)}× lower` : `${ratio(a.p99Ms / p.p99Ms)}× higher`) : "—",
      `${a ? retries(a) : "—"} / ${p ? retries(p) : "—"}`,
      `${a ? String(a.errors) : "—"} / ${p ? String(p.errors) : "—"}`,
    ];
  });
  rows.push(["peak RSS of the server tree", "", aloft ? mib(aloft.peakRssKib) : "—", prefect ? mib(prefect.peakRssKib) : "—", "", "", "", "", "", "", "", ""]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const render = (cells: readonly string[]) => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(" | ")} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? "-".repeat(width + 2) : `${"-".repeat(width + 1)}:`)).join("|")}|`;
  return [render(header), rule, ...rows.map(render)].join("\n");
}

function retries(phase: PhaseResult): string {
  return String(Object.values(phase.retried).reduce((sum, count) => sum + count, 0));
}

function rate(phase: PhaseResult): string {
  return Math.round(phase.requestsPerSecond).toLocaleString("en-US");
}

function ms(value: number): string {
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

function ratio(value: number): string {
  return value >= 10 ? Math.round(value).toLocaleString("en-US") : value.toFixed(1);
}

function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}
