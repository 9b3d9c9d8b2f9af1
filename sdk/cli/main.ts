#!/usr/bin/env node
/**
 * The `aloft` command line. One module per command under `commands/`; every usage error is one
 * line on stderr and exit code 2.
 *
 * @example
 * ```sh
 * aloft run flows/etl.ts:etl --param day=2026-11-01
 * ```
 * @packageDocumentation
 */
import { createRequire } from "node:module";
import { Command } from "commander";
import { addRunCommand } from "./commands/run.js";
import { exitForError, configureUsageErrors } from "./usageError.js";

const { version } = createRequire(import.meta.url)("../../../package.json") as { version: string };

const program = configureUsageErrors(new Command("aloft"))
  .description("Aloft: flows and tasks as plain async TypeScript functions, run locally or on AWS.")
  .version(version, "-v, --version")
  .showSuggestionAfterError(true);
addRunCommand(program);

process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  // The reader went away (`aloft run … | head`): nothing more to say.
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const { code, message } = exitForError(error);
  if (message !== undefined) process.stderr.write(`${message}\n`);
  process.exitCode = code;
}

// Exit once the output is written, even if a cancelled flow left timers or sockets behind.
await Promise.all([drain(process.stdout), drain(process.stderr)]);
process.exit(process.exitCode ?? 0);

function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write("", () => resolve()));
}
