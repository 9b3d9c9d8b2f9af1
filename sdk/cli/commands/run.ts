import type { Command } from "commander";
import { consoleLogRecorder, logLevelFromEnv } from "../../engine/recorder.js";
import { CancelledError } from "../../model/errors.js";
import type { FlowRun } from "../../model/runs.js";
import { LiveView } from "../liveView.js";
import { loadFlow } from "../loadFlow.js";
import { checkParams, collectParams } from "../runParams.js";
import { colorsFor } from "../stateText.js";
import { renderSummary } from "../summaryTable.js";

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

/**
 * The exit code after Ctrl-C, as for a process killed by SIGINT.
 *
 * @example
 * ```ts
 * if (code === INTERRUPTED_EXIT_CODE) console.error("cancelled");
 * ```
 */
export const INTERRUPTED_EXIT_CODE = 130;

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

  const logThreshold = logLevelFromEnv();
  const view = options.json
    ? undefined
    : new LiveView({
        out: process.stdout,
        err: process.stderr,
        interactive: process.stdout.isTTY === true && process.env.TERM !== "dumb",
        colors: colorsFor(process.stdout),
        logThreshold,
      });

  const controller = new AbortController();
  let interrupted = false;
  const onInterrupt = () => {
    if (interrupted) {
      // A second Ctrl-C: stop waiting for the run to wind down.
      view?.restoreTerminal();
      process.exit(INTERRUPTED_EXIT_CODE);
    }
    interrupted = true;
    const notice = "cancelling the run (press Ctrl-C again to exit at once)";
    if (view) view.notice(notice);
    else process.stderr.write(`${notice}\n`);
    controller.abort(new CancelledError("cancelled with Ctrl-C"));
  };
  process.on("SIGINT", onInterrupt);
  const onExit = () => view?.restoreTerminal();
  process.once("exit", onExit);

  let run: FlowRun;
  view?.start();
  try {
    run = await flow.run(params, { recorder: view ?? consoleLogRecorder(logThreshold), replaceRecorder: true, signal: controller.signal });
  } finally {
    view?.stop();
    process.off("exit", onExit);
  }

  if (view) process.stdout.write(`\n${renderSummary(view.tracker, run, colorsFor(process.stdout), Date.now())}`);
  else process.stdout.write(`${JSON.stringify(run)}\n`);
  process.off("SIGINT", onInterrupt);
  if (run.state.type === "COMPLETED") return 0;
  if (run.state.type === "CANCELLED" && interrupted) return INTERRUPTED_EXIT_CODE;
  return 1;
}
