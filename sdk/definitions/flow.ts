import type { z } from "zod";
import type { Duration } from "../model/duration.js";
import type { FlowRun } from "../model/runs.js";
import { callFlow, runFlow, timeoutOf, type FlowContext, type FlowSpec, type RunOptions } from "../engine/flowRunner.js";
import { checkFunctions, checkName, checkRetryOptions, checkTags, throwIfProblems, type RetryOptions } from "./options.js";
import { registerFlow } from "./registry.js";
import { activeTrace } from "../compiler/traceContext.js";
import { callerFile } from "./sourceFile.js";

/** The options every flow takes, whatever its parameters. */
interface FlowBaseOptions<R> extends RetryOptions {
  /** Required; names the flow in runs, deployments and the CLI. */
  name: string;
  /** Return false to fail now, without the remaining flow retries. */
  retryIf?: (error: unknown, attempt: number) => boolean | Promise<boolean>;
  /** Per attempt: the attempt ends FAILED / TimedOut and the flow's signal aborts. */
  timeout?: Duration;
  version?: string;
  description?: string;
  tags?: string[];
  /** The most task runs in flight at once within one run of this flow, subflows included. */
  taskConcurrency?: number;
  onCompletion?: (run: FlowRun<R>) => void | Promise<void>;
  onFailure?: (run: FlowRun<R>, error: unknown) => void | Promise<void>;
  onCancellation?: (run: FlowRun<R>) => void | Promise<void>;
}

/**
 * Options of `flow()` with a zod schema for the parameters.
 *
 * @example
 * ```ts
 * const options: FlowOptionsWithSchema<typeof schema, number> = { name: "f", params: schema, run: async (p) => p.limit };
 * ```
 */
export interface FlowOptionsWithSchema<S extends z.ZodType, R> extends FlowBaseOptions<R> {
  /** Validates and coerces parameters before any task runs. */
  params: S;
  run: (params: z.output<S>, ctx: FlowContext) => R | Promise<R>;
}

/**
 * Options of `flow()` without a schema: parameters are passed through as given.
 *
 * @example
 * ```ts
 * const options: FlowOptions<{ n: number }, number> = { name: "f", run: async ({ n }) => n * 2 };
 * ```
 */
export interface FlowOptions<P, R> extends FlowBaseOptions<R> {
  params?: undefined;
  run: (params: P, ctx: FlowContext) => R | Promise<R>;
}

/**
 * A flow handle. `.run(params)` runs it and resolves to the {@link FlowRun} whatever its outcome;
 * calling it (`await etl(params)`) runs it as a subflow inside another flow (or on its own outside
 * one) and resolves to the result or rejects with `FlowRunFailedError`.
 *
 * @example
 * ```ts
 * const run = await etl.run({ day: "2026-11-01" });
 * console.log(run.state.name, run.result);
 * ```
 */
export interface Flow<P, R> {
  (params: P): Promise<R>;
  readonly kind: "flow";
  readonly name: string;
  readonly options: Readonly<FlowBaseOptions<R> & { params?: z.ZodType }>;
  /** The file the flow was defined in (absolute), when it could be told from the call stack. */
  readonly sourceFile: string | undefined;
  run(params: P, options?: RunOptions): Promise<FlowRun<R>>;
}

/** A flow of any parameters and result. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFlow = Flow<any, unknown>;

const HOOKS = ["run", "retryIf", "onCompletion", "onFailure", "onCancellation"] as const;

/**
 * Defines a flow: an async function that calls tasks and subflows, run with validated parameters,
 * retries that resume from the journal, a timeout, and concurrency limits.
 *
 * @example
 * ```ts
 * import { flow, task } from "aloft";
 * import { z } from "zod";
 *
 * const add = task({ name: "add", run: async (a: number, b: number) => a + b });
 * export const etl = flow({
 *   name: "etl",
 *   params: z.object({ day: z.string(), limit: z.coerce.number().default(10) }),
 *   run: async ({ day, limit }, ctx) => {
 *     ctx.log.info("starting", { day });
 *     return { rows: await add(limit, 1) };
 *   },
 * });
 * const run = await etl.run({ day: "2026-11-01" }); // run.result → { rows: 11 }
 * ```
 */
export function flow<S extends z.ZodType, R>(options: FlowOptionsWithSchema<S, R>): Flow<z.input<S>, Awaited<R>>;
export function flow<P = void, R = unknown>(options: FlowOptions<P, R>): Flow<P, Awaited<R>>;
export function flow(options: FlowOptions<unknown, unknown> | FlowOptionsWithSchema<z.ZodType, unknown>): AnyFlow {
  if (typeof options !== "object" || options === null) throw new TypeError("flow() takes an options object");
  const problems = [...checkName(options.name), ...checkFunctions(options, HOOKS, ["run"]), ...checkRetryOptions(options), ...checkTags(options.tags)];
  const { params, taskConcurrency, version } = options;
  if (params !== undefined && typeof (params as { safeParse?: unknown }).safeParse !== "function") {
    problems.push("params must be a zod schema (something with safeParse)");
  }
  if (taskConcurrency !== undefined && !(Number.isInteger(taskConcurrency) && taskConcurrency >= 1)) {
    problems.push(`taskConcurrency must be a whole number ≥ 1 (got ${String(taskConcurrency)})`);
  }
  if (version !== undefined && typeof version !== "string") problems.push("version must be a string");
  throwIfProblems(`flow "${typeof options.name === "string" ? options.name : "?"}"`, problems);

  const spec: FlowSpec = {
    name: options.name,
    run: options.run as FlowSpec["run"],
    retries: options.retries ?? 0,
    tags: [...(options.tags ?? [])],
    ...timeoutOf(options.timeout),
  };
  if (params) spec.params = params as unknown as NonNullable<FlowSpec["params"]>;
  if (options.retryDelay !== undefined) spec.retryDelay = options.retryDelay;
  if (options.retryJitter !== undefined) spec.retryJitter = options.retryJitter;
  if (options.retryIf) spec.retryIf = options.retryIf;
  if (taskConcurrency !== undefined) spec.taskConcurrency = taskConcurrency;
  if (options.onCompletion) spec.onCompletion = options.onCompletion as FlowSpec["onCompletion"];
  if (options.onFailure) spec.onFailure = options.onFailure as FlowSpec["onFailure"];
  if (options.onCancellation) spec.onCancellation = options.onCancellation as FlowSpec["onCancellation"];

  // While the compiler traces a flow, a subflow call records a state instead of running.
  const handle = ((params: unknown) => activeTrace()?.callFlow(handle, params) ?? callFlow(spec, params)) as unknown as AnyFlow;
  Object.defineProperties(handle, {
    name: { value: options.name },
    kind: { value: "flow", enumerable: true },
    options: { value: Object.freeze({ ...options }), enumerable: true },
    run: { value: (params: unknown, runOptions?: RunOptions) => runFlow(spec, params, runOptions) },
    sourceFile: { value: callerFile(), enumerable: true },
  });
  registerFlow(handle);
  return handle;
}
