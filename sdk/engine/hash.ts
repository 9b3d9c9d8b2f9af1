import { createHash } from "node:crypto";

/**
 * A deterministic text form of any value: object keys sorted, and the non-JSON values people pass
 * as task arguments (Date, Map, Set, bigint, undefined, functions) given a stable spelling.
 *
 * @example
 * ```ts
 * stableStringify({ b: 1, a: [2, undefined] }) === stableStringify({ a: [2, undefined], b: 1 }); // true
 * ```
 */
export function stableStringify(value: unknown): string {
  const seen = new Set<object>();
  const walk = (item: unknown): string => {
    switch (typeof item) {
      case "string":
        return JSON.stringify(item);
      case "number":
      case "boolean":
        return String(item);
      case "bigint":
        return `${item}n`;
      case "undefined":
        return "undefined";
      case "function":
        return `[function ${item.name}]`;
      case "symbol":
        return item.toString();
      default: {
        if (item === null) return "null";
        const object = item as object;
        if (seen.has(object)) return "[circular]";
        if (object instanceof Date) return `Date(${object.toISOString()})`;
        seen.add(object);
        let text: string;
        if (Array.isArray(object)) text = `[${object.map(walk).join(",")}]`;
        else if (object instanceof Map) text = `Map${walk([...object.entries()])}`;
        else if (object instanceof Set) text = `Set${walk([...object.values()])}`;
        else {
          const record = object as Record<string, unknown>;
          text = `{${Object.keys(record)
            .sort()
            .map((key) => `${JSON.stringify(key)}:${walk(record[key])}`)
            .join(",")}}`;
        }
        seen.delete(object);
        return text;
      }
    }
  };
  return walk(value);
}

/**
 * A short, stable hash of any value (SHA-256 of its stable text, 32 hex characters).
 *
 * @example
 * ```ts
 * hashValue([1, 2]) === hashValue([1, 2]); // true
 * ```
 */
export function hashValue(value: unknown): string {
  return hashText(stableStringify(value));
}

/**
 * SHA-256 of a string, 32 hex characters.
 *
 * @example
 * ```ts
 * hashText("add"); // "…32 hex…"
 * ```
 */
export function hashText(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}
