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
 * Throws {@link NotSerializableError} unless `value` is a JSON value (top-level `undefined` and
 * `undefined` object properties are allowed: they mean "absent"). Walks the value once; no copy.
 *
 * @example
 * ```ts
 * assertJsonValue({ ok: [1, 2] }, "result"); // fine
 * assertJsonValue(new Set(), "result");     // throws: result must be JSON-serializable, but $ is a Set …
 * ```
 */
export function assertJsonValue(value: unknown, what: string): void {
  if (value === undefined) return;
  const problem = findProblem(value, "$", new Set());
  if (problem) throw new NotSerializableError(what, problem.path, problem.found);
}

interface Problem {
  path: string;
  found: string;
}

function findProblem(value: unknown, path: string, ancestors: Set<object>): Problem | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : { path, found: String(value) };
    case "object": {
      if (value === null) return undefined;
      if (ancestors.has(value)) return { path, found: "a circular reference" };
      if (Array.isArray(value)) {
        ancestors.add(value);
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          // Fast path for the common case of arrays of primitives.
          if (typeof item === "string" || typeof item === "boolean" || item === null) continue;
          if (typeof item === "number" && Number.isFinite(item)) continue;
          if (item === undefined) return { path: `${path}[${i}]`, found: "undefined" };
          const problem = findProblem(item, `${path}[${i}]`, ancestors);
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
        const problem = findProblem(item, `${path}.${key}`, ancestors);
        if (problem) return problem;
      }
      ancestors.delete(value);
      return undefined;
    }
    default:
      return { path, found: `a ${typeof value}` };
  }
}
