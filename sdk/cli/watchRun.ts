import type { Recorder } from "../engine/recorder.js";
import { consoleLogRecorder, logLevelFromEnv } from "../engine/recorder.js";
import { CancelledError } from "../model/errors.js";
import type { FlowRun } from "../model/runs.js";
import { LiveView } from "./liveView.js";
import { colorsFor } from "./stateText.js";
import { renderSummary } from "./summaryTable.js";

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
 * Runs a flow run in this process the way the CLI shows one: the live view (or, with `json`, log
 * lines only), Ctrl-C to cancel (twice to exit at once), then the summary table or the JSON the
 * caller prints. Resolves to the run and the exit code: 0 COMPLETED, 130 cancelled by Ctrl-C, 1
 * otherwise.
 *
 * @example
 * ```ts
 * const { run, code } = await watchRun({ json: false }, (recorder, signal) =>
 *   flow.run(params, { recorder, replaceRecorder: true, signal }),
 * );
 * ```
 */
export async function watchRun(
  options: { json?: boolean },
  execute: (recorder: Recorder, signal: AbortSignal) => Promise<FlowRun>,
): Promise<{ run: FlowRun; code: number; printSummary: () => void }> {
  const logThreshold = logLevelFromEnv();
  const colors = colorsFor(process.stdout);
  const view = options.json
    ? undefined
    : new LiveView({ out: process.stdout, err: process.stderr, interactive: process.stdout.isTTY === true && process.env.TERM !== "dumb", colors, logThreshold });

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
    run = await execute(view ?? consoleLogRecorder(logThreshold), controller.signal);
  } finally {
    view?.stop();
    process.off("exit", onExit);
    process.off("SIGINT", onInterrupt);
  }
  const code = run.state.type === "COMPLETED" ? 0 : run.state.type === "CANCELLED" && interrupted ? INTERRUPTED_EXIT_CODE : 1;
  const printSummary = () => {
    if (view) process.stdout.write(`\n${renderSummary(view.tracker, run, colors, Date.now())}`);
  };
  return { run, code, printSummary };
}
