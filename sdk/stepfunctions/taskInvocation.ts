import { createHash, randomUUID } from "node:crypto";
import type { ControlPlaneCalls } from "../api/controlPlaneLink.js";
import { ControlPlaneLink } from "../api/controlPlaneLink.js";
import type { AnyFlow } from "../definitions/flow.js";
import { findFlow as findRegisteredFlow, findTask as findRegisteredTask } from "../definitions/registry.js";
import { taskSpecOf, type AnyTask } from "../definitions/task.js";
import type { CacheStore } from "../engine/cache.js";
import type { Clock } from "../engine/clock.js";
import { engineDefaults, runScopes, type EngineServices, type FlowScope } from "../engine/context.js";
import { hashValue } from "../engine/hash.js";
import { emitLog } from "../engine/logging.js";
import { combineRecorders, type Recorder } from "../engine/recorder.js";
import { isAbort } from "../engine/retryPolicy.js";
import { callTaskAttempt } from "../engine/taskRunner.js";
import { Abort, InvalidParametersError, messageOf, NotSerializableError, TimedOutError } from "../model/errors.js";
import { keySegment } from "../model/keySegment.js";
import type { FlowRun, TaskRunSummary } from "../model/runs.js";
import { makeState } from "../model/states.js";
import {
  ASL_ERRORS,
  isAloftRef,
  StepFunctionsInvocationSchema,
  StepFunctionsTaskError,
  type AloftRef,
  type ApprovalInvocationSchema,
  type HookInvocationSchema,
  type ParamsInvocationSchema,
  type ResultInvocationSchema,
  type TaskInvocationSchema,
} from "./invocations.js";
import type * as z from "zod";

/** Results whose JSON is over this many bytes are stored by reference (a state's data is limited to 256 KiB). */
export const RESULT_INLINE_LIMIT_BYTES = 256 * 1024;

/**
 * Where results too large for the state machine go (S3 on AWS, a folder or memory locally). The
 * control plane's `PayloadStore` is one.
 *
 * @example
 * ```ts
 * const payloads: ResultPayloads = { put: async (key, json) => map.set(key, json), get: async (key) => map.get(key)! };
 * ```
 */
export interface ResultPayloads {
  put(key: string, json: string): Promise<void>;
  get(key: string): Promise<string>;
}

/**
 * The control plane as the task Lambda sees it: the calls a {@link ControlPlaneLink} makes (task runs,
 * states, logs) and the one that suspends a run for approval with its task token.
 *
 * @example
 * ```ts
 * const controlPlane: StepFunctionsControlPlane = { ...inProcessCalls(services), awaitApproval: (id, request) => services.flowRuns.awaitApproval(id, request) };
 * ```
 */
export interface StepFunctionsControlPlane extends ControlPlaneCalls {
  /** Moves the run to PAUSED "Suspended", keeping `taskToken` with it for resume to complete. */
  awaitApproval(runId: string, request: { taskToken: string; stateName?: string; timeoutSeconds?: number; executionArn?: string }): Promise<unknown>;
}

/**
 * What an invocation runs with. Every field is optional: tasks are found in the process's registry,
 * reports go to the process's default recorder, and large results need `payloads`.
 *
 * @example
 * ```ts
 * const deps: InvocationDeps = { exports: await import("./flows/etl.js"), controlPlane, payloads };
 * ```
 */
export interface InvocationDeps {
  /** A module's exports to find tasks in (by their name); the registry of defined tasks otherwise. */
  exports?: Record<string, unknown>;
  controlPlane?: StepFunctionsControlPlane;
  payloads?: ResultPayloads;
  cache?: CacheStore;
  clock?: Clock;
  /** Also receives every report (tests, the CLI). */
  recorder?: Recorder;
}

/**
 * Runs what a compiled state machine asks of the task Lambda: one attempt of a task
 * (`aloft.task`), a task's `onFailure` hook (`aloft.hook`), or suspending the run for approval
 * (`aloft.approval`). A task attempt runs with the engine's caching, timeout and reporting (its task
 * run, keyed by the execution's flow run id and the state, is recorded in the control plane when one
 * is given); `$aloftRef` arguments are read back and a result over {@link RESULT_INLINE_LIMIT_BYTES}
 * is stored by reference. Failures reject with a {@link StepFunctionsTaskError} named for the
 * state's Retry and Catch.
 *
 * @example
 * ```ts
 * const result = await runStepFunctionsInvocation(
 *   { kind: "aloft.task", flowName: "etl", task: "extract", args: { "0": "s3://in" }, flowRunId: "4f8c…", attempt: 0 },
 *   { controlPlane, payloads },
 * );
 * ```
 */
export async function runStepFunctionsInvocation(payload: unknown, deps: InvocationDeps = {}): Promise<unknown> {
  const parsed = StepFunctionsInvocationSchema.safeParse(payload);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ");
    throw new StepFunctionsTaskError(ASL_ERRORS.invalidInvocation, `invalid task Lambda payload: ${problems}`);
  }
  const invocation = parsed.data;
  switch (invocation.kind) {
    case "aloft.task":
      return runTask(invocation, deps);
    case "aloft.hook":
      return runHook(invocation, deps);
    case "aloft.approval":
      return awaitApproval(invocation, deps);
    case "aloft.params":
      return parseParams(invocation, deps);
    case "aloft.result":
      return containerResult(invocation, deps);
  }
}

/**
 * The Fargate side of an `ecs:runTask.sync` state: runs the invocation the container was given
 * (`ALOFT_TASK_INVOCATION`, attempt `ALOFT_TASK_ATTEMPT`) and stores its result where the following
 * `aloft.result` state reads it. A failure rejects (the container exits non-zero: ECS reports no error name).
 *
 * @example
 * ```ts
 * await runContainerInvocation(JSON.parse(process.env.ALOFT_TASK_INVOCATION!), Number(process.env.ALOFT_TASK_ATTEMPT ?? 0), deps);
 * ```
 */
export async function runContainerInvocation(invocation: unknown, attempt: number, deps: InvocationDeps): Promise<void> {
  const parsed = StepFunctionsInvocationSchema.safeParse({ ...(invocation as object), attempt });
  if (!parsed.success || parsed.data.kind !== "aloft.task") {
    throw new StepFunctionsTaskError(ASL_ERRORS.invalidInvocation, `a Fargate task runs an "aloft.task" invocation, got ${JSON.stringify(invocation)?.slice(0, 200)}`);
  }
  if (!deps.payloads) throw new StepFunctionsTaskError(ASL_ERRORS.invalidInvocation, "a Fargate task needs a payload store to hand its result back");
  // Stored whatever its size: the result state reads it back (by reference when large).
  const value = await runTask(parsed.data, deps, Number.POSITIVE_INFINITY);
  await deps.payloads.put(containerResultKey(parsed.data), JSON.stringify(value ?? null));
}

async function runTask(invocation: z.output<typeof TaskInvocationSchema>, deps: InvocationDeps, inlineLimit = RESULT_INLINE_LIMIT_BYTES): Promise<unknown> {
  const task = lookUpTask(invocation.task, deps);
  const args = await resolveRefs(argsList(invocation.args), deps.payloads);
  const attempt = invocation.attempt + 1;
  const id = taskRunIdOf(invocation);
  const name = invocation.mapIndex === undefined ? (invocation.stateName ?? task.name) : `${task.name}-${invocation.mapIndex}`;
  const outcome = await withFlowScope(invocation, deps, () =>
    callTaskAttempt(taskSpecOf(task.options), args, { attempt, id, name, ...(invocation.mapIndex === undefined ? {} : { mapIndex: invocation.mapIndex }) }),
  );
  // A key of its own for every attempt: an attempt Step Functions gave up on can never replace the one it went on with.
  if (outcome.ok) return storeLarge(outcome.value, `runs/${keySegment(invocation.flowRunId)}/results/${keySegment(id)}/${randomUUID()}.json`, deps.payloads, inlineLimit);
  const { error, retry } = outcome;
  const message = messageOf(error);
  // Another attempt follows: the name the state's Retry matches, whatever the cause (its own timeout too).
  if (retry) throw new StepFunctionsTaskError(ASL_ERRORS.taskFailed, message, { cause: error });
  if (error instanceof TimedOutError) throw new StepFunctionsTaskError(ASL_ERRORS.timedOut, message, { cause: error });
  // The engine also says no when the task has no attempts left; only an Abort, a "no" from retryIf or
  // an unserializable result is final before the last attempt.
  const final = isAbort(error) || error instanceof NotSerializableError || attempt <= (task.options.retries ?? 0);
  throw new StepFunctionsTaskError(final ? ASL_ERRORS.abort : ASL_ERRORS.taskFailed, message, { cause: error });
}

async function parseParams(invocation: z.output<typeof ParamsInvocationSchema>, deps: InvocationDeps): Promise<unknown> {
  const flow = lookUpFlow(invocation.flowName, deps);
  const schema = flow.options.params;
  const params = invocation.params ?? {};
  if (!schema) return params;
  const parsed = schema.safeParse(params);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
  throw new StepFunctionsTaskError(ASL_ERRORS.invalidParameters, new InvalidParametersError(flow.name, issues, invocation.flowRunId).message);
}

async function containerResult(invocation: z.output<typeof ResultInvocationSchema>, deps: InvocationDeps): Promise<unknown> {
  if (!deps.payloads) throw new StepFunctionsTaskError(ASL_ERRORS.invalidInvocation, "the result of a Fargate task is read from the payload store, and none is configured");
  const key = containerResultKey(invocation);
  let json: string;
  try {
    json = await deps.payloads.get(key);
  } catch (error) {
    throw new StepFunctionsTaskError(ASL_ERRORS.taskFailed, `the Fargate task "${invocation.task}" stored no result (${key}): ${messageOf(error)}`);
  }
  if (Buffer.byteLength(json) <= RESULT_INLINE_LIMIT_BYTES) return JSON.parse(json) as unknown;
  const ref: AloftRef = { $aloftRef: key };
  return ref;
}

/** Where a Fargate task's result waits for its `aloft.result` state: both payloads name the run, the task and the map item. */
function containerResultKey(invocation: { flowRunId: string; task: string; mapIndex?: number | undefined }): string {
  return `runs/${keySegment(invocation.flowRunId)}/fargate/${keySegment(invocation.task)}/${invocation.mapIndex ?? "-"}.json`;
}

/** The keys Aloft stores results under (above): only a reference to one of them is read back. */
const RESULT_KEY = /^runs\/[A-Za-z0-9_.~-]+\/(results\/[A-Za-z0-9_.~-]+\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|fargate\/[A-Za-z0-9_.~-]+\/(\d+|-))\.json$/;

async function runHook(invocation: z.output<typeof HookInvocationSchema>, deps: InvocationDeps): Promise<null> {
  const task = lookUpTask(invocation.task, deps);
  const onFailure = task.options.onFailure;
  if (!onFailure) return null;
  const error = errorFromCatch(invocation.error);
  await withFlowScope(invocation, deps, async (scope) => {
    const state = makeState(error instanceof TimedOutError ? "TimedOut" : "Failed", scope.services.clock.now(), error.message);
    const summary: TaskRunSummary = {
      id: taskRunIdOf(invocation),
      taskName: task.name,
      name: invocation.stateName ?? task.name,
      state,
      attempts: 0,
      startTime: state.timestamp,
      endTime: state.timestamp,
      flowRunId: invocation.flowRunId,
    };
    if (invocation.mapIndex !== undefined) summary.mapIndex = invocation.mapIndex;
    try {
      await onFailure(summary, error);
    } catch (hookError) {
      emitLog("error", `onFailure hook of task "${task.name}" threw: ${messageOf(hookError)}`, undefined, scope, undefined);
    }
  });
  return null;
}

async function awaitApproval(invocation: z.output<typeof ApprovalInvocationSchema>, deps: InvocationDeps): Promise<null> {
  if (!deps.controlPlane) {
    throw new StepFunctionsTaskError(
      ASL_ERRORS.abort,
      `flow run ${invocation.flowRunId} waits for approval, but no control plane is configured to keep its task token until a resume`,
    );
  }
  await deps.controlPlane.awaitApproval(invocation.flowRunId, {
    taskToken: invocation.taskToken,
    ...(invocation.executionArn === undefined ? {} : { executionArn: invocation.executionArn }),
    ...(invocation.stateName === undefined ? {} : { stateName: invocation.stateName }),
    ...(invocation.timeoutSeconds === undefined ? {} : { timeoutSeconds: invocation.timeoutSeconds }),
  });
  return null;
}

/** Runs `work` inside a flow scope standing for the execution's flow run, reporting where `deps` say. */
async function withFlowScope<T>(
  invocation: { flowName: string; flowRunId: string },
  deps: InvocationDeps,
  work: (scope: FlowScope) => Promise<T>,
): Promise<T> {
  const defaults = engineDefaults();
  const link = deps.controlPlane ? new ControlPlaneLink(deps.controlPlane) : undefined;
  const services: EngineServices = {
    clock: deps.clock ?? defaults.clock,
    cache: deps.cache ?? defaults.cache,
    // Reports go to deps.controlPlane only: a control plane this process is connected to has no run of this execution.
    recorder: combineRecorders(defaults.recorder, link?.recorder, deps.recorder),
  };
  const now = services.clock.now();
  const run: FlowRun = {
    id: invocation.flowRunId,
    flowName: invocation.flowName,
    name: `${invocation.flowName}-${invocation.flowRunId.slice(0, 8)}`,
    parameters: undefined,
    state: makeState("Running", now),
    taskRuns: [],
    attempts: 1,
    startTime: new Date(now).toISOString(),
    tags: [],
  };
  const scope: FlowScope = {
    run,
    services,
    signal: new AbortController().signal,
    attempt: 1,
    limiters: [],
    tagLimiters: new Map(),
    journal: undefined,
    nameCounters: new Map(),
    parent: undefined,
  };
  try {
    return await runScopes.run({ flow: scope, task: undefined }, () => work(scope));
  } finally {
    await services.recorder.flush?.();
  }
}

function lookUpFlow(name: string, deps: InvocationDeps): AnyFlow {
  if (deps.exports) {
    const found = Object.values(deps.exports).filter((value): value is AnyFlow => typeof value === "function" && (value as { kind?: unknown }).kind === "flow" && (value as AnyFlow).name === name);
    if (found.length === 1) return found[0]!;
  }
  try {
    return findRegisteredFlow(name);
  } catch (error) {
    throw new StepFunctionsTaskError(ASL_ERRORS.invalidInvocation, messageOf(error));
  }
}

function lookUpTask(name: string, deps: InvocationDeps): AnyTask {
  if (deps.exports) {
    const found = Object.values(deps.exports).filter((value): value is AnyTask => typeof value === "function" && (value as { kind?: unknown }).kind === "task" && (value as AnyTask).name === name);
    if (found.length === 1) return found[0]!;
  }
  try {
    return findRegisteredTask(name);
  } catch (error) {
    throw new StepFunctionsTaskError(ASL_ERRORS.invalidInvocation, messageOf(error));
  }
}

/** `{ "0": a, "1": b }` → `[a, b]`. */
function argsList(args: Record<string, unknown>): unknown[] {
  const list: unknown[] = [];
  for (const [key, value] of Object.entries(args)) {
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0 || index > 1_000) {
      throw new StepFunctionsTaskError(ASL_ERRORS.invalidInvocation, `invalid task Lambda payload: args keys are argument positions ("0", "1", …), got "${key}"`);
    }
    list[index] = value;
  }
  return list;
}

/** Every task run of one state (and map item) of one execution gets the same id, whatever the attempt. */
function taskRunIdOf(invocation: { flowRunId: string; task: string; stateName?: string | undefined; mapIndex?: number | undefined; args: Record<string, unknown> }): string {
  const key = [invocation.flowRunId, invocation.stateName ?? invocation.task, invocation.mapIndex ?? "", hashValue(invocation.args)].join("\u0000");
  const hex = createHash("sha256").update(key).digest("hex");
  // A UUID (version 8, "custom") so that every store and API that takes task run ids takes it.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Reads back every `{ "$aloftRef": key }` in a value (results stored by reference). Only keys of
 * the shape Aloft stores results under are read: any other object with a `$aloftRef` is a user's
 * value and stays as it is.
 *
 * @example
 * ```ts
 * const args = await resolveRefs([{ $aloftRef: "runs/4f8c/fargate/load/-.json" }], payloads);
 * ```
 */
export async function resolveRefs<T>(value: T, payloads: ResultPayloads | undefined): Promise<T> {
  // A user's value that merely looks like a reference (any other key) stays the value it is.
  if (isAloftRef(value) && RESULT_KEY.test(value.$aloftRef)) {
    if (!payloads) throw new StepFunctionsTaskError(ASL_ERRORS.invalidInvocation, `a value is stored by reference (${value.$aloftRef}), but no payload store is configured to read it`);
    return JSON.parse(await payloads.get(value.$aloftRef)) as T;
  }
  if (Array.isArray(value)) return (await Promise.all(value.map((item) => resolveRefs(item, payloads)))) as T;
  if (typeof value === "object" && value !== null) {
    const entries = await Promise.all(Object.entries(value).map(async ([key, item]) => [key, await resolveRefs(item, payloads)] as const));
    return Object.fromEntries(entries) as T;
  }
  return value;
}

async function storeLarge(value: unknown, key: string, payloads: ResultPayloads | undefined, limit = RESULT_INLINE_LIMIT_BYTES): Promise<unknown> {
  const json = JSON.stringify(value ?? null);
  if (Buffer.byteLength(json) <= limit) return value ?? null;
  if (!payloads) {
    throw new StepFunctionsTaskError(ASL_ERRORS.abort, `the result is ${Buffer.byteLength(json)} bytes, over the state machine's ${RESULT_INLINE_LIMIT_BYTES}, and no payload store is configured to keep it by reference`);
  }
  await payloads.put(key, json);
  const ref: AloftRef = { $aloftRef: key };
  return ref;
}

/** The task's error as well as a Catch's `{ Error, Cause }` tells it (Cause is Lambda's JSON error, or text). */
function errorFromCatch(caught: { Error?: string | undefined; Cause?: unknown }): Error {
  let message = typeof caught.Cause === "string" ? caught.Cause : messageOf(caught.Cause ?? caught.Error ?? "the task failed");
  if (typeof caught.Cause === "string") {
    try {
      const parsed = JSON.parse(caught.Cause) as { errorMessage?: unknown };
      if (typeof parsed.errorMessage === "string") message = parsed.errorMessage;
    } catch {
      // Not Lambda's JSON (a States.* error): the cause is the message.
    }
  }
  if (caught.Error === ASL_ERRORS.abort) return new Abort(message);
  if (caught.Error === ASL_ERRORS.timedOut || caught.Error === "States.Timeout") return new TimedOutError(message);
  return new Error(message);
}


