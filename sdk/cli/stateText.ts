import pc from "picocolors";
import { formatMs } from "../model/duration.js";
import type { StateType } from "../model/states.js";

/**
 * The colour functions the CLI paints with; `createColors(false)` gives plain text.
 *
 * @example
 * ```ts
 * const colors: Colors = createColors(process.stdout.isTTY === true);
 * ```
 */
export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Colours for a stream: on when picocolors detects colour support (it honours `NO_COLOR` and
 * `FORCE_COLOR`) and the stream is a terminal, or when `FORCE_COLOR` is set.
 *
 * @example
 * ```ts
 * const colors = colorsFor(process.stdout);
 * console.log(colors.green("done"));
 * ```
 */
export function colorsFor(stream: { isTTY?: boolean }): Colors {
  const forced = "FORCE_COLOR" in process.env && !("NO_COLOR" in process.env);
  return pc.createColors(forced || (pc.isColorSupported && stream.isTTY === true));
}

/**
 * Creates a colour set, on or off.
 *
 * @example
 * ```ts
 * createColors(false).red("x"); // "x"
 * ```
 */
export function createColors(enabled: boolean): Colors {
  return pc.createColors(enabled);
}

/**
 * The order state counts are listed in: finished first, then what is still to come.
 *
 * @example
 * ```ts
 * COUNT_ORDER[0]; // "COMPLETED"
 * ```
 */
export const COUNT_ORDER: readonly StateType[] = [
  "COMPLETED",
  "FAILED",
  "CRASHED",
  "CANCELLED",
  "CANCELLING",
  "RUNNING",
  "PAUSED",
  "SCHEDULED",
  "PENDING",
];

/**
 * Paints text in the colour of a state type: green completed, red failed or crashed, yellow
 * cancelled or paused, cyan running, grey waiting.
 *
 * @example
 * ```ts
 * paintState(colors, "FAILED", "TimedOut");
 * ```
 */
export function paintState(colors: Colors, type: StateType, text: string): string {
  switch (type) {
    case "COMPLETED":
      return colors.green(text);
    case "FAILED":
    case "CRASHED":
      return colors.red(text);
    case "CANCELLED":
    case "CANCELLING":
    case "PAUSED":
      return colors.yellow(text);
    case "RUNNING":
      return colors.cyan(text);
    case "SCHEDULED":
    case "PENDING":
      return colors.gray(text);
  }
}

/**
 * A count with thousands separators.
 *
 * @example
 * ```ts
 * formatCount(9812); // "9,812"
 * ```
 */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * Counts by state, like `9,812 completed · 64 running · 124 pending`, omitting zero counts.
 *
 * @example
 * ```ts
 * formatStateCounts(colors, { COMPLETED: 3, RUNNING: 1 }); // "3 completed · 1 running"
 * ```
 */
export function formatStateCounts(colors: Colors, counts: Readonly<Partial<Record<StateType, number>>>): string {
  const parts: string[] = [];
  for (const type of COUNT_ORDER) {
    const n = counts[type] ?? 0;
    if (n > 0) parts.push(paintState(colors, type, `${formatCount(n)} ${type.toLowerCase()}`));
  }
  return parts.join(colors.dim(" · "));
}

/**
 * The time between two ISO timestamps (or until `nowMs`), like `1.5s`.
 *
 * @example
 * ```ts
 * formatSpan("2026-11-01T00:00:00.000Z", "2026-11-01T00:00:01.500Z", Date.now()); // "1.5s"
 * ```
 */
export function formatSpan(start: string, end: string | undefined, nowMs: number): string {
  return formatMs(Math.max(0, (end === undefined ? nowMs : Date.parse(end)) - Date.parse(start)));
}

/**
 * "1 attempt" / "3 attempts".
 *
 * @example
 * ```ts
 * formatAttempts(2); // "2 attempts"
 * ```
 */
export function formatAttempts(n: number): string {
  return `${formatCount(n)} ${n === 1 ? "attempt" : "attempts"}`;
}

/**
 * Pads text that may hold colour codes to a visible width.
 *
 * @example
 * ```ts
 * padVisible(colors.green("ok"), 6); // "ok    " (with its colour codes)
 * ```
 */
export function padVisible(text: string, width: number): string {
  const visible = visibleLength(text);
  return visible >= width ? text : text + " ".repeat(width - visible);
}

/**
 * The length of text as shown in a terminal, ignoring colour codes.
 *
 * @example
 * ```ts
 * visibleLength("\u001b[32mok\u001b[39m"); // 2
 * ```
 */
export function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "").length;
}
