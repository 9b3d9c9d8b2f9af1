import type { FlowRun } from "../model/runs.js";
import type { RunTracker, Row } from "./runTracker.js";
import { formatCount, formatSpan, formatStateCounts, padVisible, paintState, visibleLength, type Colors } from "./stateText.js";
import { terminalText } from "./terminalText.js";

/**
 * The most rows the summary table lists before "… N more".
 *
 * @example
 * ```ts
 * renderSummary(tracker, run, colors, Date.now(), SUMMARY_ROW_LIMIT);
 * ```
 */
export const SUMMARY_ROW_LIMIT = 50;

/**
 * The table printed when a run ends: one row per task run (a mapped task is one row with counts by
 * state, a subflow run is a row of its own), at most `limit` rows with unfinished business kept
 * first, then the flow run's final state and duration, and its error if it did not complete.
 *
 * @example
 * ```ts
 * process.stdout.write(renderSummary(tracker, run, colors, Date.now()));
 * // Task run       State      Attempts  Duration
 * // extract-0      Completed  1         12ms
 * // double ×1,000  1,000 completed  1,000  80ms
 * //
 * // etl-1f2e3a4b Completed in 120ms
 * ```
 */
export function renderSummary(tracker: RunTracker, run: FlowRun, colors: Colors, nowMs: number, limit: number = SUMMARY_ROW_LIMIT): string {
  const lines: string[] = [];
  const shown = pickRows(tracker.rows, limit);
  if (shown.length === 0) lines.push(colors.dim("No task runs."));
  else {
    const table = shown.map((row) => cellsOf(row, colors, nowMs));
    const header = ["Task run", "State", "Attempts", "Duration"].map((title) => colors.bold(title));
    const widths = header.map((_, column) => Math.max(...[header, ...table].map((cells) => visibleLength(cells[column] ?? ""))));
    for (const cells of [header, ...table]) {
      lines.push(cells.map((cell, column) => (column === cells.length - 1 ? cell : padVisible(cell, widths[column] ?? 0))).join("  "));
    }
    const hidden = tracker.rows.length - shown.length;
    if (hidden > 0) lines.push(colors.dim(`… ${formatCount(hidden)} more`));
  }
  lines.push("");
  lines.push(`${colors.bold(terminalText(run.name))} ${paintState(colors, run.state.type, terminalText(run.state.name))} in ${formatSpan(run.startTime, run.endTime, nowMs)}`);
  if (run.state.type !== "COMPLETED") {
    if (run.error) lines.push(`${colors.red(terminalText(run.error.name))}: ${terminalText(run.error.message)}`);
    else if (run.state.message) lines.push(terminalText(run.state.message));
  }
  return `${lines.join("\n")}\n`;
}

/** Up to `limit` rows in their original order, rows that did not complete first in line. */
function pickRows(rows: readonly Row[], limit: number): Row[] {
  if (rows.length <= limit) return [...rows];
  const keep = new Set<number>();
  rows.forEach((row, index) => {
    if (keep.size < limit && !completed(row)) keep.add(index);
  });
  for (let index = 0; index < rows.length && keep.size < limit; index++) keep.add(index);
  return [...keep].sort((a, b) => a - b).map((index) => rows[index]!);
}

function completed(row: Row): boolean {
  switch (row.kind) {
    case "task":
      return row.taskRun.state.type === "COMPLETED";
    case "flow":
      return row.run.state.type === "COMPLETED";
    case "map":
      return row.counts.COMPLETED === row.total;
  }
}

function cellsOf(row: Row, colors: Colors, nowMs: number): string[] {
  const indent = "  ".repeat(Math.max(0, row.depth - 1));
  switch (row.kind) {
    case "task": {
      const { taskRun } = row;
      return [indent + terminalText(taskRun.name), paintState(colors, taskRun.state.type, terminalText(taskRun.state.name)), formatCount(taskRun.attempts), formatSpan(taskRun.startTime, taskRun.endTime, nowMs)];
    }
    case "map":
      return [`${indent}${terminalText(row.taskName)} ×${formatCount(row.total)}`, formatStateCounts(colors, row.counts), formatCount(row.attempts), formatSpan(row.startTime, row.endTime, nowMs)];
    case "flow":
      return [`${indent}${terminalText(row.run.name)} ${colors.dim("(subflow)")}`, paintState(colors, row.run.state.type, terminalText(row.run.state.name)), formatCount(row.run.attempts), formatSpan(row.run.startTime, row.run.endTime, nowMs)];
  }
}
