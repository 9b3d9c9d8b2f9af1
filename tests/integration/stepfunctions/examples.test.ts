import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { MemoryCacheStore, type AnyFlow } from "aloft";
import { runStateMachineLocally } from "aloft/stepfunctions";
import etlStepFunctions from "../../../examples/etl-step-functions.js";
import hello from "../../../examples/hello.js";
import mlSweepStepFunctions, { trainLinearModelStepFunctions } from "../../../examples/ml-sweep-step-functions.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aloft-sfn-examples-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const quiet = { recorder: {}, replaceRecorder: true } as const;

describe("every example flow written for Step Functions returns the same output from its state machine as from flow.run", () => {
  const cases: Array<[string, () => AnyFlow, () => unknown]> = [
    ["hello", () => hello as AnyFlow, () => ({ names: ["Ada", "Grace", "Alan"] })],
    ["etl-step-functions", () => etlStepFunctions as AnyFlow, () => ({ outputDir: join(dir, "etl"), failFirstAttempts: 0 })],
    ["train-linear-model-step-functions", () => trainLinearModelStepFunctions as AnyFlow, () => ({ learningRate: 0.1, epochs: 20 })],
    ["ml-sweep-step-functions", () => mlSweepStepFunctions as AnyFlow, () => ({ seed: 7 })],
  ];
  for (const [name, flowOf, paramsOf] of cases) {
    test(`${name}`, async () => {
      const flow = flowOf();
      const local = await flow.run(paramsOf(), { ...quiet, cache: new MemoryCacheStore() });
      expect(local.state.type).toBe("COMPLETED");
      const machine = await runStateMachineLocally(flow, paramsOf(), { skipDelays: true, cache: new MemoryCacheStore(), recorder: {} });
      expect(machine).toMatchObject({ status: "Completed" });
      expect(machine.output).toEqual(local.result);
    });
  }
});
