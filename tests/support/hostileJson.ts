import fc from "fast-check";
import { MAX_JSON_DEPTH } from "../../sdk/model/serializable.js";

/** Object keys that trip code which builds objects key by key, and keys that look like Aloft's own markers. */
const HOSTILE_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "", " ", "$ref", "bytes", "$aloftRef", "json:result", "ref:result", "#", "a.b", "0", "-1", "é", "\u0000", "🙂"];

/** A JSON number, including the ones a DynamoDB number attribute cannot hold exactly. */
const numbers = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(5e-324, 1e-130, 1e-200, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 0.1 + 0.2, -0),
);

const keys = fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 8 }), fc.string({ unit: "grapheme", maxLength: 4 }));

/** The JSON text of a value tree: objects are written as text, so keys like `__proto__` stay own keys once parsed. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant("null"),
    fc.boolean().map(String),
    numbers.map((n) => JSON.stringify(n)),
    fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
    fc.array(tie("value"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
    fc.array(fc.tuple(keys, tie("value")), { maxLength: 5 }).map((entries) => `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(",")}}`),
  ),
})).value;

/**
 * Arbitrary JSON values as a user can send them: any keys (`__proto__`, `constructor`, empty ones,
 * markers of Aloft's own), any numbers, nesting a few levels, plus values nested exactly
 * {@link MAX_JSON_DEPTH} levels. Each comes with its JSON text, the way to compare what is read back
 * (`JSON.stringify(read) === text` holds exactly when nothing was lost or reordered).
 *
 * @example
 * ```ts
 * fc.assert(fc.asyncProperty(hostileJson(), async ({ text, value }) => { ... }));
 * ```
 */
export function hostileJson(): fc.Arbitrary<{ text: string; value: unknown }> {
  const deepest = fc.constantFrom(`${"[".repeat(MAX_JSON_DEPTH)}${"]".repeat(MAX_JSON_DEPTH)}`, `${'{"__proto__":'.repeat(MAX_JSON_DEPTH - 1)}{}${"}".repeat(MAX_JSON_DEPTH - 1)}`);
  return fc.oneof({ weight: 9, arbitrary: jsonText }, { weight: 1, arbitrary: deepest }).map((text) => {
    const value: unknown = JSON.parse(text);
    // Re-serialized, so that equivalent spellings (1.0, -0) compare equal.
    return { text: JSON.stringify(value), value };
  });
}

/** Like {@link hostileJson}, objects only (parameters, log fields), one of them nested exactly {@link MAX_JSON_DEPTH} levels. */
export function hostileJsonObject(): fc.Arbitrary<{ text: string; value: Record<string, unknown> }> {
  const entries = fc.array(fc.tuple(keys, jsonText), { maxLength: 5 }).map((pairs) => `{${pairs.map(([key, text]) => `${JSON.stringify(key)}:${text}`).join(",")}}`);
  const deepest = fc.constant(`{"":${"[".repeat(MAX_JSON_DEPTH - 1)}${"]".repeat(MAX_JSON_DEPTH - 1)}}`);
  return fc.oneof({ weight: 9, arbitrary: entries }, { weight: 1, arbitrary: deepest }).map((text) => {
    const value = JSON.parse(text) as Record<string, unknown>;
    return { text: JSON.stringify(value), value };
  });
}
