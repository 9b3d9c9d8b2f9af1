import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { CompileError, compileFlow, type CompiledFlow, type Flow } from "aloft";
import etl from "../../../examples/etl.js";
import etlStepFunctions from "../../../examples/etl-step-functions.js";
import hello from "../../../examples/hello.js";
import mlSweep from "../../../examples/ml-sweep.js";
import mlSweepStepFunctions, { trainLinearModelStepFunctions } from "../../../examples/ml-sweep-step-functions.js";
import { aslProblems } from "./validateAsl.js";

async function golden(name: string): Promise<CompiledFlow> {
  return JSON.parse(await readFile(new URL(`./golden/${name}.json`, import.meta.url), "utf8")) as CompiledFlow;
}

/** Compiling a flow, whatever its parameters and result. */
type Compile = () => Promise<CompiledFlow>;
const compiling =
  <P, R>(flow: Flow<P, R>): Compile =>
  () =>
    compileFlow(flow);

const compilable: [string, Compile][] = [
  ["hello", compiling(hello)],
  ["etl-step-functions", compiling(etlStepFunctions)],
  ["ml-sweep-step-functions", compiling(mlSweepStepFunctions)],
  ["train-linear-model-step-functions", compiling(trainLinearModelStepFunctions)],
];

describe("compiling the examples", () => {
  it.each(compilable)("compiles %s into its golden definition, tasks, warnings and substitutions", async (name, compile) => {
    const compiled = await compile();

    expect(compiled).toEqual(await golden(name));
  });

  it.each(compilable)("compiles %s into a definition asl-validator accepts (ARNs and paths checked)", async (_name, compile) => {
    const { definition } = await compile();

    expect(aslProblems(definition)).toEqual([]);
  });

  it("compiles hello's greet.map over the names parameter into a Map of the greet task", async () => {
    const { definition } = await compileFlow(hello);

    expect(definition.StartAt).toBe("Validate parameters");
    expect(definition.States["Map greet"]).toMatchObject({ Type: "Map", ItemsPath: "$.params.names", ResultPath: "$.results.Map_greet" });
    expect(definition.States.Return).toEqual({ Type: "Pass", Parameters: { "value.$": "$.results.Map_greet.value" }, OutputPath: "$.value", End: true });
  });

  it("compiles the sweep's Promise.all over subflow calls into one Parallel state of child executions", async () => {
    const { definition, subflows, substitutions } = await compileFlow(mlSweepStepFunctions);

    const parallel = definition.States["Parallel 1"] as { Type: string; Branches: { States: Record<string, { Resource: string }> }[] };
    expect(parallel.Type).toBe("Parallel");
    expect(parallel.Branches).toHaveLength(8);
    expect(Object.values(parallel.Branches[0]!.States)[0]!.Resource).toBe("arn:aws:states:::states:startExecution.sync:2");
    expect(subflows).toEqual(["train-linear-model-step-functions"]);
    expect(substitutions).toEqual(["AloftStateMachineArn_train_linear_model_step_functions", "AloftTaskFunctionArn"]);
  });

  it("refuses etl.ts as written, at the line that filters the normalized orders in the flow body", async () => {
    const error = await compileFlow(etl).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(CompileError);
    expect((error as Error).message).toBe(
      `examples/etl.ts:167: flow "etl" calls .flatMap() on a task's result. Fix: do this work in a task (the next state sees its result), or run the flow in durable mode.`,
    );
  });

  it("refuses ml-sweep.ts as written, at the line that builds the grid from the parameters", async () => {
    const error = await compileFlow(mlSweep).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(CompileError);
    expect((error as Error).message).toBe(
      `examples/ml-sweep.ts:145: flow "ml-sweep" calls .flatMap() on the flow's parameters. Fix: do this work in a task (the next state sees its result), or run the flow in durable mode.`,
    );
  });
});
