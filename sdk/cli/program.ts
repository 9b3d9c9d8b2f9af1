import { createRequire } from "node:module";
import { Command } from "commander";
import { addCompileCommand } from "./commands/compile.js";
import { addConcurrencyCommand } from "./commands/concurrency.js";
import { addDeploymentsCommand } from "./commands/deployments.js";
import { addLoginCommand } from "./commands/login.js";
import { addPoolsCommand } from "./commands/pools.js";
import { addRunCommand } from "./commands/run.js";
import { addRunsCommand } from "./commands/runs.js";
import { addWorkerCommand } from "./commands/worker.js";
import { dataDir } from "../engine/context.js";
import { exitForError, configureUsageErrors, UsageError } from "./usageError.js";

const { version } = createRequire(import.meta.url)("../../../package.json") as { version: string };

/**
 * The `aloft` program with every SDK command. The local-server composition (`lambdas/local/main.ts`)
 * adds `aloft server`.
 *
 * @example
 * ```ts
 * const program = createProgram();
 * await runCli(program, process.argv);
 * ```
 */
export function createProgram(): Command {
  const program = configureUsageErrors(new Command("aloft"))
    .description("Aloft: flows and tasks as plain async TypeScript functions, run locally or on AWS.")
    .version(version, "-v, --version")
    .showSuggestionAfterError(true)
    // Program options only before the command: `aloft deployments create … --version 1.2` is the deployment's.
    .enablePositionalOptions();
  addRunCommand(program);
  addCompileCommand(program);
  addRunsCommand(program);
  addDeploymentsCommand(program);
  addConcurrencyCommand(program);
  addWorkerCommand(program);
  addPoolsCommand(program);
  addLoginCommand(program);
  // Every command but compile reads the data dir (the token, the task cache, the server's own data):
  // an empty ALOFT_DATA_DIR is refused before it does anything.
  program.hook("preAction", (_program, command) => {
    if (command.name() === "compile") return;
    try {
      dataDir();
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  });
  return program;
}

/**
 * Parses the arguments and runs the command; usage errors print one line and exit 2. Exits once the
 * output is written, even if a cancelled flow left timers or sockets behind.
 *
 * @example
 * ```ts
 * await runCli(createProgram(), ["node", "aloft", "run", "flows/etl.ts"]);
 * ```
 */
export async function runCli(program: Command, argv: readonly string[]): Promise<never> {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    // The reader went away (`aloft run … | head`): nothing more to say.
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
  try {
    await program.parseAsync(argv as string[]);
  } catch (error) {
    const { code, message } = exitForError(error);
    if (message !== undefined) process.stderr.write(`${message}\n`);
    process.exitCode = code;
  }
  await Promise.all([drain(process.stdout), drain(process.stderr)]);
  process.exit(process.exitCode ?? 0);
}

function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write("", () => resolve()));
}
