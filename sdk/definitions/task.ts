import type { Duration } from "../model/duration.js";
import { durationToMs } from "../model/duration.js";
import type { TaskRunSummary } from "../model/runs.js";
import { hashText } from "../engine/hash.js";
import { callTask, type TaskSpec } from "../engine/taskRunner.js";
import { checkFunctions, checkName, checkRetryOptions, checkTags, throwIfProblems, type RetryOptions } from "./options.js";
import { registerTask } from "./registry.js";
import { activeTrace } from "../compiler/traceContext.js";

/**
 * Options of `task()`.
 *
 * @example
 * ```ts
 * const options: TaskOptions<[string], number> = { name: "count", run: async (s) => s.length, retries: 2 };
 * ```
 */
export interface TaskOptions<A extends unknown[], R> extends RetryOptions {
  /** Required; names the task in run listings, logs, caches and journals. */
  name: string;
  run: (...args: A) => R | Promise<R>;
  /** Return false to fail now, without the remaining retries. `attempt` is the attempt that failed (1-based). */
  retryIf?: (error: unknown, attempt: number) => boolean | Promise<boolean>;
  /** Per attempt. The attempt ends FAILED / TimedOut and the task's signal aborts. */
  timeout?: Duration;
  cache?: {
    /** "inputs": the arguments; or a function of them. The task's name and code are always part of the key. */
    key: "inputs" | ((...args: A) => string);
    expiresIn?: Duration;
    /** Always recompute (and store the new result). */
    refresh?: boolean;
  };
  /** Tag concurrency limits (run option `concurrencyLimits`) apply to tagged task runs. */
  tags?: string[];
  runName?: (...args: A) => string;
  /** Called once, after the task run ends COMPLETED. */
  onCompletion?: (info: TaskRunSummary) => void | Promise<void>;
  /** Called once, after the task run ends FAILED (after the last retry). */
  onFailure?: (info: TaskRunSummary, error: unknown) => void | Promise<void>;
  description?: string;
  /**
   * Where the task runs when its flow is deployed: "local" (default) in the flow's own process,
   * "lambda" or "fargate" as its own job (a Step Functions state machine runs "fargate" tasks with ECS
   * RunTask). The local engine runs every runtime in process.
   */
  runtime?: TaskRuntime;
}

/**
 * Where a task runs when deployed; see {@link TaskOptions.runtime}.
 *
 * @example
 * ```ts
 * const runtime: TaskRuntime = "fargate";
 * ```
 */
export type TaskRuntime = "local" | "lambda" | "fargate";

const RUNTIMES: readonly string[] = ["local", "lambda", "fargate"];

/**
 * Options of `.map`.
 *
 * @example
 * ```ts
 * await double.map([1, 2, 3], { concurrency: 2 });
 * ```
 */
export interface MapOptions {
  /** The most items in flight at once; default: no limit beyond the flow's `taskConcurrency`. */
  concurrency?: number;
  /**
   * How a Step Functions state machine maps: "inline" (default; up to 40 items in flight) or
   * "distributed" (child executions, for thousands of items). The local engine ignores it.
   */
  mode?: "inline" | "distributed";
}

/**
 * A task handle: call it like the function it wraps, and it runs as a task run.
 *
 * @example
 * ```ts
 * const add = task({ name: "add", run: async (a: number, b: number) => a + b });
 * const three: number = await add(1, 2);
 * ```
 */
export interface Task<A extends unknown[], R> {
  (...args: A): Promise<R>;
  readonly kind: "task";
  readonly name: string;
  readonly options: Readonly<TaskOptions<A, R>>;
  /**
   * For tasks of one argument: one task run per item, results in input order. On the first failure
   * no new items start; it rejects with that failure once the items in flight have settled.
   */
  map: A extends [infer Item] ? (items: Iterable<Item>, options?: MapOptions) => Promise<R[]> : never;
}

/** A task of any signature. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTask = Task<any[], unknown>;

const HOOKS = ["run", "retryIf", "runName", "onCompletion", "onFailure"] as const;

/**
 * Defines a task: a plain async function that runs with retries, timeouts, caching and concurrency
 * limits, recorded as a task run of the flow run that calls it (or as a standalone task run).
 * Invalid options throw at once, naming each.
 *
 * @example
 * ```ts
 * import { task } from "aloft";
 *
 * export const fetchPage = task({
 *   name: "fetch-page",
 *   retries: 3,
 *   retryDelay: [1, 10, 60],
 *   timeout: "30s",
 *   run: async (url: string) => (await fetch(url)).text(),
 * });
 * ```
 */
export function task<A extends unknown[], R>(options: TaskOptions<A, R>): Task<A, Awaited<R>> {
  const subject = `task "${typeof options?.name === "string" ? options.name : "?"}"`;
  if (typeof options !== "object" || options === null) throw new TypeError("task() takes an options object");
  const problems = [...checkName(options.name), ...checkFunctions(options, HOOKS, ["run"]), ...checkRetryOptions(options), ...checkTags(options.tags)];
  const cache = options.cache;
  if (cache !== undefined) {
    if (typeof cache !== "object" || cache === null) problems.push("cache must be an object like { key: \"inputs\" }");
    else {
      if (cache.key !== "inputs" && typeof cache.key !== "function") problems.push('cache.key must be "inputs" or a function of the arguments');
      if (cache.expiresIn !== undefined && durationToMs(cache.expiresIn) === undefined) problems.push(`cache.expiresIn is not a duration: ${String(cache.expiresIn)}`);
      if (cache.refresh !== undefined && typeof cache.refresh !== "boolean") problems.push("cache.refresh must be true or false");
    }
  }
  if (options.runtime !== undefined && !RUNTIMES.includes(options.runtime)) {
    problems.push(`runtime must be "local", "lambda" or "fargate" (got ${JSON.stringify(options.runtime)})`);
  }
  throwIfProblems(subject, problems);

  const spec = taskSpecOf(options);
  // While the compiler traces a flow, a call records a state instead of running.
  const handle = ((...args: A) => activeTrace()?.callTask(handle, args) ?? callTask(spec, args)) as unknown as Task<A, Awaited<R>>;
  const map = (items: Iterable<unknown>, mapOptions?: MapOptions) => activeTrace()?.mapTask(handle, items, mapOptions) ?? runMap(items, mapOptions);
  const runMap = async (items: Iterable<unknown>, mapOptions: MapOptions = {}) => {
    const list = Array.from(items);
    const concurrency = mapOptions.concurrency ?? list.length;
    if (!(Number.isInteger(concurrency) && concurrency > 0) && list.length > 0) {
      throw new RangeError(`${subject}.map: concurrency must be a whole number ≥ 1 (got ${String(mapOptions.concurrency)})`);
    }
    const results = new Array<unknown>(list.length);
    let next = 0;
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      while (failure === undefined && next < list.length) {
        const index = next++;
        try {
          results[index] = await callTask(spec, [list[index]], index);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
    if (failure) throw failure.error;
    return results;
  };
  Object.defineProperties(handle, {
    name: { value: options.name },
    kind: { value: "task", enumerable: true },
    options: { value: Object.freeze({ ...options }), enumerable: true },
    map: { value: map },
  });
  registerTask(handle as AnyTask);
  return handle;
}

/**
 * The engine's form of a task's (checked) options: what `task()` runs, and what runs one attempt of
 * a task outside a flow run (the Step Functions task Lambda).
 * @internal
 */
export function taskSpecOf<A extends unknown[], R>(options: TaskOptions<A, R>): TaskSpec {
  const spec: TaskSpec = {
    name: options.name,
    run: options.run as TaskSpec["run"],
    retries: options.retries ?? 0,
    tags: [...(options.tags ?? [])],
    codeHash: hashText(String(options.run)),
  };
  if (options.retryDelay !== undefined) spec.retryDelay = options.retryDelay;
  if (options.retryJitter !== undefined) spec.retryJitter = options.retryJitter;
  if (options.retryIf) spec.retryIf = options.retryIf;
  if (options.timeout !== undefined) spec.timeoutMs = durationToMs(options.timeout)!;
  if (options.runName) spec.runName = options.runName as unknown as TaskSpec["runName"];
  if (options.onCompletion) spec.onCompletion = options.onCompletion;
  if (options.onFailure) spec.onFailure = options.onFailure;
  const cache = options.cache;
  if (cache) {
    spec.cache = { key: cache.key as NonNullable<TaskSpec["cache"]>["key"], refresh: cache.refresh ?? false };
    if (cache.expiresIn !== undefined) spec.cache.expiresInMs = durationToMs(cache.expiresIn)!;
  }
  return spec;
}
