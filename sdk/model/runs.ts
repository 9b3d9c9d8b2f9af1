import type { ErrorInfo } from "./errors.js";
import type { State } from "./states.js";

/**
 * What a flow run's result lists for each task run.
 *
 * @example
 * ```ts
 * const run = await etl.run(params);
 * for (const t of run.taskRuns) console.log(t.name, t.state.name, t.attempts);
 * ```
 */
export interface TaskRunSummary {
  id: string;
  taskName: string;
  /** `runName(...)` if the task has one, else `<task>-<n>` numbered within the flow run. */
  name: string;
  state: State;
  /** Attempts made (0 when the result came from the cache). */
  attempts: number;
  startTime: string;
  endTime?: string;
  flowRunId?: string;
  /** The item's index when the run belongs to a `.map`. */
  mapIndex?: number;
  tags?: string[];
}

/**
 * The outcome of `flow.run(...)`. `.run` resolves to this whatever the final state.
 *
 * @example
 * ```ts
 * const run: FlowRun<{ rows: number }> = await etl.run({ day: "2026-11-01" });
 * if (run.state.type === "COMPLETED") console.log(run.result?.rows);
 * else console.error(run.state.name, run.error?.message);
 * ```
 */
export interface FlowRun<R = unknown> {
  id: string;
  flowName: string;
  name: string;
  parentRunId?: string;
  parameters: unknown;
  state: State;
  result?: R;
  error?: ErrorInfo;
  taskRuns: TaskRunSummary[];
  /** Attempts made (more than one when flow retries were used). */
  attempts: number;
  startTime: string;
  endTime?: string;
  tags: string[];
}

/**
 * The levels of a log line, lowest first.
 *
 * @example
 * ```ts
 * const level: LogLevel = "warn";
 * ```
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * One log line, tied to the flow run and task run it came from.
 *
 * @example
 * ```ts
 * const entry: LogEntry = { timestamp: new Date().toISOString(), level: "info", message: "loaded", flowRunId };
 * ```
 */
export interface LogEntry {
  timestamp: string;
  level: LogLevel;
  message: string;
  fields?: Record<string, unknown>;
  flowRunId?: string;
  flowName?: string;
  taskRunId?: string;
  taskRunName?: string;
}

/**
 * An artifact a flow published: a Markdown report, a table, or a link.
 *
 * @example
 * ```ts
 * const artifact: Artifact = { key: "summary", type: "markdown", data: "# Done", flowRunId, timestamp };
 * ```
 */
export interface Artifact {
  key: string;
  type: "markdown" | "table" | "link";
  data: unknown;
  description?: string;
  flowRunId?: string;
  taskRunId?: string;
  timestamp: string;
}
