/**
 * A length of time: seconds as a number, or a string with a unit — `"250ms"`, `"30s"`, `"5m"`,
 * `"2h"`, `"1d"`.
 *
 * @example
 * ```ts
 * const timeout: Duration = "30s";
 * const delay: Duration = 1.5; // seconds
 * ```
 */
export type Duration = number | `${number}${"ms" | "s" | "m" | "h" | "d"}`;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Converts a {@link Duration} to milliseconds, or returns `undefined` when it is not one
 * (negative, not finite, or an unknown unit).
 *
 * @example
 * ```ts
 * durationToMs("5m"); // 300000
 * durationToMs(2);    // 2000
 * durationToMs("5 minutes"); // undefined
 * ```
 */
export function durationToMs(value: unknown): number | undefined {
  if (typeof value === "number") {
    return Number.isFinite(value) && value >= 0 ? value * 1_000 : undefined;
  }
  if (typeof value !== "string") return undefined;
  const match = PATTERN.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/**
 * Formats milliseconds the way people read durations in logs and tables.
 *
 * @example
 * ```ts
 * formatMs(1500); // "1.5s"
 * formatMs(90_000); // "1m30s"
 * ```
 */
export function formatMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(ms < 10_000 ? 2 : 1))}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1_000);
  if (minutes < 60) return seconds ? `${minutes}m${seconds}s` : `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h${minutes % 60 ? `${minutes % 60}m` : ""}`;
}
