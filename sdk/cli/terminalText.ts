/**
 * Text from data (names, state names and messages, errors, log lines, problem details) made safe to
 * print on a terminal: it can neither drive the terminal nor pass for another line of output.
 *
 * - Whole ECMA-48 control sequences are removed: CSI (`ESC [` … and C1 `0x9B`), the string controls
 *   OSC (titles, hyperlinks, clipboard), DCS, SOS, PM and APC up to their terminator (BEL for OSC,
 *   `ESC \` or C1 `0x9C`), and two-character escapes such as `ESC c` (reset) or `ESC 7`.
 * - Every other control character is shown as an escape instead of acting: `\n`, `\r`, `\x1b` for
 *   an escape that starts no complete sequence, `\x08`, `\x07`, `\x7f`, `\x9b` (C1), and the
 *   Unicode line and paragraph separators and bidirectional overrides as `\u2028`, `\u202e`.
 *   A line break in a value never starts a line of output.
 * - Tab and all printable text, in any script, are kept as they are.
 *
 * The CLI paints its own colours around the sanitised text, so they are kept; `--json` output is
 * the data as stored and never goes through here.
 *
 * @example
 * ```ts
 * terminalText("\u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007"); // "click"
 * terminalText("done\r\u001b[2Kforged"); // "done\\rforged"
 * terminalText("line 1\nline 2"); // "line 1\\nline 2"
 * terminalText("Grüße, 世界\tok"); // unchanged
 * ```
 */
export function terminalText(text: string): string {
  // Fast path: nothing to do for the printable text almost all values are.
  if (!UNSAFE.test(text)) return text;
  let out = "";
  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (!isUnsafe(code)) {
      out += text[index];
      index += 1;
      continue;
    }
    const end = sequenceEnd(text, index);
    if (end !== undefined) {
      index = end;
      continue;
    }
    out += escapeOf(code);
    index += 1;
  }
  return out;
}

/**
 * A value from data as one line: runs of whitespace (line breaks included) become one space, then
 * {@link terminalText} neutralises what is left.
 *
 * @example
 * ```ts
 * terminalLine("warehouse\n  unreachable\u001b[31m"); // "warehouse unreachable"
 * ```
 */
export function terminalLine(text: string): string {
  return terminalText(text.replace(/\s+/g, " ").trim());
}

/**
 * JSON text made safe to print: the characters {@link terminalText} neutralises that
 * `JSON.stringify` leaves as they are (DEL, C1, the Unicode separators and bidi controls) become
 * `\uXXXX` escapes, so the text still parses to the same value.
 *
 * @example
 * ```ts
 * terminalJson(JSON.stringify({ name: "a\u009b2Jb" })); // '{"name":"a\\u009b2Jb"}'
 * ```
 */
export function terminalJson(json: string): string {
  return UNSAFE.test(json) ? json.replace(UNSAFE_ALL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`) : json;
}

/** C0 but tab, DEL, C1, the Unicode line/paragraph separators, bidi embeddings, overrides and isolates. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, "g");

const ESC = 0x1b;
const BEL = 0x07;
const C1_CSI = 0x9b;
const C1_ST = 0x9c;
/** C1 controls that open a control string: DCS, SOS, OSC, PM, APC. */
const C1_STRINGS = new Set([0x90, 0x98, 0x9d, 0x9e, 0x9f]);
/** The characters after ESC that open a control string: P (DCS), X (SOS), ] (OSC), ^ (PM), _ (APC). */
const ESC_STRINGS = new Set(["P", "X", "]", "^", "_"].map((char) => char.charCodeAt(0)));
const NAMED: Readonly<Record<number, string>> = { 0x0a: "\\n", 0x0d: "\\r" };

function isUnsafe(code: number): boolean {
  return (
    (code <= 0x1f && code !== 0x09) ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

function escapeOf(code: number): string {
  const named = NAMED[code];
  if (named !== undefined) return named;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** Where the complete control sequence starting at `start` ends (exclusive), or undefined if none starts there. */
function sequenceEnd(text: string, start: number): number | undefined {
  const code = text.charCodeAt(start);
  if (code === C1_CSI) return csiEnd(text, start + 1);
  if (C1_STRINGS.has(code)) return stringEnd(text, start + 1, code === 0x9d);
  if (code !== ESC || start + 1 >= text.length) return undefined;
  const next = text.charCodeAt(start + 1);
  if (next === 0x5b /* [ */) return csiEnd(text, start + 2);
  if (ESC_STRINGS.has(next)) return stringEnd(text, start + 2, next === 0x5d /* ] */);
  // ESC, intermediates 0x20–0x2F, then a final 0x30–0x7E (ESC c, ESC 7, ESC ( B, …).
  let index = start + 1;
  while (index < text.length && inRange(text.charCodeAt(index), 0x20, 0x2f)) index += 1;
  return index < text.length && inRange(text.charCodeAt(index), 0x30, 0x7e) ? index + 1 : undefined;
}

/** CSI: parameters 0x30–0x3F, intermediates 0x20–0x2F, one final 0x40–0x7E. */
function csiEnd(text: string, from: number): number | undefined {
  let index = from;
  while (index < text.length && inRange(text.charCodeAt(index), 0x30, 0x3f)) index += 1;
  while (index < text.length && inRange(text.charCodeAt(index), 0x20, 0x2f)) index += 1;
  return index < text.length && inRange(text.charCodeAt(index), 0x40, 0x7e) ? index + 1 : undefined;
}

/** A control string runs to ST (`ESC \` or 0x9C), or for OSC also to BEL; unterminated, it is no sequence. */
function stringEnd(text: string, from: number, osc: boolean): number | undefined {
  for (let index = from; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === C1_ST || (osc && code === BEL)) return index + 1;
    if (code === ESC && text.charCodeAt(index + 1) === 0x5c /* \ */) return index + 2;
  }
  return undefined;
}

function inRange(code: number, low: number, high: number): boolean {
  return code >= low && code <= high;
}
