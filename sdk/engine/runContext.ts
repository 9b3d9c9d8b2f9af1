import { runScopes } from "./context.js";
import { scopedLogger, type Logger } from "./logging.js";

/**
 * Where the calling code is running: its flow run, task run and attempt, the signal to honour,
 * and a logger bound to the run.
 *
 * @example
 * ```ts
 * const ctx = getRunContext();
 * if (ctx?.signal.aborted) return;
 * ```
 */
export interface RunContext {
  flowRunId: string | undefined;
  flowName: string | undefined;
  taskRunId: string | undefined;
  taskRunName: string | undefined;
  /** The task attempt (or flow attempt outside a task), 1-based. */
  attempt: number;
  /** Aborts on timeout or cancellation: long-running work should stop when it does. */
  signal: AbortSignal;
  log: Logger;
}

/**
 * The context of the task run or flow run the caller is in; `undefined` outside any run.
 *
 * @example
 * ```ts
 * const download = task({ name: "download", timeout: "30s", run: async (url: string) => {
 *   const { signal } = getRunContext()!;
 *   return (await fetch(url, { signal })).text();
 * }});
 * ```
 */
export function getRunContext(): RunContext | undefined {
  const scope = runScopes.getStore();
  if (!scope || (!scope.flow && !scope.task)) return undefined;
  const { flow, task } = scope;
  return {
    flowRunId: flow?.run.id,
    flowName: flow?.run.flowName,
    taskRunId: task?.taskRun.id,
    taskRunName: task?.taskRun.name,
    attempt: task?.attempt ?? flow?.attempt ?? 1,
    signal: (task?.signal ?? flow?.signal)!,
    log: scopedLogger(flow, task),
  };
}
