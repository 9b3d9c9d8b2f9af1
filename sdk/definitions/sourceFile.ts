import { fileURLToPath } from "node:url";

/** A place in a source file, read from a stack frame. */
export interface SourceLocation {
  /** Absolute path. */
  file: string;
  line: number | undefined;
}

const DEFINITIONS = /[\\/]sdk[\\/]definitions[\\/]/;

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
  return callerLocation((file) => DEFINITIONS.test(file))?.file;
}

/**
 * The first frame of the current call stack whose file `skip` does not reject, with its line.
 *
 * @example
 * ```ts
 * callerLocation((file) => file.includes("/sdk/")); // { file: "/home/me/flows/etl.ts", line: 42 }
 * ```
 */
export function callerLocation(skip: (file: string) => boolean, stack: string | undefined = new Error().stack): SourceLocation | undefined {
  const frames = stack?.split("\n").slice(1) ?? [];
  for (const frame of frames) {
    const location = parseFrame(frame);
    if (location && !skip(location.file)) return location;
  }
  return undefined;
}

function parseFrame(frame: string): SourceLocation | undefined {
  // tsx compiles a file outside an ESM package to CommonJS, and its frames are data: URLs that
  // carry the real path in a filePath parameter.
  const compiled = /[?&]filePath=([^&:)\s]+)[^:)\s]*(?::(\d+))?/.exec(frame);
  if (compiled) {
    return { file: decodeURIComponent(compiled[1]!).replace(/\?.*$/, ""), line: lineOf(compiled[2]) };
  }
  const match = /\(?((?:file:\/\/)?\/[^():]+(?:\.[cm]?[jt]s))(?::(\d+))?(?::\d+)?\)?\s*$/.exec(frame);
  if (!match) return undefined;
  const location = match[1]!;
  return { file: location.startsWith("file://") ? fileURLToPath(location) : location, line: lineOf(match[2]) };
}

function lineOf(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number(text);
}
