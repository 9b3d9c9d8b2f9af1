/**
 * Every error Aloft raises is an {@link AloftError} with a stable `code`; callers branch on the code,
 * never on the message.
 */

/**
 * The stable error codes.
 *
 * @example
 * ```ts
 * if (error instanceof AloftError && error.code === "TASK_RUN_FAILED") retryLater();
 * ```
 */
export type AloftErrorCode =
  | "INVALID_OPTIONS"
  | "INVALID_PARAMETERS"
  | "ABORTED"
  | "TIMED_OUT"
  | "CANCELLED"
  | "NOT_SERIALIZABLE"
  | "TASK_RUN_FAILED"
  | "FLOW_RUN_FAILED"
  | "API_ERROR"
  | "COMPILE_ERROR"
  | "APPROVAL_UNAVAILABLE";

/**
 * The base class of Aloft's errors.
 *
 * @example
 * ```ts
 * try { await add(1, 2); } catch (error) {
 *   if (error instanceof AloftError) console.log(error.code, error.taskRunId);
 * }
 * ```
 */
export class AloftError extends Error {
  readonly code: AloftErrorCode;
  readonly runId?: string;
  readonly taskRunId?: string;

  constructor(
    code: AloftErrorCode,
    message: string,
    options: { cause?: unknown; runId?: string; taskRunId?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.runId !== undefined) this.runId = options.runId;
    if (options.taskRunId !== undefined) this.taskRunId = options.taskRunId;
  }
}

/**
 * Thrown by a task or flow to fail at once, with no retries.
 *
 * @example
 * ```ts
 * const charge = task({ name: "charge", retries: 3, run: async (card: string) => {
 *   if (!card) throw new Abort("no card on file"); // not retried
 *   return await bill(card);
 * }});
 * ```
 */
export class Abort extends AloftError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("ABORTED", message, options);
  }
}

/**
 * Definition-time misuse: an invalid option to `task()` or `flow()`. The message names every
 * invalid option at once.
 *
 * @example
 * ```ts
 * task({ name: "t", retries: -1, run }); // throws InvalidOptionsError: task "t": retries must be …
 * ```
 */
export class InvalidOptionsError extends AloftError {
  readonly problems: readonly string[];
  constructor(subject: string, problems: readonly string[]) {
    super("INVALID_OPTIONS", `${subject}: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

/**
 * A flow was given parameters its schema rejects; `issues` lists each one with its path.
 *
 * @example
 * ```ts
 * try { await etl({ day: 3 }); } catch (e) { if (e instanceof InvalidParametersError) console.log(e.issues); }
 * ```
 */
export class InvalidParametersError extends AloftError {
  readonly issues: readonly { path: string; message: string }[];
  constructor(flowName: string, issues: readonly { path: string; message: string }[], runId?: string) {
    const list = issues.map((issue) => `${issue.path || "(root)"}: ${issue.message}`).join("; ");
    super("INVALID_PARAMETERS", `invalid parameters for flow "${flowName}": ${list}`, runId === undefined ? {} : { runId });
    this.issues = issues;
  }
}

/**
 * A task attempt or flow run went past its `timeout`.
 *
 * @example
 * ```ts
 * if (error instanceof TimedOutError) console.log(error.message); // "task run add-1 exceeded its timeout of 30s"
 * ```
 */
export class TimedOutError extends AloftError {
  constructor(message: string, options: { runId?: string; taskRunId?: string } = {}) {
    super("TIMED_OUT", message, options);
  }
}

/**
 * The run was cancelled (its signal aborted) before it finished.
 *
 * @example
 * ```ts
 * controller.abort(); // the run ends CANCELLED; a task awaiting in it rejects with CancelledError
 * ```
 */
export class CancelledError extends AloftError {
  constructor(message: string, options: { runId?: string; taskRunId?: string; cause?: unknown } = {}) {
    super("CANCELLED", message, options);
  }
}

/**
 * A task result (or flow result) is not a JSON value; `path` says where the offending value is.
 *
 * @example
 * ```ts
 * task({ name: "t", run: async () => new Map() }); // fails: result is not JSON-serializable at $: Map
 * ```
 */
export class NotSerializableError extends AloftError {
  readonly path: string;
  constructor(what: string, path: string, found: string) {
    super(
      "NOT_SERIALIZABLE",
      `${what} must be JSON-serializable, but ${path} is ${found}; return plain objects, arrays, strings, finite numbers, booleans or null`,
    );
    this.path = path;
  }
}

/**
 * A task run ended FAILED (or CRASHED, CANCELLED): the rejection of `await myTask(...)`. The task's
 * own error is the `cause`.
 *
 * @example
 * ```ts
 * try { await extract(url); } catch (error) {
 *   if (error instanceof TaskRunFailedError) ctx.log.warn(`extract failed: ${error.cause}`);
 * }
 * ```
 */
export class TaskRunFailedError extends AloftError {
  readonly taskName: string;
  readonly stateName: string;
  constructor(taskName: string, taskRunId: string, stateName: string, cause: unknown, runId?: string) {
    super("TASK_RUN_FAILED", `task run ${taskRunId} of "${taskName}" ended ${stateName}: ${messageOf(cause)}`, {
      cause,
      taskRunId,
      ...(runId === undefined ? {} : { runId }),
    });
    this.taskName = taskName;
    this.stateName = stateName;
  }
}

/**
 * A subflow run did not complete: the rejection of `await childFlow(params)` inside a flow.
 *
 * @example
 * ```ts
 * try { await train(params); } catch (error) {
 *   if (error instanceof FlowRunFailedError) console.log(error.runId, error.stateName);
 * }
 * ```
 */
export class FlowRunFailedError extends AloftError {
  readonly flowName: string;
  readonly stateName: string;
  constructor(flowName: string, runId: string, stateName: string, cause: unknown) {
    super("FLOW_RUN_FAILED", `flow run ${runId} of "${flowName}" ended ${stateName}: ${messageOf(cause)}`, { cause, runId });
    this.flowName = flowName;
    this.stateName = stateName;
  }
}

/**
 * A short, human message for any thrown value.
 *
 * @example
 * ```ts
 * messageOf(new Error("boom")); // "boom"
 * messageOf("plain");           // "plain"
 * ```
 */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/**
 * The JSON shape of an error, as a run reports it.
 *
 * @example
 * ```ts
 * const run = await etl.run(params);
 * if (run.error) console.log(run.error.name, run.error.message);
 * ```
 */
export interface ErrorInfo {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

/**
 * Converts a thrown value to {@link ErrorInfo}.
 *
 * @example
 * ```ts
 * toErrorInfo(new Abort("stop")); // { name: "Abort", code: "ABORTED", message: "stop", stack: "…" }
 * ```
 */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    const info: ErrorInfo = { name: error.name, message: error.message };
    if (error instanceof AloftError) info.code = error.code;
    if (error.stack !== undefined) info.stack = error.stack;
    return info;
  }
  return { name: "Error", message: messageOf(error) };
}
