import { InvalidCursorError } from "./store.js";

/** A DynamoDB key (table key plus, for an index query, the index key); all of Aloft's keys are strings. */
export type ItemKey = Record<string, string>;

/**
 * Encodes a key as an opaque cursor: base64url of its JSON.
 *
 * @example
 * ```ts
 * encodeCursor({ PK: "RUN#1", SK: "RUN" }); // "eyJQSyI6IlJVTiMxIiwiU0siOiJSVU4ifQ"
 * ```
 */
export function encodeCursor(key: ItemKey): string {
  return Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
}

/**
 * Decodes a cursor made by `encodeCursor` for a listing whose keys have exactly `attributes`, and
 * checks each attribute with `expect` (e.g. that the partition is the one being listed).
 * Throws InvalidCursorError for anything else, so a bad cursor is a 400, never a DynamoDB error.
 *
 * @example
 * ```ts
 * decodeCursor(cursor, ["PK", "SK"], { PK: (value) => value === "LOGS#r1" });
 * ```
 */
export function decodeCursor(
  cursor: string,
  attributes: readonly string[],
  expect: Partial<Record<string, (value: string) => boolean>> = {},
): ItemKey {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError(cursor, "not base64url");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new InvalidCursorError(cursor, "not a cursor this API issued");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InvalidCursorError(cursor, "not a cursor this API issued");
  }
  const entries = Object.entries(parsed);
  const names = entries.map(([name]) => name).sort();
  if (names.join("\n") !== [...attributes].sort().join("\n")) {
    throw new InvalidCursorError(cursor, "it belongs to another listing");
  }
  for (const [name, value] of entries) {
    if (typeof value !== "string" || value === "") throw new InvalidCursorError(cursor, "not a cursor this API issued");
    const check = expect[name];
    if (check !== undefined && !check(value)) throw new InvalidCursorError(cursor, "it belongs to another listing");
  }
  return parsed as ItemKey;
}

export { InvalidCursorError };
