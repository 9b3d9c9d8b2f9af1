import { padVisible, visibleLength, type Colors } from "./stateText.js";
import { terminalJson, terminalText } from "./terminalText.js";

/**
 * Lays out rows under a bold header in columns two spaces apart; cells may hold colour codes. The
 * last column is not padded, so lines carry no trailing blanks.
 *
 * @example
 * ```ts
 * renderTable(colors, ["Tag", "Limit"], [["warehouse", "4"], ["gpu", "1"]]);
 * // ["Tag        Limit", "warehouse  4", "gpu        1"]
 * ```
 */
export function renderTable(colors: Colors, header: readonly string[], rows: ReadonlyArray<readonly string[]>, indent = ""): string[] {
  const titled = header.map((title) => colors.bold(title));
  const all = [titled, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((cells) => visibleLength(cells[column] ?? ""))));
  return all.map((cells) => indent + cells.map((cell, column) => (column === cells.length - 1 ? cell : padVisible(cell, widths[column] ?? 0))).join("  "));
}

/**
 * A timestamp in the local time zone, to the second (`withMs` adds milliseconds); "—" for none.
 *
 * @example
 * ```ts
 * formatTime("2026-11-01T08:30:00.250Z"); // "2026-11-01 08:30:00" with TZ=UTC
 * formatTime(undefined); // "—"
 * ```
 */
export function formatTime(iso: string | undefined, withMs = false): string {
  if (iso === undefined) return "—";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return terminalText(iso);
  const two = (n: number) => String(n).padStart(2, "0");
  const date = `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}`;
  const time = `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
  return `${date} ${time}${withMs ? `.${String(at.getMilliseconds()).padStart(3, "0")}` : ""}`;
}

/**
 * JSON on one line, cut to `max` characters with "…", safe to print (see `terminalJson`).
 *
 * @example
 * ```ts
 * briefJson({ day: "2026-11-01" }); // '{"day":"2026-11-01"}'
 * ```
 */
export function briefJson(value: unknown, max = 200): string {
  let text: string;
  try {
    text = terminalJson(JSON.stringify(value) ?? terminalText(String(value)));
  } catch {
    text = terminalText(String(value));
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Prints a value as JSON on one line of stdout: what `--json` prints.
 *
 * @example
 * ```ts
 * writeJson(await client.concurrencyLimits.list());
 * ```
 */
export function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Prints lines on stdout.
 *
 * @example
 * ```ts
 * writeLines(renderTable(colors, ["Tag", "Limit"], rows));
 * ```
 */
export function writeLines(lines: readonly string[]): void {
  process.stdout.write(`${lines.join("\n")}\n`);
}
