import { randomUUID } from "node:crypto";
import type { CacheStore } from "../engine/cache.js";
import type { Recorder } from "../engine/recorder.js";
import { stableStringify } from "../engine/hash.js";
import { messageOf } from "../model/errors.js";
import { ASL_ERRORS, StepFunctionsTaskError } from "./invocations.js";
import { waitForLocalTaskToken } from "./localTaskTokens.js";
import { resolveRefs, runContainerInvocation, runStepFunctionsInvocation, type InvocationDeps, type ResultPayloads, type StepFunctionsControlPlane } from "./taskInvocation.js";

/** An ASL state machine definition (JSONPath), as the compiler emits it. */
export type AslDefinition = { StartAt: string; States: Record<string, AslState>; TimeoutSeconds?: number; [field: string]: unknown };
type AslState = { Type: string; Resource?: string; [field: string]: unknown };

/** How a local execution ended, as the run's final state names it. */
export type LocalRunStatus = "Completed" | "Failed" | "TimedOut" | "Cancelled";

/**
 * What `runStateMachineLocally` resolves to: the execution's output (with results stored by reference
 * read back) when it succeeded, else the ASL error and cause that ended it.
 *
 * @example
 * ```ts
 * const { status, output, error } = await runStateMachineLocally(etl, { day: "2026-11-01" });
 * if (status !== "Completed") console.error(error?.error, error?.cause);
 * ```
 */
export interface LocalRunResult<R = unknown> {
  runId: string;
  status: LocalRunStatus;
  output?: R;
  error?: { error: string; cause: string };
}

/**
 * Options of a local execution.
 *
 * @example
 * ```ts
 * await runStateMachineLocally(etl, params, { skipDelays: true, controlPlane });
 * ```
 */
export interface LocalRunOptions {
  /** The execution's name, which is the flow run's id; a new UUID by default. */
  runId?: string;
  /** Records the run, its task runs and logs, and keeps approval task tokens (`aloft runs resume` completes them). */
  controlPlane?: StepFunctionsControlPlane;
  /** Where results over 256 KB go by reference; in memory by default. */
  payloads?: ResultPayloads;
  cache?: CacheStore;
  recorder?: Recorder;
  /** Retry intervals and Wait states take no time (tests). */
  skipDelays?: boolean;
  /** Aborting it stops the execution: it ends Cancelled. */
  signal?: AbortSignal;
}

/** The parts of a compiled flow a local execution needs. */
export interface LocalMachine {
  flowName: string;
  definition: AslDefinition;
}

/** Compiles the flow a subflow state starts, by the sanitized name in its state machine ARN. */
export type ChildMachines = (sanitizedName: string) => LocalMachine;

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
/** Tasks without TimeoutSeconds: AWS waits up to a year; a Node timer holds at most ~24.8 days. */
const LONGEST_TIMEOUT_SECONDS = 2_147_483;
const LOCAL_STATE_MACHINE_PREFIX = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:aloft-local-`;

/**
 * Fills a definition's `${Name}` placeholders with dummy ARNs of the right kind (the task Lambda, the
 * child state machines, the ECS cluster, task definition and subnets), as CDK fills them with real ones.
 *
 * @example
 * ```ts
 * const definition = withDummyArns(compiled.definition);
 * ```
 */
export function withDummyArns<T>(definition: T): T {
  return JSON.parse(JSON.stringify(definition).replace(/\$\{([A-Za-z0-9_]+)\}/g, (_match, name: string) => dummyArn(name))) as T;
}

function dummyArn(name: string): string {
  if (name === "AloftTaskFunctionArn") return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:aloft-local-task`;
  if (name.startsWith("AloftStateMachineArn_")) return `${LOCAL_STATE_MACHINE_PREFIX}${name.slice("AloftStateMachineArn_".length)}`;
  if (/Cluster/.test(name)) return `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/aloft-local`;
  if (/TaskDefinition/.test(name)) return `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/aloft-local:1`;
  if (/Subnet/.test(name)) return `subnet-${(name.match(/\d+$/)?.[0] ?? "0").padStart(17, "0")}`;
  if (/SecurityGroup/.test(name)) return `sg-${"0".repeat(17)}`;
  return `aloft-local-${name}`;
}

/**
 * Executes a compiled definition with aws-local-stepfunctions, every Task state bound to the real
 * task code in this process: `lambda:invoke` states through a shim that hands the task Lambda's
 * code AWS's `{ FunctionName, Payload }` and answers with AWS's invoke output; `.waitForTaskToken`
 * approvals wait until the token is completed (`aloft runs resume`); subflow states run the child's
 * machine the same way and answer with `startExecution.sync:2`'s output; `ecs:runTask.sync` states
 * run their task in process.
 *
 * @example
 * ```ts
 * const result = await runMachineLocally({ flowName: "etl", definition }, { day: "2026-11-01" }, () => { throw new Error("no subflows"); });
 * ```
 */
export async function runMachineLocally(machine: LocalMachine, params: unknown, children: ChildMachines, options: LocalRunOptions = {}, parentRunId?: string): Promise<LocalRunResult> {
  const runId = options.runId ?? randomUUID();
  const payloads = options.payloads ?? memoryPayloads();
  const { controlPlane } = options;
  if (controlPlane) {
    await controlPlane.createFlowRun({
      id: runId,
      flowName: machine.flowName,
      name: `${machine.flowName}-${runId.slice(0, 8)}`,
      initialState: "PENDING",
      ...(isRecord(params) ? { parameters: params } : {}),
      ...(parentRunId === undefined ? {} : { parentRunId }),
    });
  }
  // A retried run is executed again under its id: each execution's transitions are its own.
  const execution = `sfn-local:${runId}:${randomUUID().slice(0, 8)}`;
  if (controlPlane) await controlPlane.proposeFlowRunState(runId, { state: { type: "RUNNING", name: "Running" }, transitionId: `${execution}:running` });
  const result = await execute(machine, params, runId, children, { ...options, payloads });
  if (controlPlane) await recordOutcome(controlPlane, result, execution);
  return result;
}

async function execute(machine: LocalMachine, params: unknown, runId: string, children: ChildMachines, options: LocalRunOptions & { payloads: ResultPayloads }): Promise<LocalRunResult> {
  installPromiseWithResolvers();
  const { StateMachine, ExecutionAbortedError, ExecutionError, ExecutionTimeoutError } = await import("aws-local-stepfunctions");
  const definition = withDummyArns(structuredClone(machine.definition));
  const executionArn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:aloft-local-${sanitize(machine.flowName)}:${runId}`;
  const states = allStates(definition);
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const attempts = new Map<string, number>();
  const invocationDeps = {
    payloads: options.payloads,
    ...(options.controlPlane ? { controlPlane: options.controlPlane } : {}),
    ...(options.cache ? { cache: options.cache } : {}),
    ...(options.recorder ? { recorder: options.recorder } : {}),
  };
  for (const [name, state] of states) {
    // aws-local-stepfunctions 3.0.0 writes `ResultPath: "$"` under a key named "$"; leaving it out means the same.
    if (state.ResultPath === "$") delete state.ResultPath;
    for (const catcher of (state.Catch as Array<{ ResultPath?: string }> | undefined) ?? []) if (catcher.ResultPath === "$") delete catcher.ResultPath;
    if (state.Type !== "Task") continue;
    // aws-local-stepfunctions gives a Task 60 s unless told; AWS gives it no limit.
    if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) state.TimeoutSeconds = LONGEST_TIMEOUT_SECONDS;
    handlers[name] = taskHandler(name, state, { runId, attempts, children, options, invocationDeps });
  }
  const overrides: Record<string, unknown> = { taskResourceLocalHandlers: handlers };
  if (options.skipDelays) {
    overrides.retryIntervalOverrides = Object.fromEntries([...states].filter(([, state]) => Array.isArray(state.Retry)).map(([name]) => [name, 0]));
    overrides.waitTimeOverrides = Object.fromEntries([...states].filter(([, state]) => state.Type === "Wait").map(([name]) => [name, 0]));
  }
  const machineRun = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } }).run({ params: params ?? {} } as never, {
    overrides: overrides as never,
    context: {
      Execution: { Id: executionArn, Name: runId, RoleArn: `arn:aws:iam::${ACCOUNT}:role/aloft-local` },
      StateMachine: { Id: `${LOCAL_STATE_MACHINE_PREFIX}${sanitize(machine.flowName)}`, Name: `aloft-local-${sanitize(machine.flowName)}` },
      // Not filled in by the interpreter: each handler puts the real values into the payload.
      State: { Name: "", EnteredTime: new Date().toISOString(), RetryCount: 0 },
      Task: { Token: "aloft-local:placeholder" },
    },
  });
  const onAbort = () => machineRun.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  try {
    const output = await machineRun.result;
    return { runId, status: "Completed", output: await resolveRefs(output, options.payloads) };
  } catch (error) {
    if (error instanceof ExecutionAbortedError) return { runId, status: "Cancelled", error: { error: "States.Aborted", cause: "the execution was stopped" } };
    if (error instanceof ExecutionTimeoutError) return { runId, status: "TimedOut", error: { error: "States.Timeout", cause: "the execution timed out" } };
    const cause = error instanceof ExecutionError && error.cause instanceof Error ? error.cause : error;
    const name = cause instanceof Error ? cause.name : "States.Runtime";
    return { runId, status: name === "States.Timeout" || name === ASL_ERRORS.timedOut ? "TimedOut" : "Failed", error: { error: name, cause: messageOf(cause) } };
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}

interface HandlerContext {
  runId: string;
  /** State and payload → the attempts started (a Retry invokes the same state with the same payload again). */
  attempts: Map<string, number>;
  children: ChildMachines;
  options: LocalRunOptions & { payloads: ResultPayloads };
  invocationDeps: InvocationDeps;
}

function taskHandler(stateName: string, state: AslState, context: HandlerContext): (input: unknown) => Promise<unknown> {
  const resource = state.Resource ?? "";
  if (resource === "arn:aws:states:::lambda:invoke") return (input) => invokeLambda(stateName, input, context);
  if (resource === "arn:aws:states:::lambda:invoke.waitForTaskToken") return (input) => waitForToken(input, context);
  if (resource.startsWith("arn:aws:states:::states:startExecution.sync")) return (input) => startChild(input, resource.endsWith(":2"), context);
  if (resource.startsWith("arn:aws:states:::ecs:runTask")) return (input) => runContainerTask(stateName, input, context);
  return async () => {
    throw new StepFunctionsTaskError(ASL_ERRORS.invalidInvocation, `state "${stateName}" uses ${resource}, which local executions do not run`);
  };
}

/** `lambda:invoke`: AWS's request in, AWS's response out; a function error fails the state as AWS does. */
async function invokeLambda(stateName: string, input: unknown, context: HandlerContext): Promise<unknown> {
  const request = input as { FunctionName?: unknown; Payload?: unknown };
  const payload = withAttempt(stateName, request.Payload, context);
  const requestId = randomUUID();
  try {
    const result = await runStepFunctionsInvocation(payload.value, context.invocationDeps);
    payload.done();
    return {
      ExecutedVersion: "$LATEST",
      Payload: result,
      SdkHttpMetadata: {
        AllHttpHeaders: { "X-Amz-Executed-Version": ["$LATEST"], "x-amzn-Remapped-Content-Length": ["0"], Connection: ["keep-alive"], "x-amzn-RequestId": [requestId], "Content-Type": ["application/json"] },
        HttpHeaders: { Connection: "keep-alive", "Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST", "x-amzn-Remapped-Content-Length": "0", "x-amzn-RequestId": requestId },
        HttpStatusCode: 200,
      },
      SdkResponseMetadata: { RequestId: requestId },
      StatusCode: 200,
    };
  } catch (error) {
    const errorType = error instanceof Error ? error.name : "Error";
    if (errorType !== ASL_ERRORS.taskFailed && errorType !== ASL_ERRORS.timedOut) payload.done();
    throw functionError(errorType, messageOf(error), requestId);
  }
}

/** What Step Functions reports for a Lambda function error: the error type, and Lambda's JSON as the cause. */
function functionError(errorType: string, errorMessage: string, requestId: string): Error {
  const error = new Error(JSON.stringify({ errorMessage, errorType, requestId, stackTrace: [] }));
  error.name = errorType;
  return error;
}

/** `.waitForTaskToken`: hands the task Lambda a fresh token and waits until it is completed. */
async function waitForToken(input: unknown, context: HandlerContext): Promise<unknown> {
  const request = input as { Payload?: Record<string, unknown> };
  const { token, outcome, cancel } = waitForLocalTaskToken();
  try {
    await runStepFunctionsInvocation({ ...request.Payload, taskToken: token }, context.invocationDeps);
  } catch (error) {
    cancel();
    throw functionError(error instanceof Error ? error.name : "Error", messageOf(error), randomUUID());
  }
  const settled = await outcome;
  if ("output" in settled) return settled.output;
  const error = new Error(settled.cause ?? "");
  error.name = settled.error;
  throw error;
}

/** `states:startExecution.sync(:2)`: runs the child machine to its end and answers with DescribeExecution's shape. */
async function startChild(input: unknown, jsonOutput: boolean, context: HandlerContext): Promise<unknown> {
  const request = input as { StateMachineArn?: unknown; Input?: unknown; Name?: unknown };
  const arn = String(request.StateMachineArn ?? "");
  if (!arn.startsWith(LOCAL_STATE_MACHINE_PREFIX)) {
    throw new StepFunctionsTaskError(ASL_ERRORS.invalidInvocation, `a subflow state starts ${arn}, which is not a compiled Aloft flow`);
  }
  const child = context.children(arn.slice(LOCAL_STATE_MACHINE_PREFIX.length));
  const executionInput = (typeof request.Input === "string" ? JSON.parse(request.Input) : (request.Input ?? {})) as { params?: unknown };
  const childRunId = typeof request.Name === "string" ? request.Name : randomUUID();
  const startDate = Date.now();
  const { runId: _parent, ...inherited } = context.options;
  const result = await runMachineLocally(child, executionInput.params, context.children, { ...inherited, runId: childRunId }, context.runId);
  const executionArn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:aloft-local-${sanitize(child.flowName)}:${childRunId}`;
  const described: Record<string, unknown> = {
    ExecutionArn: executionArn,
    Input: jsonOutput ? executionInput : JSON.stringify(executionInput),
    InputDetails: { Included: true },
    Name: childRunId,
    StartDate: startDate,
    StateMachineArn: arn,
    Status: result.status === "Completed" ? "SUCCEEDED" : result.status === "Cancelled" ? "ABORTED" : "FAILED",
    StopDate: Date.now(),
  };
  if (result.status === "Completed") {
    described.Output = jsonOutput ? (result.output ?? null) : JSON.stringify(result.output ?? null);
    described.OutputDetails = { Included: true };
    return described;
  }
  described.Error = result.error?.error;
  described.Cause = result.error?.cause;
  const error = new Error(JSON.stringify(described));
  error.name = "States.TaskFailed";
  throw error;
}

/**
 * `ecs:runTask.sync` (a `runtime: "fargate"` task): what the runner container does with its
 * `ALOFT_TASK_INVOCATION` and `ALOFT_TASK_ATTEMPT` overrides, done in process; a failure fails the
 * state as a stopped ECS task does (`States.TaskFailed`).
 */
async function runContainerTask(stateName: string, input: unknown, context: HandlerContext): Promise<unknown> {
  const environment = new Map<string, string>();
  const overrides = (input as { Overrides?: { ContainerOverrides?: Array<{ Environment?: Array<{ Name?: string; Value?: string }> }> } }).Overrides;
  for (const container of overrides?.ContainerOverrides ?? []) for (const variable of container.Environment ?? []) if (variable.Name) environment.set(variable.Name, variable.Value ?? "");
  const invocation = environment.get("ALOFT_TASK_INVOCATION");
  if (invocation === undefined) {
    throw new StepFunctionsTaskError(ASL_ERRORS.invalidInvocation, `state "${stateName}" runs an ECS task without an ALOFT_TASK_INVOCATION override`);
  }
  const taskArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/aloft-local/${randomUUID().replaceAll("-", "")}`;
  try {
    await runContainerInvocation(JSON.parse(invocation), Number(environment.get("ALOFT_TASK_ATTEMPT") ?? "0"), context.invocationDeps);
  } catch (error) {
    const failed = new Error(JSON.stringify({ TaskArn: taskArn, LastStatus: "STOPPED", StopCode: "EssentialContainerExited", StoppedReason: messageOf(error), Containers: [{ ExitCode: 1 }] }));
    failed.name = "States.TaskFailed";
    throw failed;
  }
  return { Attachments: [], Containers: [{ ExitCode: 0, LastStatus: "STOPPED", Name: "aloft-runner", TaskArn: taskArn }], LastStatus: "STOPPED", StopCode: "EssentialContainerExited", TaskArn: taskArn };
}

/**
 * Puts the retry count into a payload (`$$.State.RetryCount` is not filled in by the interpreter):
 * the attempts started for this state and payload so far. `done` forgets them once no retry follows.
 */
function withAttempt(stateName: string, payload: unknown, context: HandlerContext): { value: unknown; done: () => void } {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return { value: payload, done: () => {} };
  const { attempt: _ignored, ...rest } = payload as Record<string, unknown>;
  const key = `${stateName}\u0000${stableStringify(rest)}`;
  const started = context.attempts.get(key) ?? 0;
  context.attempts.set(key, started + 1);
  return { value: { ...rest, attempt: started }, done: () => context.attempts.delete(key) };
}

async function recordOutcome(controlPlane: StepFunctionsControlPlane, result: LocalRunResult, execution: string): Promise<void> {
  const transitionId = `${execution}:${result.status}`;
  switch (result.status) {
    case "Completed":
      await controlPlane.proposeFlowRunState(result.runId, { state: { type: "COMPLETED", name: "Completed" }, transitionId, ...(result.output === undefined ? {} : { result: result.output }) });
      return;
    case "Cancelled":
      await controlPlane.proposeFlowRunState(result.runId, { state: { type: "CANCELLED", name: "Cancelled", message: "the execution was stopped" }, transitionId });
      return;
    case "Failed":
    case "TimedOut":
      await controlPlane.proposeFlowRunState(result.runId, {
        state: { type: "FAILED", name: result.error?.error === ASL_ERRORS.invalidParameters ? "InvalidParameters" : result.status, message: `${result.error?.error}: ${result.error?.cause}`.slice(0, 4_000) },
        transitionId,
        error: { name: result.error?.error ?? "Error", message: result.error?.cause ?? "" },
      });
      return;
  }
}

/** Every state of a definition by name, nested Map and Parallel states included (names are unique). */
function allStates(definition: { States: Record<string, AslState> }): Map<string, AslState> {
  const found = new Map<string, AslState>();
  const visit = (machine: { States?: Record<string, AslState> } | undefined) => {
    for (const [name, state] of Object.entries(machine?.States ?? {})) {
      found.set(name, state);
      visit(state.ItemProcessor as never);
      visit(state.Iterator as never);
      for (const branch of (state.Branches as Array<{ States: Record<string, AslState> }> | undefined) ?? []) visit(branch);
    }
  };
  visit(definition);
  return found;
}

function memoryPayloads(): ResultPayloads {
  const values = new Map<string, string>();
  return {
    put: async (key, json) => {
      values.set(key, json);
    },
    get: async (key) => {
      const json = values.get(key);
      if (json === undefined) throw new Error(`no payload stored under ${key}`);
      return json;
    },
  };
}

/** A flow name as the compiler puts it in placeholder names: every character but [A-Za-z0-9] becomes "_". */
export function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, "_");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** aws-local-stepfunctions uses `Promise.withResolvers` (Node 22+); Node 20 lacks it. */
function installPromiseWithResolvers(): void {
  const promise = Promise as unknown as { withResolvers?: () => unknown };
  if (typeof promise.withResolvers === "function") return;
  promise.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const created = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise: created, resolve, reject };
  };
}
