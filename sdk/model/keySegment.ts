import { createHash } from "node:crypto";

/** Characters a key segment keeps as they are; every other byte is written `.xx` (hex). */
const PLAIN = /^[A-Za-z0-9_-]$/;

/** Half a UTF-16 surrogate pair on its own (a JavaScript string may hold one). */
const LONE_SURROGATE = /^[\ud800-\udfff]$/u;

/** Escaped segments longer than this are replaced by `~<sha-256>` (file names stop at 255 bytes). */
const MAX_SEGMENT_LENGTH = 128;

/**
 * One part of a payload key, safe for S3 and file systems and injective: letters, digits, `_` and
 * `-` stay; every other UTF-8 byte becomes `.` and two hex digits (a lone surrogate, `.u` and its
 * four), so `.` never appears otherwise and no segment is `.` or `..`. A result longer than 128
 * characters becomes `~` and its SHA-256, and the empty part is `~`. Distinct parts always give
 * distinct segments.
 *
 * @example
 * ```ts
 * keySegment("nightly:42"); // "nightly.3a42"
 * keySegment("nightly_42"); // "nightly_42"
 * ```
 */
export function keySegment(part: string): string {
  if (part === "") return "~";
  let escaped = "";
  for (const char of part) {
    if (PLAIN.test(char)) escaped += char;
    else if (LONE_SURROGATE.test(char)) escaped += `.u${char.charCodeAt(0).toString(16)}`; // UTF-8 has no bytes for it
    else for (const byte of Buffer.from(char, "utf8")) escaped += `.${byte.toString(16).padStart(2, "0")}`;
  }
  // The escaped form is injective (the part itself may hold lone surrogates, which UTF-8 would merge).
  return escaped.length > MAX_SEGMENT_LENGTH ? `~${createHash("sha256").update(escaped).digest("hex")}` : escaped;
}
