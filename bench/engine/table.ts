import type { WorkloadResult } from "./harness.js";

/** One row of the benchmark table: a workload and each system's figures (absent when skipped). */
export interface TableRow {
  workload: string;
  description: string;
  aloft?: WorkloadResult;
  prefect?: WorkloadResult;
}

/**
 * Renders the rows as a Markdown table: workload | Aloft tasks/s | Prefect tasks/s | ratio |
 * Aloft peak RSS | Prefect peak RSS. Skipped systems show "—".
 *
 * @example
 * ```ts
 * console.log(renderTable(rows));
 * ```
 */
export function renderTable(rows: readonly TableRow[]): string {
  const header = ["workload", "Aloft tasks/s", "Prefect tasks/s", "ratio", "Aloft peak RSS", "Prefect peak RSS"];
  const lines = rows.map((row) => [
    `${row.workload} ${row.description}`,
    row.aloft ? formatRate(row.aloft.tasksPerSecond) : "—",
    row.prefect ? formatRate(row.prefect.tasksPerSecond) : "—",
    row.aloft && row.prefect ? `${formatRatio(row.aloft.tasksPerSecond / row.prefect.tasksPerSecond)}×` : "—",
    row.aloft ? formatMib(row.aloft.peakRssKib) : "—",
    row.prefect ? formatMib(row.prefect.peakRssKib) : "—",
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const render = (cells: readonly string[]) => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(" | ")} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? "-".repeat(width + 2) : `${"-".repeat(width + 1)}:`)).join("|")}|`;
  return [render(header), rule, ...lines.map(render)].join("\n");
}

function formatRate(tasksPerSecond: number): string {
  return Math.round(tasksPerSecond).toLocaleString("en-US");
}

function formatRatio(ratio: number): string {
  return ratio >= 10 ? Math.round(ratio).toLocaleString("en-US") : ratio.toFixed(1);
}

function formatMib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}
