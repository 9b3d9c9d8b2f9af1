import { CommanderError, type Command } from "commander";
import { terminalLine } from "./terminalText.js";

/**
 * The exit code of every usage error: bad arguments, a missing file or export, invalid params.
 *
 * @example
 * ```ts
 * if (code === USAGE_EXIT_CODE) console.error("fix the command line");
 * ```
 */
export const USAGE_EXIT_CODE = 2;

/**
 * A mistake in how the CLI was called. The CLI prints its message as one line on stderr and exits 2.
 *
 * @example
 * ```ts
 * throw new UsageError(`--param "limit" has no "=" (expected key=value)`);
 * ```
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(oneLine(message));
    this.name = "UsageError";
  }
}

/**
 * Folds text onto one line: line breaks become spaces, runs of blanks collapse, a Node
 * "Require stack" trailer is dropped, and what could drive the terminal is neutralised (see
 * `terminalLine`).
 *
 * @example
 * ```ts
 * oneLine("Transform failed with 1 error:\nflow.ts:1:5: ERROR: Unexpected ';'");
 * // "Transform failed with 1 error: flow.ts:1:5: ERROR: Unexpected ';'"
 * ```
 */
export function oneLine(text: string): string {
  const withoutStack = text.split(/\r?\n\s*Require stack:/)[0] ?? text;
  return terminalLine(withoutStack);
}

/**
 * Makes commander's own usage errors (unknown option, missing argument, …) print as one line on
 * stderr and throw a `CommanderError` instead of exiting, so `main` decides the exit code (2).
 * Apply it to the program before adding subcommands with `.command()`; they inherit it.
 *
 * @example
 * ```ts
 * const program = configureUsageErrors(new Command("aloft"));
 * program.command("run");
 * ```
 */
export function configureUsageErrors(command: Command): Command {
  return command
    .exitOverride((error) => {
      throw error;
    })
    .configureOutput({
      outputError: (message, write) => write(`${oneLine(message)}\n`),
    });
}

/**
 * The exit code and the one-line message (if any still to print) for an error that reached `main`.
 *
 * @example
 * ```ts
 * exitForError(new UsageError("no such file: etl.ts")); // { code: 2, message: "error: no such file: etl.ts" }
 * ```
 */
export function exitForError(error: unknown): { code: number; message?: string } {
  if (error instanceof CommanderError) {
    // commander already printed its message (or the help); help and --version exit 0.
    return { code: error.exitCode === 0 ? 0 : USAGE_EXIT_CODE };
  }
  if (error instanceof UsageError) return { code: USAGE_EXIT_CODE, message: `error: ${error.message}` };
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { code: 1, message: `error: ${oneLine(text)}` };
}
