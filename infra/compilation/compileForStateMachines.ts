import { compileFlow, findFlow, registeredFlows } from "../../sdk/index.js";

/** One flow to compile: a deployment's flow and the type of its state machine. */
export interface CompilationRequest {
  flow: string;
  type: "STANDARD" | "EXPRESS";
}

/** A flow compiled for a state machine: what `compileFlow` returned, as plain JSON. */
export interface CompiledFlowDefinition {
  flow: string;
  type: "STANDARD" | "EXPRESS";
  definition: Record<string, unknown>;
  /** Placeholder names the definition uses (`AloftTaskFunctionArn`, `AloftStateMachineArn_<flow>`…). */
  substitutions: string[];
  /** Names of the child flows whose state machines it starts. */
  subflows: string[];
  warnings: string[];
}

/** The requested flows, in order, and every subflow they reach (compiled once each, as STANDARD). */
export interface CompiledFlows {
  requested: CompiledFlowDefinition[];
  subflows: Record<string, CompiledFlowDefinition>;
}

/**
 * Compiles the requested flows, found by name among the flows defined in this process, and
 * every subflow they start, transitively. Runs inside the process that imported the author's
 * flows file (FlowBundle runs it at synth in a child node process).
 *
 * @example
 * ```ts
 * await import("./flows/etl.ts");
 * const { requested, subflows } = await compileForStateMachines([{ flow: "etl", type: "STANDARD" }]);
 * ```
 */
export async function compileForStateMachines(requests: CompilationRequest[]): Promise<CompiledFlows> {
  const compile = async (flow: string, type: CompilationRequest["type"]): Promise<CompiledFlowDefinition> => {
    const known = registeredFlows().some((candidate) => candidate.name === flow);
    if (!known) throw new Error(`no flow named "${flow}" is defined by the entry (flows: ${registeredFlows().map((candidate) => candidate.name).join(", ") || "none"})`);
    const compiled = await compileFlow(findFlow(flow), { type });
    return {
      flow,
      type,
      definition: compiled.definition as unknown as Record<string, unknown>,
      substitutions: [...compiled.substitutions],
      subflows: [...compiled.subflows],
      warnings: [...compiled.warnings],
    };
  };
  const requested: CompiledFlowDefinition[] = [];
  for (const request of requests) requested.push(await compile(request.flow, request.type));
  const subflows: Record<string, CompiledFlowDefinition> = {};
  const pending = requested.flatMap((compiled) => compiled.subflows);
  for (let name = pending.shift(); name !== undefined; name = pending.shift()) {
    if (subflows[name] !== undefined) continue;
    const compiled = await compile(name, "STANDARD");
    subflows[name] = compiled;
    pending.push(...compiled.subflows);
  }
  return { requested, subflows };
}
