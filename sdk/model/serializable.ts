import { NotSerializableError } from "./errors.js";

/**
 * A value that survives a JSON round trip unchanged.
 *
 * @example
 * ```ts
 * const row: JsonValue = { id: 1, tags: ["a", "b"], note: null };
 * ```
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * How deeply parameters, results, journal values, artifact data and log fields may nest: `{}` and
 * `[]` are one level, `{ "a": [1] }` two. The local engine and the control plane refuse deeper values
 * alike, so a flow behaves the same recorded or not.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Throws {@link NotSerializableError} unless `value` is a JSON value nested at most
 * {@link MAX_JSON_DEPTH} levels (top-level `undefined` and `undefined` object properties are
 * allowed: they mean "absent"). Walks the value once; no copy. Any key is fine, `"__proto__"` too.
 *
 * @example
 * ```ts
 * assertJsonValue({ ok: [1, 2] }, "result"); // fine
 * assertJsonValue(new Set(), "result");     // throws: result must be JSON-serializable, but $ is a Set …
 * ```
 */
export function assertJsonValue(value: unknown, what: string): void {
  const problem = jsonValueProblem(value);
  if (problem) throw new NotSerializableError(what, problem.path, problem.found);
}

/**
 * What keeps `value` from being a JSON value nested at most {@link MAX_JSON_DEPTH} levels: where
 * (`$.rows[3]`) and what was found there; undefined when it is one.
 *
 * @example
 * ```ts
 * jsonValueProblem({ at: new Date() }); // { path: "$.at", found: "a Date" }
 * jsonValueProblem(JSON.parse('{"__proto__": {"a": 1}}')); // undefined
 * ```
 */
export function jsonValueProblem(value: unknown): { path: string; found: string } | undefined {
  if (value === undefined) return undefined;
  return findProblem(value, "$", new Set(), 0);
}

interface Problem {
  path: string;
  found: string;
}

function findProblem(value: unknown, path: string, ancestors: Set<object>, depth: number): Problem | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : { path, found: String(value) };
    case "object": {
      if (value === null) return undefined;
      if (ancestors.has(value)) return { path, found: "a circular reference" };
      if (depth >= MAX_JSON_DEPTH) return { path, found: `a value nested deeper than ${MAX_JSON_DEPTH} levels` };
      if (Array.isArray(value)) {
        ancestors.add(value);
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          // Fast path for the common case of arrays of primitives.
          if (typeof item === "string" || typeof item === "boolean" || item === null) continue;
          if (typeof item === "number" && Number.isFinite(item)) continue;
          if (item === undefined) return { path: `${path}[${i}]`, found: "undefined" };
          const problem = findProblem(item, `${path}[${i}]`, ancestors, depth + 1);
          if (problem) return problem;
        }
        ancestors.delete(value);
        return undefined;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        const name = (value as { constructor?: { name?: string } }).constructor?.name ?? "an object";
        return { path, found: `a ${name}` };
      }
      ancestors.add(value);
      for (const key of Object.keys(value)) {
        const item: unknown = (value as Record<string, unknown>)[key];
        if (item === undefined) continue;
        const problem = findProblem(item, `${path}.${key}`, ancestors, depth + 1);
        if (problem) return problem;
      }
      ancestors.delete(value);
      return undefined;
    }
    default:
      return { path, found: `a ${typeof value}` };
  }
}
