import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import {
  CancelledError,
  InvalidOptionsError,
  FlowRunFailedError,
  InvalidParametersError,
  TimedOutError,
  messageOf,
  toErrorInfo,
} from "../model/errors.js";
import { durationToMs, formatMs, type Duration } from "../model/duration.js";
import type { FlowRun } from "../model/runs.js";
import { assertJsonValue } from "../model/serializable.js";
import { isTerminal, makeState, type StateName } from "../model/states.js";
import type { RetryOptions } from "../definitions/options.js";
import type { CacheStore } from "./cache.js";
import type { Clock } from "./clock.js";
import { engineDefaults, runScopes, type EngineServices, type FlowScope } from "./context.js";
import { AttemptJournal, MemoryJournal, type Journal } from "./journal.js";
import { Limiter } from "./limiter.js";
import { emitLog, scopedArtifacts, scopedLogger, type Artifacts, type Logger } from "./logging.js";
import { combineRecorders, type Recorder } from "./recorder.js";
import { retryDelayMs, shouldRetry } from "./retryPolicy.js";

/**
 * What a flow's `run` function receives besides its parameters.
 *
 * @example
 * ```ts
 * flow({ name: "report", run: async (_params, ctx) => {
 *   ctx.log.info("run", { id: ctx.runId, attempt: ctx.attempt });
 *   ctx.artifact.markdown("summary", "# all good");
 * }});
 * ```
 */
export interface FlowContext {
  runId: string;
  runName: string;
  flowName: string;
  /** 1 for the first attempt, 2 for the first flow retry, … */
  attempt: number;
  parentRunId: string | undefined;
  log: Logger;
  /** Aborts when the run is cancelled, times out, or this attempt is abandoned. */
  signal: AbortSignal;
  artifact: Artifacts;
}

/**
 * Options for one flow run.
 *
 * @example
 * ```ts
 * await etl.run({ day: "2026-11-01" }, { concurrencyLimits: { warehouse: 2 }, tags: ["backfill"] });
 * ```
 */
export interface RunOptions {
  /** Tag → the most task runs with that tag in flight at once across the run (subflows included). 0 aborts such tasks. */
  concurrencyLimits?: Record<string, number>;
  /** Aborting it cancels the run: it ends CANCELLED. */
  signal?: AbortSignal;
  /** Use this id instead of a new one (the control plane assigns ids to deployment runs). */
  runId?: string;
  tags?: string[];
  /** Reports the run (in addition to the default recorder unless `replaceRecorder`). */
  recorder?: Recorder;
  /** Use `recorder` instead of the default one (which prints logs), not beside it. */
  replaceRecorder?: boolean;
  clock?: Clock;
  cache?: CacheStore;
  /**
   * Where completed calls are journaled. Default: an in-memory journal when the flow has retries
   * (so a retry resumes), none otherwise. The control plane supplies a durable one.
   */
  journal?: Journal;
}

/**
 * A flow definition in the form the engine runs.
 * @internal
 */
export interface FlowSpec extends RetryOptions {
  name: string;
  run: (params: never, ctx: FlowContext) => unknown;
  params?: { safeParse(value: unknown): { success: true; data: unknown } | { success: false; error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> } } };
  retryIf?: (error: unknown, attempt: number) => boolean | Promise<boolean>;
  timeoutMs?: number;
  timeoutLabel?: string;
  tags: readonly string[];
  taskConcurrency?: number;
  onCompletion?: (run: FlowRun) => unknown;
  onFailure?: (run: FlowRun, error: unknown) => unknown;
  onCancellation?: (run: FlowRun) => unknown;
}

/** The error that ended each failed run, for `callFlow` to reject with as the cause. */
const failures = new WeakMap<FlowRun, unknown>();

/**
 * Runs a flow to a final state and returns the run; never rejects because the flow failed.
 * @internal
 */
export async function runFlow(spec: FlowSpec, params: unknown, options: RunOptions = {}, parent?: FlowScope): Promise<FlowRun> {
  const tagLimiters = parent?.tagLimiters ?? buildTagLimiters(options.concurrencyLimits);
  const services = parent?.services ?? resolveServices(options);
  const run = await executeRun(spec, params, options, parent, services, tagLimiters);
  if (!parent) await services.recorder.flush?.();
  return run;
}

async function executeRun(
  spec: FlowSpec,
  params: unknown,
  options: RunOptions,
  parent: FlowScope | undefined,
  services: EngineServices,
  tagLimiters: ReadonlyMap<string, Limiter>,
): Promise<FlowRun> {
  const { clock, recorder } = services;
  const id = options.runId ?? randomUUID();
  const startState = makeState("Pending", clock.now());
  const run: FlowRun = {
    id,
    flowName: spec.name,
    name: `${spec.name}-${id.slice(0, 8)}`,
    parameters: params,
    state: startState,
    taskRuns: [],
    attempts: 0,
    startTime: startState.timestamp,
    tags: [...new Set([...spec.tags, ...(options.tags ?? [])])],
  };
  if (parent) run.parentRunId = parent.run.id;
  recorder.flowRunCreated?.(run);
  recorder.flowRunStateChanged?.(run, startState);
  const setState = (name: StateName, message?: string) => {
    const state = makeState(name, clock.now(), message);
    run.state = state;
    if (isTerminal(state.type)) {
      run.endTime = state.timestamp;
    }
    recorder.flowRunStateChanged?.(run, state);
  };
  const hook = async (name: "onCompletion" | "onFailure" | "onCancellation", ...args: unknown[]) => {
    const fn = spec[name] as ((...a: unknown[]) => unknown) | undefined;
    if (!fn) return;
    try {
      await fn(run, ...args);
    } catch (error) {
      emitLog("error", `${name} hook of flow run ${run.name} threw: ${messageOf(error)}`, undefined, undefined, undefined);
    }
  };

  let validated: unknown = params;
  if (spec.params) {
    const parsed = spec.params.safeParse(params === undefined ? {} : params);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
      const error = new InvalidParametersError(spec.name, issues, id);
      run.error = toErrorInfo(error);
      failures.set(run, error);
      setState("InvalidParameters", error.message);
      await hook("onFailure", error);
      return run;
    }
    validated = parsed.data;
  }
  run.parameters = validated;

  // The run's signal: aborted by the caller's signal or the parent's cancellation.
  const runController = new AbortController();
  // Every task run in flight listens to its flow's signal; there can be thousands.
  setMaxListeners(0, runController.signal);
  const unlink = linkSignals(runController, [options.signal, parent?.signal]);
  const journal = options.journal ?? (parent ? undefined : (services.journal ?? ((spec.retries ?? 0) > 0 ? new MemoryJournal() : undefined)));
  let completed: Map<string, unknown> | undefined;
  try {
    completed = journal ? await journal.load(id) : undefined;
  } catch (error) {
    // Without its journal the run cannot resume safely; it fails rather than redo recorded work.
    unlink();
    const failure = new Error(`could not load the journal of flow run ${run.name}: ${messageOf(error)}`, { cause: error });
    run.error = toErrorInfo(failure);
    failures.set(run, failure);
    setState("Failed", failure.message);
    await hook("onFailure", failure);
    return run;
  }
  const limiters = [...(parent?.limiters ?? [])];
  if (spec.taskConcurrency !== undefined) limiters.push(new Limiter("taskConcurrency", spec.taskConcurrency));
  const nameCounters = new Map<string, number>();

  try {
    for (let attempt = 1; ; attempt++) {
      run.attempts = attempt;
      setState(attempt === 1 ? "Running" : "Retrying");
      const attemptController = new AbortController();
      setMaxListeners(0, attemptController.signal);
      const unlinkAttempt = linkSignals(attemptController, [runController.signal]);
      const scope: FlowScope = {
        run,
        services,
        signal: attemptController.signal,
        attempt,
        limiters,
        tagLimiters,
        journal: journal ? new AttemptJournal(journal, id, completed!) : undefined,
        nameCounters,
        parent,
      };
      const ctx: FlowContext = {
        runId: id,
        runName: run.name,
        flowName: spec.name,
        attempt,
        parentRunId: parent?.run.id,
        log: scopedLogger(scope, undefined),
        signal: attemptController.signal,
        artifact: scopedArtifacts(scope),
      };
      let failure: unknown;
      try {
        const result = await raceAttempt(
          runScopes.run({ flow: scope, task: undefined }, invokeFlow, spec, validated, ctx),
          spec,
          run,
          attemptController,
          runController.signal,
          services,
        );
        assertJsonValue(result, `the result of flow "${spec.name}"`);
        if (result !== undefined) run.result = result;
        delete run.error;
        setState("Completed");
        await hook("onCompletion");
        return run;
      } catch (error) {
        failure = error;
        attemptController.abort(new CancelledError(`attempt ${attempt} of flow run ${run.name} ended`));
      } finally {
        unlinkAttempt();
      }

      run.error = toErrorInfo(failure);
      failures.set(run, failure);
      if (runController.signal.aborted) {
        setState("Cancelled", messageOf(runController.signal.reason));
        await hook("onCancellation");
        return run;
      }
      let retry = false;
      try {
        retry = await shouldRetry(spec, failure, attempt);
      } catch (error) {
        emitLog("error", `retryIf of flow "${spec.name}" threw, not retrying: ${messageOf(error)}`, undefined, scope, undefined);
      }
      if (!retry) {
        setState(failure instanceof TimedOutError ? "TimedOut" : "Failed", messageOf(failure));
        await hook("onFailure", failure);
        return run;
      }
      const delay = retryDelayMs(spec, attempt);
      setState("AwaitingRetry", `attempt ${attempt} failed: ${messageOf(failure)}; retrying in ${formatMs(delay)}`);
      try {
        await clock.sleep(delay, runController.signal);
      } catch {
        setState("Cancelled", messageOf(runController.signal.reason));
        await hook("onCancellation");
        return run;
      }
    }
  } finally {
    unlink();
  }
}

/**
 * Runs a flow as a call: inside a flow it is a subflow (a child run), and in every case it resolves
 * to the result or rejects with {@link FlowRunFailedError}.
 * @internal
 */
export async function callFlow(spec: FlowSpec, params: unknown): Promise<unknown> {
  const parent = runScopes.getStore()?.flow;
  if (parent?.signal.aborted) throw parent.signal.reason;
  let journalKey: string | undefined;
  if (parent?.journal) {
    journalKey = parent.journal.keyFor("flow", spec.name, params);
    const replay = parent.journal.lookup(journalKey);
    if (replay.hit) return replay.value;
  }
  const run = await runFlow(spec, params, {}, parent);
  if (run.state.type !== "COMPLETED") {
    const cause = failures.get(run) ?? new Error(run.state.message ?? run.state.name);
    throw new FlowRunFailedError(spec.name, run.id, run.state.name, cause);
  }
  if (journalKey !== undefined) await parent!.journal!.record(journalKey, run.result);
  return run.result;
}

function resolveServices(options: RunOptions): EngineServices {
  const defaults = engineDefaults();
  const named = options.recorder ? (options.replaceRecorder ? options.recorder : combineRecorders(defaults.recorder, options.recorder)) : defaults.recorder;
  return {
    clock: options.clock ?? defaults.clock,
    cache: options.cache ?? defaults.cache,
    ...(defaults.journal ? { journal: defaults.journal } : {}),
    recorder: defaults.telemetry ? combineRecorders(named, defaults.telemetry) : named,
  };
}

function invokeFlow(spec: FlowSpec, params: unknown, ctx: FlowContext): Promise<unknown> {
  return (async () => (spec.run as (p: unknown, c: FlowContext) => unknown)(params, ctx))();
}

function raceAttempt(
  work: Promise<unknown>,
  spec: FlowSpec,
  run: FlowRun,
  attemptController: AbortController,
  runSignal: AbortSignal,
  services: EngineServices,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let cancelTimer: (() => void) | undefined;
    const onCancel = () => {
      cancelTimer?.();
      reject(runSignal.reason);
    };
    if (spec.timeoutMs !== undefined) {
      cancelTimer = services.clock.setTimer(spec.timeoutMs, () => {
        runSignal.removeEventListener("abort", onCancel);
        const error = new TimedOutError(`flow run ${run.name} exceeded its timeout of ${spec.timeoutLabel ?? formatMs(spec.timeoutMs!)}`, { runId: run.id });
        attemptController.abort(error);
        reject(error);
      });
    }
    if (runSignal.aborted) onCancel();
    else runSignal.addEventListener("abort", onCancel, { once: true });
    work.then(
      (value) => {
        cancelTimer?.();
        runSignal.removeEventListener("abort", onCancel);
        resolve(value);
      },
      (error: unknown) => {
        cancelTimer?.();
        runSignal.removeEventListener("abort", onCancel);
        reject(error);
      },
    );
  });
}

function linkSignals(controller: AbortController, signals: ReadonlyArray<AbortSignal | undefined>): () => void {
  const undo: Array<() => void> = [];
  for (const signal of signals) {
    if (!signal) continue;
    const reason = () => (signal.reason instanceof Error ? signal.reason : new CancelledError(`cancelled: ${messageOf(signal.reason)}`));
    if (signal.aborted) {
      controller.abort(reason());
      continue;
    }
    const onAbort = () => controller.abort(reason());
    signal.addEventListener("abort", onAbort, { once: true });
    undo.push(() => signal.removeEventListener("abort", onAbort));
  }
  return () => undo.forEach((fn) => fn());
}

function buildTagLimiters(limits: Record<string, number> | undefined): Map<string, Limiter> {
  const limiters = new Map<string, Limiter>();
  for (const [tag, limit] of Object.entries(limits ?? {})) {
    if (!(Number.isInteger(limit) && limit >= 0)) {
      throw new InvalidOptionsError("run options", [`concurrencyLimits.${tag} must be a whole number ≥ 0 (got ${String(limit)})`]);
    }
    limiters.set(tag, new Limiter(`tag:${tag}`, limit));
  }
  return limiters;
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((part, index) => (typeof part === "number" ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`)).join("");
}

/** @internal */
export function timeoutOf(timeout: Duration | undefined): { timeoutMs?: number; timeoutLabel?: string } {
  if (timeout === undefined) return {};
  return { timeoutMs: durationToMs(timeout)!, timeoutLabel: typeof timeout === "number" ? `${timeout}s` : timeout };
}
