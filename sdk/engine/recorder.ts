import type { Artifact, FlowRun, LogEntry, LogLevel, TaskRunSummary } from "../model/runs.js";
import type { State } from "../model/states.js";
import { terminalJson, terminalText } from "../cli/terminalText.js";

/**
 * Where the engine reports what happens: flow and task runs, their state changes, logs and
 * artifacts. Every method is optional and must not block: the engine calls them on its hot path and
 * does not await them. The CLI's live view, the test kit and the control-plane client are recorders.
 *
 * @example
 * ```ts
 * const printer: Recorder = {
 *   taskRunStateChanged: (taskRun, state) => console.log(taskRun.name, state.name),
 * };
 * await etl.run(params, { recorder: printer });
 * ```
 */
export interface Recorder {
  flowRunCreated?(run: FlowRun): void;
  flowRunStateChanged?(run: FlowRun, state: State): void;
  taskRunCreated?(taskRun: TaskRunSummary): void;
  taskRunStateChanged?(taskRun: TaskRunSummary, state: State): void;
  log?(entry: LogEntry): void;
  artifact?(artifact: Artifact): void;
  /** Resolves once everything reported so far has been delivered; awaited when a top-level run ends. */
  flush?(): Promise<void>;
}

/**
 * One recorder that forwards to several.
 *
 * @example
 * ```ts
 * await etl.run(params, { recorder: combineRecorders(liveView, auditTrail) });
 * ```
 */
export function combineRecorders(...recorders: Array<Recorder | undefined>): Recorder {
  const present = recorders.filter((recorder): recorder is Recorder => recorder !== undefined);
  if (present.length === 1) return present[0]!;
  const each =
    <K extends keyof Recorder>(method: K) =>
    (...args: Parameters<NonNullable<Recorder[K]>>) => {
      for (const recorder of present) (recorder[method] as ((...a: unknown[]) => void) | undefined)?.(...args);
    };
  return {
    flowRunCreated: each("flowRunCreated"),
    flowRunStateChanged: each("flowRunStateChanged"),
    taskRunCreated: each("taskRunCreated"),
    taskRunStateChanged: each("taskRunStateChanged"),
    log: each("log"),
    artifact: each("artifact"),
    flush: async () => {
      await Promise.all(present.map((recorder) => recorder.flush?.()));
    },
  };
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Whether a log line at `level` passes a threshold (`"silent"` passes nothing).
 *
 * @example
 * ```ts
 * passesLevel("warn", "info"); // true
 * ```
 */
export function passesLevel(level: LogLevel, threshold: LogLevel | "silent"): boolean {
  return threshold !== "silent" && LEVELS[level] >= LEVELS[threshold];
}

/**
 * The log threshold from `ALOFT_LOG_LEVEL` (debug, info, warn, error, silent); `info` by default.
 *
 * @example
 * ```ts
 * process.env.ALOFT_LOG_LEVEL = "warn";
 * logLevelFromEnv(); // "warn"
 * ```
 */
export function logLevelFromEnv(): LogLevel | "silent" {
  const value = process.env.ALOFT_LOG_LEVEL?.toLowerCase();
  return value === "silent" || (value !== undefined && value in LEVELS) ? (value as LogLevel | "silent") : "info";
}

/**
 * The default recorder outside the CLI: prints log lines to stderr, like `12:00:01.250 INFO  etl-1f2e/add-0 | message`.
 *
 * @example
 * ```ts
 * await etl.run(params, { recorder: consoleLogRecorder("debug") });
 * ```
 */
export function consoleLogRecorder(threshold: LogLevel | "silent" = logLevelFromEnv()): Recorder {
  return {
    log(entry) {
      if (!passesLevel(entry.level, threshold)) return;
      process.stderr.write(`${formatLogLine(entry)}\n`);
    },
  };
}

/**
 * Formats a log line for a terminal, on one line whatever it holds: a line break in the message
 * shows as `\n`, escape sequences are removed and other control characters shown as escapes, so a
 * message can neither drive the terminal nor forge another line (see `terminalText`).
 *
 * @example
 * ```ts
 * formatLogLine(entry); // "12:00:01.250 INFO  etl/add-0 | loaded {\"rows\":3}"
 * ```
 */
export function formatLogLine(entry: LogEntry): string {
  const time = entry.timestamp.slice(11, 23);
  const where = [entry.flowName, entry.taskRunName].filter(Boolean).join("/");
  const fields = entry.fields && Object.keys(entry.fields).length > 0 ? ` ${terminalJson(safeJson(entry.fields))}` : "";
  return terminalText(`${time} ${entry.level.toUpperCase().padEnd(5)} ${where} | ${entry.message}`) + fields;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return terminalText(String(value));
  }
}
