import type { Artifact, LogEntry, LogLevel } from "../model/runs.js";
import { engineDefaults, runScopes, type FlowScope, type TaskScope } from "./context.js";
import { activeTrace } from "../compiler/traceContext.js";

/**
 * Writes log lines to the run they come from.
 *
 * @example
 * ```ts
 * log.info("loaded rows", { count: 120 });
 * ```
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Sends one log line to the recorder of the given scope (or the process default outside any run).
 *
 * @example
 * ```ts
 * emitLog("warn", "slow response", { ms: 900 }, flowScope, taskScope);
 * ```
 */
export function emitLog(
  level: LogLevel,
  message: string,
  fields: Record<string, unknown> | undefined,
  flow: FlowScope | undefined,
  task: TaskScope | undefined,
): void {
  const services = flow?.services ?? engineDefaults();
  const recorder = services.recorder;
  if (!recorder.log) return;
  const entry: LogEntry = { timestamp: new Date(services.clock.now()).toISOString(), level, message: String(message) };
  if (fields !== undefined) entry.fields = fields;
  if (flow) {
    entry.flowRunId = flow.run.id;
    entry.flowName = flow.run.flowName;
  }
  if (task) {
    entry.taskRunId = task.taskRun.id;
    entry.taskRunName = task.taskRun.name;
  }
  recorder.log(entry);
}

/**
 * The logger bound to one scope (a flow run's `ctx.log`).
 *
 * @example
 * ```ts
 * const logger = scopedLogger(flowScope, undefined);
 * logger.info("hello");
 * ```
 */
export function scopedLogger(flow: FlowScope | undefined, task: TaskScope | undefined): Logger {
  return {
    debug: (message, fields) => emitLog("debug", message, fields, flow, task),
    info: (message, fields) => emitLog("info", message, fields, flow, task),
    warn: (message, fields) => emitLog("warn", message, fields, flow, task),
    error: (message, fields) => emitLog("error", message, fields, flow, task),
  };
}

const fromContext =
  (level: LogLevel) =>
  (message: string, fields?: Record<string, unknown>): void => {
    // A flow body being compiled logs nothing (its values are symbolic), like its ctx.log.
    if (activeTrace()) return;
    const scope = runScopes.getStore();
    emitLog(level, message, fields, scope?.flow, scope?.task);
  };

/**
 * Logs to the current task run or flow run, from anywhere in the code it calls. Outside any run, the
 * line goes to the default recorder (stderr).
 *
 * @example
 * ```ts
 * import { log, task } from "aloft";
 * const load = task({ name: "load", run: async (rows: number[]) => {
 *   log.info("loading", { count: rows.length });
 * }});
 * ```
 */
export const log: Logger = {
  debug: fromContext("debug"),
  info: fromContext("info"),
  warn: fromContext("warn"),
  error: fromContext("error"),
};

/**
 * Publishes artifacts from a flow run: a Markdown report, a table or a link, each under a key.
 *
 * @example
 * ```ts
 * ctx.artifact.markdown("report", "# 120 rows loaded");
 * ctx.artifact.table("top-customers", [{ name: "Ada", spend: 120 }]);
 * ctx.artifact.link("dashboard", "https://example.com/d/42", "Live dashboard");
 * ```
 */
export interface Artifacts {
  markdown(key: string, markdown: string, description?: string): void;
  table(key: string, rows: ReadonlyArray<Record<string, unknown>>, description?: string): void;
  link(key: string, url: string, description?: string): void;
}

const ARTIFACT_KEY = /^[a-z0-9][a-z0-9-]{0,127}$/;

/**
 * The artifact publisher bound to a flow run.
 *
 * @example
 * ```ts
 * scopedArtifacts(flowScope).markdown("summary", "# done");
 * ```
 */
export function scopedArtifacts(flow: FlowScope): Artifacts {
  const publish = (key: string, type: Artifact["type"], data: unknown, description: string | undefined) => {
    if (!ARTIFACT_KEY.test(key)) {
      throw new TypeError(`artifact key "${key}" must be lowercase letters, digits and dashes, starting with a letter or digit`);
    }
    const task = runScopes.getStore()?.task;
    const artifact: Artifact = {
      key,
      type,
      data,
      flowRunId: flow.run.id,
      timestamp: new Date(flow.services.clock.now()).toISOString(),
    };
    if (description !== undefined) artifact.description = description;
    if (task) artifact.taskRunId = task.taskRun.id;
    flow.services.recorder.artifact?.(artifact);
  };
  return {
    markdown: (key, markdown, description) => publish(key, "markdown", String(markdown), description),
    table: (key, rows, description) => publish(key, "table", rows.map((row) => ({ ...row })), description),
    link: (key, url, description) => publish(key, "link", { url: String(url) }, description),
  };
}
