/**
 * Step Functions mode, run on your machine: a compiled flow executed by aws-local-stepfunctions with
 * its Task states bound to the real task code, and the task Lambda's invocation core.
 *
 * @example
 * ```ts
 * import { runStateMachineLocally } from "aloft/stepfunctions";
 * const { status, output } = await runStateMachineLocally(etl, { day: "2026-11-01" });
 * ```
 * @packageDocumentation
 */
import type { AnyFlow, Flow } from "../definitions/flow.js";
import { registeredFlows } from "../definitions/registry.js";
import { compileFlow } from "../compiler/compileFlow.js";
import { runMachineLocally, sanitize, type LocalMachine, type LocalRunOptions, type LocalRunResult } from "./localExecution.js";

export type { LocalRunOptions, LocalRunResult, LocalRunStatus } from "./localExecution.js";
export { withDummyArns } from "./localExecution.js";
export {
  runStepFunctionsInvocation,
  runContainerInvocation,
  resolveRefs,
  RESULT_INLINE_LIMIT_BYTES,
  type InvocationDeps,
  type ResultPayloads,
  type StepFunctionsControlPlane,
} from "./taskInvocation.js";
export {
  ASL_ERRORS,
  StepFunctionsTaskError,
  isAloftRef,
  type AloftRef,
  type AslErrorName,
  type StepFunctionsInvocation,
  type TaskInvocation,
  type HookInvocation,
  type ApprovalInvocation,
  type ParamsInvocation,
  type ResultInvocation,
} from "./invocations.js";
export { completeLocalTaskToken, type TaskTokenOutcome } from "./localTaskTokens.js";

/**
 * Runs a flow as its Step Functions state machine would, on this machine: compiles it with
 * `compileFlow`, fills the definition's placeholders with dummy ARNs, and executes it with
 * aws-local-stepfunctions, every Task state running the real task code (retries, timeouts and
 * Catch as the definition says). Subflows run their own compiled machines; an approval waits
 * until `aloft runs resume` (with `controlPlane`). Resolves to the execution's outcome: its status,
 * its output (the flow's return value) or the ASL error that ended it.
 *
 * @example
 * ```ts
 * import { runStateMachineLocally } from "aloft/stepfunctions";
 * import { etl } from "./flows/etl.ts";
 *
 * const result = await runStateMachineLocally(etl, { day: "2026-11-01" }, { skipDelays: true });
 * console.log(result.status, result.output); // "Completed" { rows: 3 }
 * ```
 */
export async function runStateMachineLocally<P, R>(subject: Flow<P, R>, params: P, options: LocalRunOptions = {}): Promise<LocalRunResult<R>> {
  const flow = subject as unknown as AnyFlow;
  const machines = new Map<string, LocalMachine>();
  const machineOf = async (candidate: AnyFlow): Promise<LocalMachine> => {
    const key = sanitize(candidate.name);
    let machine = machines.get(key);
    if (!machine) {
      machine = { flowName: candidate.name, definition: (await compileFlow(candidate)).definition as LocalMachine["definition"] };
      machines.set(key, machine);
    }
    return machine;
  };
  const root = await machineOf(flow);
  // Subflow states name their child by its sanitized name: compile every child up front.
  const pending = [root];
  while (pending.length > 0) {
    const machine = pending.pop()!;
    for (const child of childNames(machine)) {
      if (machines.has(child)) continue;
      const found = [flow, ...registeredFlows()].find((candidate) => sanitize(candidate.name) === child);
      if (!found) throw new Error(`flow "${machine.flowName}" starts the state machine of a flow named like "${child}", and no such flow is defined in this process`);
      pending.push(await machineOf(found));
    }
  }
  return (await runMachineLocally(root, params, (name) => machines.get(name)!, options)) as LocalRunResult<R>;
}

function childNames(machine: LocalMachine): string[] {
  const text = JSON.stringify(machine.definition);
  return [...text.matchAll(/\$\{AloftStateMachineArn_([A-Za-z0-9_]+)\}/g)].map((match) => match[1]!);
}
