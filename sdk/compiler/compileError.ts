import { relative, isAbsolute } from "node:path";
import { AloftError } from "../model/errors.js";
import { callerLocation, type SourceLocation } from "../definitions/sourceFile.js";

/**
 * The flow cannot be compiled into a state machine that behaves like it does locally. The message
 * names the file and line, what the flow does there, and the fix.
 *
 * @example
 * ```ts
 * try { compileFlow(etl); } catch (error) {
 *   if (error instanceof CompileError) console.error(`${error.file}:${error.line}`, error.fix);
 * }
 * ```
 */
export class CompileError extends AloftError {
  /** The file of the offending code, relative to the working directory when inside it. */
  readonly file: string | undefined;
  readonly line: number | undefined;
  /** What to do instead. */
  readonly fix: string;

  constructor(problem: string, fix: string, location: SourceLocation | undefined, options: { cause?: unknown } = {}) {
    const file = location ? displayPath(location.file) : undefined;
    const where = file === undefined ? "" : `${file}${location?.line === undefined ? "" : `:${location.line}`}: `;
    super("COMPILE_ERROR", `${where}${problem}. Fix: ${fix}.`, options);
    this.file = file;
    this.line = location?.line;
    this.fix = fix;
  }
}

const INTERNAL = /[\\/]sdk[\\/](?:compiler|definitions|engine|model)[\\/]|[\\/]node_modules[\\/]|^node:|^internal[\\/]/;

/**
 * Where the flow's own code is in the current call stack: the first frame outside Aloft and its dependencies.
 *
 * @example
 * ```ts
 * throw new CompileError("reads the clock", "pass the time as a parameter", userCodeLocation());
 * ```
 */
export function userCodeLocation(stack?: string): SourceLocation | undefined {
  return callerLocation((file) => INTERNAL.test(file), stack ?? new Error().stack);
}

function displayPath(file: string): string {
  const fromCwd = relative(process.cwd(), file);
  return fromCwd !== "" && !fromCwd.startsWith("..") && !isAbsolute(fromCwd) ? fromCwd : file;
}
