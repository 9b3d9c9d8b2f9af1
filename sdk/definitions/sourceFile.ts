import { fileURLToPath } from "node:url";

/**
 * The file that called a definition function (`flow()`), read from the call stack: the first frame
 * outside Aloft's own definitions. A retried run uses it to load the flow's code again.
 *
 * @example
 * ```ts
 * const file = callerFile(); // "/home/me/flows/etl.ts"
 * ```
 */
export function callerFile(): string | undefined {
  const stack = new Error().stack?.split("\n").slice(1) ?? [];
  for (const line of stack) {
    // tsx compiles a file outside an ESM package to CommonJS, and its frames are data: URLs that
    // carry the real path in a filePath parameter.
    const compiled = /[?&]filePath=([^&:)\s]+)/.exec(line);
    if (compiled) {
      const location = decodeURIComponent(compiled[1]!).replace(/\?.*$/, "");
      if (!/[\\/]sdk[\\/]definitions[\\/]/.test(location)) return location;
      continue;
    }
    const match = /\(?((?:file:\/\/)?\/[^():]+(?:\.[cm]?[jt]s))(?::\d+){1,2}\)?\s*$/.exec(line);
    if (!match) continue;
    const location = match[1]!;
    if (/[\\/]sdk[\\/]definitions[\\/]/.test(location)) continue;
    return location.startsWith("file://") ? fileURLToPath(location) : location;
  }
  return undefined;
}
