import type { Command } from "commander";
import { watchRun } from "../watchRun.js";
import { loadFlow } from "../loadFlow.js";
import { checkParams, collectParams } from "../runParams.js";

/**
 * The options of `aloft run`, as commander parses them.
 *
 * @example
 * ```ts
 * const options: RunCommandOptions = { param: ["limit=5"], paramsFile: "params.json", json: false };
 * ```
 */
export interface RunCommandOptions {
  param: string[];
  paramsFile?: string;
  json?: boolean;
}

export { INTERRUPTED_EXIT_CODE } from "../watchRun.js";

/**
 * Adds `aloft run <file.ts>[:export]` to the program.
 *
 * @example
 * ```ts
 * const program = new Command("aloft");
 * addRunCommand(program);
 * await program.parseAsync(["node", "aloft", "run", "flows/etl.ts", "--param", "limit=5"]);
 * ```
 */
export function addRunCommand(program: Command): Command {
  return program
    .command("run")
    .description("run a flow locally with live progress, then print a summary")
    .argument("<file[:export]>", "the TypeScript file holding the flow, and which export (default: the default export or the only flow)")
    .option("--param <key=value>", "a flow parameter; the value is JSON if it parses, else a string (repeatable)", (value: string, previous: string[]) => [...previous, value], [])
    .option("--params-file <file>", "a JSON object of parameters (--param values override it)")
    .option("--json", "print the final run as JSON and nothing else on stdout")
    .addHelpText("after", "\nExit codes: 0 completed, 1 failed or crashed, 2 bad usage or invalid params, 130 cancelled with Ctrl-C.")
    .action(async (target: string, options: RunCommandOptions) => {
      process.exitCode = await runCommand(target, options);
    });
}

/**
 * Runs `aloft run` and resolves to the exit code: 0 COMPLETED, 1 FAILED / CRASHED / CANCELLED,
 * 130 when Ctrl-C cancelled it. Usage problems reject with a `UsageError` (exit 2) before the
 * flow starts.
 *
 * @example
 * ```ts
 * process.exitCode = await runCommand("flows/etl.ts:etl", { param: ["day=2026-11-01"], json: false });
 * ```
 */
export async function runCommand(target: string, options: RunCommandOptions): Promise<number> {
  const [{ flow }, params] = await Promise.all([loadFlow(target), collectParams(options.param, options.paramsFile)]);
  checkParams(flow, params);

  const { run, code, printSummary } = await watchRun(options, (recorder, signal) => flow.run(params, { recorder, replaceRecorder: true, signal }));
  if (options.json) process.stdout.write(`${JSON.stringify(run)}\n`);
  else printSummary();
  return code;
}
