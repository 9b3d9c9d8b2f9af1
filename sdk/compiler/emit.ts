/**
 * Lays traced steps out as JSONPath ASL states. The state machine's state is
 * `{ params, results: { <id>: { value } }, values, invocations, error }`.
 */
import type { AnyFlow } from "../definitions/flow.js";
import type { AnyTask, TaskRuntime } from "../definitions/task.js";
import { durationToMs } from "../model/duration.js";
import { choiceRule } from "./choiceRules.js";
import { CompileError } from "./compileError.js";
import type { SourceLocation } from "../definitions/sourceFile.js";
import type { CallStep, MapStep, Step, ValueStep } from "./ir.js";
import { templateField, templateObject, TemplateError } from "./parameters.js";
import { LAMBDA_TRANSIENT_RETRIER, retryFor, UnsupportedRetryDelay, type Retrier } from "./retry.js";
import { exprOf } from "./symbolic.js";
import type { Trace } from "./tracer.js";

/** An ASL state. */
export type AslState = Record<string, unknown>;
type States = Record<string, AslState>;


/** What the emitter collects besides the states. */
export interface EmitContext {
  trace: Trace;
  flow: AnyFlow;
  type: "STANDARD" | "EXPRESS";
  tasks: { task: string; state: string; runtime: TaskRuntime }[];
  substitutions: Set<string>;
  subflows: Set<string>;
  warnedConcurrency: boolean;
}

/** Where the values a payload needs come from: the execution's context, or the Map item's selector. */
interface Scope {
  flowRunId: string;
  executionArn: string;
  inMap: boolean;
}

const TOP: Scope = { flowRunId: "$$.Execution.Name", executionArn: "$$.Execution.Id", inMap: false };
const IN_MAP: Scope = { flowRunId: "$.flowRunId", executionArn: "$.executionArn", inMap: true };
const TASK_FUNCTION = "${AloftTaskFunctionArn}";
const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";
const FARGATE_SUBSTITUTIONS = [
  "AloftClusterArn",
  "AloftRunnerTaskDefinitionArn",
  "AloftSubnet0",
  "AloftSubnet1",
  "AloftSecurityGroupId",
  "AloftRunnerContainerName",
];

/** Where a value step writes its result: `{ value }` at this path. */
interface Target {
  resultPath: string;
  /** Set inside a Map iteration: the iteration's output is the bare value. */
  outputPath?: string;
}

/**
 * Emits `steps` into `states`, the last one going to `next` (or ending); returns the first state's name.
 *
 * @example
 * ```ts
 * const startAt = emitSteps(context, steps, "Return", states);
 * ```
 */
export function emitSteps(context: EmitContext, steps: readonly Step[], next: string | undefined, states: States): string | undefined {
  let following = next;
  for (const step of [...steps].reverse()) following = emitStep(context, step, following, states);
  return following;
}

/**
 * The "Validate parameters" state: the task Lambda parses the execution's params with the flow's schema.
 *
 * @example
 * ```ts
 * states["Validate parameters"] = validateParamsState(context, "greet");
 * ```
 */
export function validateParamsState(context: EmitContext, next: string): AslState {
  context.substitutions.add("AloftTaskFunctionArn");
  return {
    Type: "Task",
    Resource: LAMBDA_INVOKE,
    Parameters: {
      FunctionName: TASK_FUNCTION,
      Payload: { kind: "aloft.params", flowName: context.flow.name, "params.$": "$.params", "flowRunId.$": TOP.flowRunId, "executionArn.$": TOP.executionArn },
    },
    // No ResultPath: the result (the parsed params) replaces the state, as ResultPath "$" would.
    ResultSelector: { "params.$": "$.Payload" },
    Retry: [transientRetrier()],
    Next: next,
  };
}

/**
 * The final Pass state: the flow's return value becomes the execution's output.
 *
 * @example
 * ```ts
 * states.Return = returnState(context, output);
 * ```
 */
export function returnState(context: EmitContext, output: unknown): AslState {
  return { Type: "Pass", Parameters: valueTemplate(context, output ?? null, "its return value"), OutputPath: "$.value", End: true };
}

function emitStep(context: EmitContext, step: Step, next: string | undefined, states: States): string {
  switch (step.kind) {
    case "call":
    case "map":
    case "approval":
    case "subflow":
      return emitValueStep(context, step, { resultPath: `$.results.${step.id}` }, TOP, next, states);
    case "parallel": {
      const branches = step.branches.map((branch) => {
        const branchStates: States = {};
        const startAt = emitValueStep(context, branch, { resultPath: "$" }, TOP, undefined, branchStates);
        return { StartAt: startAt, States: branchStates };
      });
      states[step.state] = { Type: "Parallel", Branches: branches, ResultPath: `$.results.${step.id}`, ...link(next) };
      return step.state;
    }
    case "choice": {
      const thenStart = emitSteps(context, step.then, next, states)!;
      const otherwiseStart = emitSteps(context, step.otherwise, next, states)!;
      states[step.state] = { Type: "Choice", Choices: [{ ...choiceRule(step.condition), Next: thenStart }], Default: otherwiseStart };
      return step.state;
    }
    case "wait":
      states[step.state] = {
        Type: "Wait",
        ...(step.secondsPath === undefined ? { Seconds: step.seconds } : { SecondsPath: step.secondsPath }),
        ...link(next),
      };
      return step.state;
    case "assign":
      states[step.state] = {
        Type: "Pass",
        Parameters: valueTemplate(context, step.value, "a value"),
        ResultPath: `$.${step.area}.${step.id}`,
        ...link(next),
      };
      return step.state;
  }
}

function emitValueStep(context: EmitContext, step: ValueStep, target: Target, scope: Scope, next: string | undefined, states: States): string {
  switch (step.kind) {
    case "call":
      return emitTask(context, step, step.state, argsTemplate(context, step.args, step), target, scope, undefined, next, states);
    case "map":
      return emitMap(context, step, target, next, states);
    case "approval":
      if (context.type === "EXPRESS") refuseExpress(context, "waits for an approval", step);
      context.substitutions.add("AloftTaskFunctionArn");
      states[step.state] = {
        Type: "Task",
        Resource: `${LAMBDA_INVOKE}.waitForTaskToken`,
        Parameters: {
          FunctionName: TASK_FUNCTION,
          Payload: {
            kind: "aloft.approval",
            flowName: context.flow.name,
            "flowRunId.$": scope.flowRunId,
            "executionArn.$": scope.executionArn,
            "taskToken.$": "$$.Task.Token",
            stateName: step.state,
            ...(step.timeoutSeconds === undefined ? {} : { timeoutSeconds: step.timeoutSeconds }),
          },
        },
        ResultSelector: { "value.$": "$" },
        ...resultPath(target),
        ...(step.timeoutSeconds === undefined ? {} : { TimeoutSeconds: step.timeoutSeconds }),
        ...link(next),
      };
      return step.state;
    case "subflow": {
      if (context.type === "EXPRESS") refuseExpress(context, `starts subflow "${step.flow.name}" and waits for it`, step);
      const substitution = `AloftStateMachineArn_${step.flow.name.replace(/[^A-Za-z0-9]/g, "_")}`;
      context.substitutions.add(substitution);
      context.subflows.add(step.flow.name);
      if ((step.flow.options.retries ?? 0) > 0) {
        context.trace.warnings.push(`subflow "${step.flow.name}": its flow retries are not compiled (a failed child execution fails this state)`);
      }
      const params = templateField("params", step.params ?? {}, context.trace.tokens)!;
      states[step.state] = {
        Type: "Task",
        Resource: "arn:aws:states:::states:startExecution.sync:2",
        Parameters: {
          StateMachineArn: `\${${substitution}}`,
          Input: { [params[0]]: params[1], "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id" },
        },
        ResultSelector: { "value.$": "$.Output" },
        ...resultPath(target),
        ...link(next),
      };
      return step.state;
    }
  }
}

function emitMap(context: EmitContext, step: MapStep, target: Target, next: string | undefined, states: States): string {
  const { trace, flow } = context;
  if (step.mode === "distributed" && context.type === "EXPRESS") refuseExpress(context, `maps ${step.task.name} in distributed mode`, step);
  const inner: States = {};
  const innerStart = emitTask(context, step, step.innerState, { "0.$": "$.item" }, { resultPath: "$", outputPath: "$.value" }, IN_MAP, "$.index", undefined, inner);
  const taskConcurrency = flow.options.taskConcurrency;
  let concurrency = step.concurrency;
  if (taskConcurrency !== undefined) {
    concurrency = Math.min(concurrency ?? taskConcurrency, taskConcurrency);
    if (!context.warnedConcurrency) {
      trace.warnings.push(`flow "${flow.name}": taskConcurrency ${taskConcurrency} limits each Map state (MaxConcurrency), not the task runs of the whole execution`);
      context.warnedConcurrency = true;
    }
  }
  let itemsPath = pathOf(step.items);
  let start = step.state;
  if (itemsPath === undefined) {
    // ItemsPath reads a path: items built in the flow body are written to the state first.
    const itemsState = trace.claim(`${step.state} items`);
    const id = trace.idFor(itemsState);
    states[itemsState] = { Type: "Pass", Parameters: valueTemplate(context, step.items, "the items", step), ResultPath: `$.values.${id}`, Next: step.state };
    itemsPath = `$.values.${id}.value`;
    start = itemsState;
  }
  states[step.state] = {
    Type: "Map",
    ItemsPath: itemsPath,
    ItemSelector: { "item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "flowRunId.$": TOP.flowRunId, "executionArn.$": TOP.executionArn },
    ...(concurrency === undefined ? {} : { MaxConcurrency: concurrency }),
    ItemProcessor: {
      ProcessorConfig: step.mode === "distributed" ? { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" } : { Mode: "INLINE" },
      StartAt: innerStart,
      States: inner,
    },
    ResultSelector: { "value.$": "$" },
    ...resultPath(target),
    ...link(next),
  };
  return start;
}

function emitTask(
  context: EmitContext,
  step: CallStep | MapStep,
  state: string,
  args: Record<string, unknown>,
  target: Target,
  scope: Scope,
  mapIndexPath: string | undefined,
  next: string | undefined,
  states: States,
): string {
  const { trace, flow } = context;
  const task = step.task;
  const runtime = runtimeOf(task);
  context.tasks.push({ task: task.name, state, runtime });
  const subject = `task "${task.name}"`;
  let retrier: Retrier | undefined;
  try {
    const mapping = retryFor(subject, task.options);
    retrier = mapping.retrier;
    trace.warnings.push(...mapping.warnings);
  } catch (error) {
    if (!(error instanceof UnsupportedRetryDelay)) throw error;
    throw new CompileError(
      `flow "${flow.name}" calls ${subject}, whose retryDelay is a function, which Step Functions cannot express`,
      "give retryDelay as one delay or a list of delays (the compiler fits a backoff curve to the list), or run the flow in durable mode",
      step.location,
    );
  }
  const timeoutMs = task.options.timeout === undefined ? undefined : durationToMs(task.options.timeout);
  const timeoutSeconds = timeoutMs === undefined ? undefined : Math.max(1, Math.ceil(timeoutMs / 1000));
  if (timeoutMs !== undefined && timeoutSeconds! * 1000 !== timeoutMs) {
    trace.warnings.push(`${subject}: timeout of ${timeoutMs}ms becomes TimeoutSeconds ${timeoutSeconds} (Step Functions counts whole seconds)`);
  }
  const retry = [...(retrier ? [retrier] : []), transientRetrier()];
  const invocation = {
    kind: "aloft.task",
    flowName: flow.name,
    task: task.name,
    args,
    "flowRunId.$": scope.flowRunId,
    "executionArn.$": scope.executionArn,
    ...(mapIndexPath === undefined ? {} : { "mapIndex.$": mapIndexPath }),
  };
  const results = { ResultSelector: { "value.$": "$.Payload" }, ...resultPath(target), ...(target.outputPath ? { OutputPath: target.outputPath } : {}) };
  const failure = task.options.onFailure ? catchTo(context, state, task, args, scope, states) : {};
  context.substitutions.add("AloftTaskFunctionArn");

  if (runtime !== "fargate") {
    states[state] = {
      Type: "Task",
      Resource: LAMBDA_INVOKE,
      Parameters: { FunctionName: TASK_FUNCTION, Payload: { ...invocation, "attempt.$": "$$.State.RetryCount" } },
      ...results,
      ...(timeoutSeconds === undefined ? {} : { TimeoutSeconds: timeoutSeconds }),
      Retry: retry,
      ...failure,
      ...link(next),
    };
    return state;
  }

  if (context.type === "EXPRESS") refuseExpress(context, `runs ${subject} on Fargate and waits for it`, step);
  FARGATE_SUBSTITUTIONS.forEach((name) => context.substitutions.add(name));
  const inputState = trace.claim(`${state} input`);
  const resultState = trace.claim(`${state} result`);
  const invocationPath = scope.inMap ? "$.invocation" : `$.invocations.${step.id}`;
  states[inputState] = { Type: "Pass", Parameters: invocation, ResultPath: invocationPath, Next: state };
  states[state] = {
    Type: "Task",
    Resource: "arn:aws:states:::ecs:runTask.sync",
    Parameters: {
      LaunchType: "FARGATE",
      Cluster: "${AloftClusterArn}",
      TaskDefinition: "${AloftRunnerTaskDefinitionArn}",
      NetworkConfiguration: {
        AwsvpcConfiguration: { Subnets: ["${AloftSubnet0}", "${AloftSubnet1}"], SecurityGroups: ["${AloftSecurityGroupId}"], AssignPublicIp: "DISABLED" },
      },
      Overrides: {
        ContainerOverrides: [
          {
            Name: "${AloftRunnerContainerName}",
            Environment: [
              { Name: "ALOFT_TASK_INVOCATION", "Value.$": `States.JsonToString(${invocationPath})` },
              { Name: "ALOFT_TASK_ATTEMPT", "Value.$": "States.Format('{}', $$.State.RetryCount)" },
            ],
          },
        ],
      },
    },
    ResultPath: null,
    ...(timeoutSeconds === undefined ? {} : { TimeoutSeconds: timeoutSeconds }),
    // ECS reports a container that exits non-zero as States.TaskFailed, whatever the task threw.
    ...(retrier ? { Retry: [{ ...retrier, ErrorEquals: ["States.TaskFailed", "States.Timeout"] }] } : {}),
    ...failure,
    Next: resultState,
  };
  if (retrier) trace.warnings.push(`${subject}: on Fargate every failure is retried, an Abort included (ECS reports no error name)`);
  states[resultState] = {
    Type: "Task",
    Resource: LAMBDA_INVOKE,
    Parameters: {
      FunctionName: TASK_FUNCTION,
      Payload: {
        kind: "aloft.result",
        flowName: flow.name,
        task: task.name,
        stateName: state,
        "flowRunId.$": scope.flowRunId,
        "executionArn.$": scope.executionArn,
        ...(mapIndexPath === undefined ? {} : { "mapIndex.$": mapIndexPath }),
      },
    },
    ...results,
    Retry: [transientRetrier()],
    ...link(next),
  };
  return inputState;
}

/** onFailure: Catch every error → the hook state → a Fail state that keeps the error. */
function catchTo(context: EmitContext, state: string, task: AnyTask, args: Record<string, unknown>, scope: Scope, states: States): AslState {
  const hookState = context.trace.claim(`${state} onFailure`);
  const failState = context.trace.claim(`${state} failed`);
  states[hookState] = {
    Type: "Task",
    Resource: LAMBDA_INVOKE,
    Parameters: {
      FunctionName: TASK_FUNCTION,
      Payload: {
        kind: "aloft.hook",
        hook: "onFailure",
        flowName: context.flow.name,
        task: task.name,
        args,
        "flowRunId.$": scope.flowRunId,
        "executionArn.$": scope.executionArn,
        "error.$": "$.error",
      },
    },
    ResultPath: null,
    Retry: [transientRetrier()],
    Next: failState,
  };
  states[failState] = { Type: "Fail", ErrorPath: "$.error.Error", CausePath: "$.error.Cause" };
  return { Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: hookState }] };
}

function argsTemplate(context: EmitContext, args: readonly unknown[], step: CallStep): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  args.forEach((arg, index) => (fields[String(index)] = arg));
  return guarded(context, step, "its arguments", () => templateObject(fields, context.trace.tokens));
}

function valueTemplate(context: EmitContext, value: unknown, what: string, step?: CallStep | MapStep): Record<string, unknown> {
  return guarded(context, step, what, () => Object.fromEntries([templateField("value", value, context.trace.tokens) ?? ["value", null]]));
}

function guarded<T>(context: EmitContext, step: CallStep | MapStep | undefined, what: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    throw new CompileError(`flow "${context.flow.name}" builds ${what} from ${error.message}`, "pass the values in an object, or build it in a task", step?.location);
  }
}

function pathOf(value: unknown): string | undefined {
  const expr = exprOf(value);
  return expr?.kind === "path" ? expr.path : undefined;
}

function runtimeOf(task: AnyTask): TaskRuntime {
  return task.options.runtime ?? "local";
}

function transientRetrier(): Retrier {
  return { ...LAMBDA_TRANSIENT_RETRIER, ErrorEquals: [...LAMBDA_TRANSIENT_RETRIER.ErrorEquals] };
}

/** ResultPath "$" is the default, and left out (aws-local-stepfunctions 3 mishandles it written out). */
function resultPath(target: Target): { ResultPath?: string } {
  return target.resultPath === "$" ? {} : { ResultPath: target.resultPath };
}

function link(next: string | undefined): { Next: string } | { End: true } {
  return next === undefined ? { End: true } : { Next: next };
}

function refuseExpress(context: EmitContext, what: string, step: { location: SourceLocation | undefined }): never {
  throw new CompileError(
    `flow "${context.flow.name}" ${what}, which an EXPRESS state machine cannot do`,
    'compile it with type "STANDARD"',
    step?.location,
  );
}
