import { randomUUID } from "node:crypto";
import {
  Abort,
  AloftError,
  CancelledError,
  NotSerializableError,
  TaskRunFailedError,
  TimedOutError,
  messageOf,
} from "../model/errors.js";
import { formatMs } from "../model/duration.js";
import type { TaskRunSummary } from "../model/runs.js";
import { assertJsonValue } from "../model/serializable.js";
import { isTerminal, makeState, type StateName } from "../model/states.js";
import type { RetryOptions } from "../definitions/options.js";
import { engineDefaults, runScopes, type EngineServices, type FlowScope, type RunScope } from "./context.js";
import { hashValue } from "./hash.js";
import type { Limiter } from "./limiter.js";
import { emitLog } from "./logging.js";
import { retryDelayMs, shouldRetry } from "./retryPolicy.js";

/**
 * A task definition in the form the engine runs: options checked and durations converted once.
 * @internal
 */
export interface TaskSpec extends RetryOptions {
  name: string;
  run: (...args: never[]) => unknown;
  retryIf?: (error: unknown, attempt: number) => boolean | Promise<boolean>;
  timeoutMs?: number;
  cache?: {
    key: "inputs" | ((...args: never[]) => string);
    expiresInMs?: number;
    refresh: boolean;
  };
  tags: readonly string[];
  runName?: (...args: never[]) => string;
  onCompletion?: (info: TaskRunSummary) => unknown;
  onFailure?: (info: TaskRunSummary, error: unknown) => unknown;
  /** A hash of the task's code, so a changed task misses its old cache entries. */
  codeHash: string;
}

/**
 * Runs one task call: journal replay, cache, concurrency slots, attempts with timeout and retries,
 * hooks. Resolves to the result or rejects with {@link TaskRunFailedError}.
 * @internal
 */
export async function callTask(spec: TaskSpec, args: unknown[], mapIndex?: number): Promise<unknown> {
  const scope = runScopes.getStore();
  const flow = scope?.flow;
  if (flow?.signal.aborted) throw flow.signal.reason;

  let journalKey: string | undefined;
  if (flow?.journal) {
    journalKey = flow.journal.keyFor("task", spec.name, args);
    const replay = flow.journal.lookup(journalKey);
    if (replay.hit) return replay.value;
  }

  const services = flow?.services ?? engineDefaults();
  const taskRun = createTaskRun(spec, args, flow, services, mapIndex);
  const outcome = await execute(spec, args, taskRun, flow, services, scope?.task !== undefined);

  if (outcome.ok) {
    if (journalKey !== undefined) await flow!.journal!.record(journalKey, outcome.value);
    await runHook(spec.onCompletion, [taskRun], "onCompletion", flow, taskRun);
    return outcome.value;
  }
  if (taskRun.state.type === "FAILED") await runHook(spec.onFailure, [taskRun, outcome.error], "onFailure", flow, taskRun);
  throw new TaskRunFailedError(spec.name, taskRun.id, taskRun.state.name, outcome.error, flow?.run.id);
}

function createTaskRun(
  spec: TaskSpec,
  args: unknown[],
  flow: FlowScope | undefined,
  services: EngineServices,
  mapIndex: number | undefined,
  identity?: { id: string; name: string },
): TaskRunSummary {
  const now = services.clock.now();
  const id = identity?.id ?? randomUUID();
  let name: string;
  if (spec.runName) name = String((spec.runName as (...a: unknown[]) => unknown)(...args));
  else if (identity) name = identity.name;
  else if (flow) {
    const count = flow.nameCounters.get(spec.name) ?? 0;
    flow.nameCounters.set(spec.name, count + 1);
    name = `${spec.name}-${count}`;
  } else name = `${spec.name}-${id.slice(0, 8)}`;
  const state = makeState("Pending", now);
  const taskRun: TaskRunSummary = { id, taskName: spec.name, name, state, attempts: 0, startTime: state.timestamp };
  if (flow) {
    taskRun.flowRunId = flow.run.id;
    flow.run.taskRuns.push(taskRun);
  }
  if (mapIndex !== undefined) taskRun.mapIndex = mapIndex;
  if (spec.tags.length > 0) taskRun.tags = [...spec.tags];
  services.recorder.taskRunCreated?.(taskRun);
  services.recorder.taskRunStateChanged?.(taskRun, state);
  return taskRun;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown; retry?: boolean };

/**
 * What one attempt run by {@link callTaskAttempt} came to: the result, or the error and whether the
 * task's retry policy wants another attempt.
 * @internal
 */
export type AttemptOutcome = { ok: true; value: unknown } | { ok: false; error: unknown; retry: boolean };

/**
 * Runs ONE attempt of a task call whose retries another orchestrator schedules (a Step Functions
 * Task state's Retry): cache, timeout, reporting and `onCompletion` as {@link callTask}, under the
 * task run `identity` (every attempt of one call reports to the same task run). A failed attempt
 * that the policy would retry ends AwaitingRetry and answers `retry: true`; `onFailure` is left to
 * the caller (it runs once, after the last attempt).
 * @internal
 */
export async function callTaskAttempt(
  spec: TaskSpec,
  args: unknown[],
  invocation: { attempt: number; id: string; name: string; mapIndex?: number },
): Promise<AttemptOutcome> {
  const flow = runScopes.getStore()?.flow;
  const services = flow?.services ?? engineDefaults();
  // Each attempt announces the task run again: creation is idempotent on its id, so an attempt
  // whose predecessor never reported (its Lambda crashed) still finds the task run.
  const taskRun = createTaskRun(spec, args, flow, services, invocation.mapIndex, { id: invocation.id, name: invocation.name });
  const outcome = await execute(spec, args, taskRun, flow, services, false, invocation.attempt);
  if (outcome.ok) {
    await runHook(spec.onCompletion, [taskRun], "onCompletion", flow, taskRun);
    return outcome;
  }
  return { ok: false, error: outcome.error, retry: outcome.retry === true };
}

async function execute(
  spec: TaskSpec,
  args: unknown[],
  taskRun: TaskRunSummary,
  flow: FlowScope | undefined,
  services: EngineServices,
  nested: boolean,
  onlyAttempt?: number,
): Promise<Outcome> {
  const { clock, recorder } = services;
  const setState = (name: StateName, message?: string) => {
    const state = makeState(name, clock.now(), message);
    taskRun.state = state;
    if (isTerminal(state.type)) {
      taskRun.endTime = state.timestamp;
    }
    recorder.taskRunStateChanged?.(taskRun, state);
  };

  let cacheKey: string | undefined;
  if (spec.cache) {
    try {
      cacheKey = cacheKeyOf(spec, args);
      if (!spec.cache.refresh) {
        const entry = await services.cache.get(cacheKey);
        if (entry && (entry.expiresAt === undefined || entry.expiresAt > clock.now())) {
          setState("Cached", `cached result from ${new Date(entry.createdAt).toISOString()}`);
          return { ok: true, value: entry.value };
        }
      }
    } catch (error) {
      emitLog("warn", `cache lookup failed, running the task: ${messageOf(error)}`, undefined, flow, undefined);
    }
  }

  const limiters = nested || !flow ? [] : slotsFor(spec, flow);
  if (limiters === undefined) {
    const error = new Abort(`a concurrency limit of 0 is set for tag(s) ${spec.tags.filter((t) => flow?.tagLimiters.get(t)?.limit === 0).join(", ")}`);
    setState("Failed", error.message);
    return { ok: false, error };
  }

  for (let attempt = onlyAttempt ?? 1; ; attempt++) {
    try {
      for (const limiter of limiters) if (!limiter.tryAcquire()) await limiter.acquire(flow?.signal);
    } catch (error) {
      setState("Cancelled", messageOf(error));
      return { ok: false, error };
    }
    taskRun.attempts = attempt;
    setState(attempt === 1 ? "Running" : "Retrying");
    let failure: unknown;
    try {
      const value = await runAttempt(spec, args, taskRun, attempt, flow, services);
      assertJsonValue(value, `the result of task "${spec.name}"`);
      release(limiters);
      if (cacheKey !== undefined) {
        const entry = { key: cacheKey, value, createdAt: clock.now() } as { key: string; value: unknown; createdAt: number; expiresAt?: number };
        if (spec.cache!.expiresInMs !== undefined) entry.expiresAt = entry.createdAt + spec.cache!.expiresInMs;
        try {
          await services.cache.put(entry);
        } catch (error) {
          emitLog("warn", `could not cache the result: ${messageOf(error)}`, undefined, flow, undefined);
        }
      }
      setState("Completed");
      return { ok: true, value };
    } catch (error) {
      release(limiters);
      failure = error;
    }

    if (flow?.signal.aborted || failure instanceof CancelledError) {
      setState("Cancelled", messageOf(failure));
      return { ok: false, error: failure };
    }
    const retry = !(failure instanceof NotSerializableError) && (await decideRetry(spec, failure, attempt, flow));
    if (!retry) {
      setState(failure instanceof TimedOutError ? "TimedOut" : "Failed", messageOf(failure));
      return { ok: false, error: failure };
    }
    let delay: number;
    try {
      delay = retryDelayMs(spec, attempt);
    } catch (error) {
      setState("Failed", messageOf(error));
      return { ok: false, error };
    }
    setState("AwaitingRetry", `attempt ${attempt} failed: ${messageOf(failure)}; retrying in ${formatMs(delay)}`);
    if (onlyAttempt !== undefined) return { ok: false, error: failure, retry: true };
    try {
      await clock.sleep(delay, flow?.signal);
    } catch (error) {
      setState("Cancelled", messageOf(error));
      return { ok: false, error };
    }
  }
}

async function decideRetry(
  spec: TaskSpec,
  failure: unknown,
  attempt: number,
  flow: FlowScope | undefined,
): Promise<boolean> {
  try {
    return await shouldRetry(spec, failure, attempt);
  } catch (error) {
    emitLog("error", `retryIf of task "${spec.name}" threw, not retrying: ${messageOf(error)}`, undefined, flow, undefined);
    return false;
  }
}

/** One attempt: the task's function under its own context and abort signal, raced against its timeout. */
function runAttempt(
  spec: TaskSpec,
  args: unknown[],
  taskRun: TaskRunSummary,
  attempt: number,
  flow: FlowScope | undefined,
  services: EngineServices,
): Promise<unknown> {
  const controller = new AbortController();
  const parentSignal = flow?.signal;
  const scope: RunScope = { flow, task: { taskRun, signal: controller.signal, attempt } };
  const work = runScopes.run(scope, invoke, spec.run as (...a: unknown[]) => unknown, args);
  if (spec.timeoutMs === undefined && !parentSignal) return work;

  return new Promise((resolve, reject) => {
    let cancelTimer: (() => void) | undefined;
    const onParentAbort = () => {
      cancelTimer?.();
      controller.abort(parentSignal!.reason);
      reject(parentSignal!.reason);
    };
    const settle = () => {
      cancelTimer?.();
      parentSignal?.removeEventListener("abort", onParentAbort);
    };
    if (spec.timeoutMs !== undefined) {
      cancelTimer = services.clock.setTimer(spec.timeoutMs, () => {
        parentSignal?.removeEventListener("abort", onParentAbort);
        const error = new TimedOutError(`task run ${taskRun.name} exceeded its timeout of ${formatMs(spec.timeoutMs!)}`, {
          taskRunId: taskRun.id,
          ...(flow ? { runId: flow.run.id } : {}),
        });
        controller.abort(error);
        reject(error);
      });
    }
    parentSignal?.addEventListener("abort", onParentAbort, { once: true });
    work.then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}

async function invoke(fn: (...args: unknown[]) => unknown, args: unknown[]): Promise<unknown> {
  return fn(...args);
}

function cacheKeyOf(spec: TaskSpec, args: unknown[]): string {
  const key = spec.cache!.key;
  const inputs = key === "inputs" ? hashValue(args) : String((key as (...a: unknown[]) => unknown)(...args));
  return `task:${spec.name}:${spec.codeHash}:${inputs}`;
}

/** The limiters a task run must hold, or undefined when a tag's limit is 0 (the call aborts). */
function slotsFor(spec: TaskSpec, flow: FlowScope): Limiter[] | undefined {
  const limiters = [...flow.limiters];
  for (const tag of [...spec.tags].sort()) {
    const limiter = flow.tagLimiters.get(tag);
    if (!limiter) continue;
    if (limiter.limit === 0) return undefined;
    limiters.push(limiter);
  }
  return limiters;
}

function release(limiters: readonly Limiter[]): void {
  for (let i = limiters.length - 1; i >= 0; i--) limiters[i]!.release();
}

async function runHook(
  hook: ((...args: never[]) => unknown) | undefined,
  args: unknown[],
  label: string,
  flow: FlowScope | undefined,
  taskRun: TaskRunSummary,
): Promise<void> {
  if (!hook) return;
  try {
    await (hook as (...a: unknown[]) => unknown)(...args);
  } catch (error) {
    const message = `${label} hook of task run ${taskRun.name} threw: ${messageOf(error)}`;
    emitLog("error", message, error instanceof AloftError ? { code: error.code } : undefined, flow, undefined);
  }
}
