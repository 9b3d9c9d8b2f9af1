import type { AnyFlow, Flow } from "../definitions/flow.js";
import { durationToMs } from "../model/duration.js";
import type { TaskRuntime } from "../definitions/task.js";
import { emitSteps, returnState, validateParamsState, type AslState, type EmitContext } from "./emit.js";
import { checkBranches } from "./branchCheck.js";
import { CompileError } from "./compileError.js";
import { TraceTooLong, traceFlow } from "./tracer.js";

/**
 * Options of {@link compileFlow}.
 *
 * @example
 * ```ts
 * const options: CompileOptions = { type: "EXPRESS" };
 * ```
 */
export interface CompileOptions {
  /** The state machine's name, for the definition's Comment. Default: the flow's name. */
  name?: string;
  /** Default "STANDARD". EXPRESS state machines cannot wait (approvals, subflows, Fargate, distributed maps). */
  type?: "STANDARD" | "EXPRESS";
}

/**
 * A JSONPath Amazon States Language definition.
 *
 * @example
 * ```ts
 * const definition: StateMachineDefinition = { StartAt: "Return", States: { Return: { Type: "Succeed" } } };
 * ```
 */
export interface StateMachineDefinition {
  Comment?: string;
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
}

/**
 * What {@link compileFlow} returns.
 *
 * @example
 * ```ts
 * const { definition, warnings } = await compileFlow(hello);
 * ```
 */
export interface CompiledFlow {
  definition: StateMachineDefinition;
  /** Every Task state that runs a task: the task's name, the state's name and the task's runtime. */
  tasks: { task: string; state: string; runtime: TaskRuntime }[];
  /** Child flows whose state machines the definition starts (deploy them too). */
  subflows: string[];
  /** Where the state machine behaves a little differently from the local engine (rounded delays, …). */
  warnings: string[];
  /** The `${Name}` placeholders in the definition, to fill with DefinitionSubstitutions. */
  substitutions: string[];
}

/**
 * Compiles a flow into a Step Functions state machine definition (JSONPath ASL) by tracing it: the
 * flow's `run` is called with symbolic parameters and each task call, `.map`, `Promise.all`, `when`,
 * `sleep`, `waitForApproval` and subflow call records a state. Throws {@link CompileError} with the
 * file, line and fix when the flow does something a state machine cannot (plain JS `if` on a task's
 * result, awaiting something that is not a task, reading the clock or randomness).
 *
 * @example
 * ```ts
 * import { compileFlow } from "aloft";
 * import hello from "./flows/hello.ts";
 *
 * const { definition, warnings } = await compileFlow(hello);
 * console.log(JSON.stringify(definition, null, 2));
 * ```
 */
export async function compileFlow<P, R>(handle: Flow<P, R>, options: CompileOptions = {}): Promise<CompiledFlow> {
  if (typeof handle !== "function" || (handle as { kind?: unknown }).kind !== "flow") {
    throw new TypeError("compileFlow() takes a flow (made with flow())");
  }
  const flow = handle as unknown as AnyFlow;
  const type = options.type ?? "STANDARD";
  if (type !== "STANDARD" && type !== "EXPRESS") throw new TypeError(`compileFlow(): type must be "STANDARD" or "EXPRESS" (got ${String(type)})`);
  const branches = await checkBranches(flow);
  const branchError = branches.finding
    ? new CompileError(`flow "${flow.name}" ${branches.finding.problem}`, branches.finding.fix, branches.finding.location)
    : undefined;
  let traced;
  try {
    traced = await traceFlow(flow, branches.runLocation);
  } catch (error) {
    // Report whichever problem comes first in the flow's code.
    if (branchError && (error instanceof TraceTooLong || (error instanceof CompileError && error.file === branchError.file && (error.line ?? Infinity) > branchError.line!))) {
      throw branchError;
    }
    throw error;
  }
  if (branchError) throw branchError;
  const { steps, output, trace } = traced;
  if (branches.skipped) trace.warnings.push(`flow "${flow.name}": plain JavaScript branches on task results were not checked (${branches.skipped})`);
  const context: EmitContext = { trace, flow, type, tasks: [], substitutions: new Set(), subflows: new Set(), warnedConcurrency: false };

  const states: Record<string, AslState> = {};
  const returnName = trace.claim("Return");
  const validate = flow.options.params ? trace.claim("Validate parameters") : undefined;
  const first = emitSteps(context, steps, returnName, states) ?? returnName;
  states[returnName] = returnState(context, output);
  if (validate) states[validate] = validateParamsState(context, first);

  const { retries, onCompletion, onFailure, onCancellation, timeout } = flow.options;
  if ((retries ?? 0) > 0) trace.warnings.push(`flow "${flow.name}": flow retries are not compiled (a failed execution stays failed; retry it as a new run)`);
  const hooks = Object.entries({ onCompletion, onFailure, onCancellation }).filter(([, hook]) => hook !== undefined).map(([name]) => name);
  if (hooks.length > 0) trace.warnings.push(`flow "${flow.name}": the flow's ${hooks.join(", ")} hook(s) are not run by the state machine`);
  if (type === "EXPRESS") trace.warnings.push(`flow "${flow.name}": an EXPRESS execution runs at most 5 minutes and at least once (tasks may run twice)`);

  const definition: StateMachineDefinition = {
    Comment: `Aloft flow "${flow.name}"${options.name && options.name !== flow.name ? ` (${options.name})` : ""}`,
    StartAt: validate ?? first,
    States: orderStates(states, validate ?? first),
  };
  const timeoutMs = timeout === undefined ? undefined : durationToMs(timeout);
  if (timeoutMs !== undefined) definition.TimeoutSeconds = Math.max(1, Math.ceil(timeoutMs / 1000));

  const order = stateOrder(definition.States);
  return {
    definition,
    tasks: [...context.tasks].sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state)),
    subflows: [...context.subflows],
    warnings: trace.warnings,
    substitutions: [...context.substitutions].sort(),
  };
}

/** States in the order a reader follows them: from StartAt along Next, Choices, Default and Catch. */
function orderStates(states: Record<string, AslState>, startAt: string): Record<string, AslState> {
  const ordered: Record<string, AslState> = {};
  const visit = (name: string | undefined) => {
    if (name === undefined || name in ordered || !(name in states)) return;
    const state = states[name]!;
    ordered[name] = state;
    visit(state.Next as string | undefined);
    for (const choice of (state.Choices as { Next: string }[] | undefined) ?? []) visit(choice.Next);
    visit(state.Default as string | undefined);
    for (const handler of (state.Catch as { Next: string }[] | undefined) ?? []) visit(handler.Next);
  };
  visit(startAt);
  for (const [name, state] of Object.entries(states)) if (!(name in ordered)) ordered[name] = state;
  return ordered;
}

/** Every state name, nested ones included, in the order of the (ordered) definition. */
function stateOrder(states: Record<string, AslState>): string[] {
  return Object.entries(states).flatMap(([name, state]) => {
    const nested = [
      ...(state.ItemProcessor ? [(state.ItemProcessor as { States: Record<string, AslState> }).States] : []),
      ...((state.Branches as { States: Record<string, AslState> }[] | undefined) ?? []).map((branch) => branch.States),
    ];
    return [name, ...nested.flatMap(stateOrder)];
  });
}
