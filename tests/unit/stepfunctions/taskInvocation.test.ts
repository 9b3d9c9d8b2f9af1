import { describe, expect, test } from "vitest";
import * as z from "zod";
import { Abort, flow, MemoryCacheStore, task, type TaskRunSummary } from "aloft";
import { runStepFunctionsInvocation, StepFunctionsTaskError, type InvocationDeps, type ResultPayloads } from "aloft/stepfunctions";
import { taskDepsFromEnvironment } from "../../../lambdas/handlers/task.js";

const RUN = "0f1e2d3c-4b5a-4987-8a6b-5c4d3e2f1a0b";
const ARN = `arn:aws:states:us-east-1:123456789012:execution:hello:${RUN}`;
const deps = (extra: InvocationDeps = {}): InvocationDeps => ({ cache: new MemoryCacheStore(), recorder: {}, ...extra });

function memoryPayloads(): ResultPayloads & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return { values, put: async (key, json) => void values.set(key, json), get: async (key) => values.get(key)! };
}

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StepFunctionsTaskError);
  return { name: (error as Error).name, message: (error as Error).message };
}

const greet = task({ name: "unit-greet", run: async (greeting: string, name: string) => `${greeting}, ${name}!` });
const flaky = task({ name: "unit-flaky", retries: 2, run: async () => {
  throw new Error("upstream 503");
} });
const picky = task({ name: "unit-picky", retries: 3, retryIf: (error) => !String(error).includes("400"), run: async () => {
  throw new Error("upstream 400");
} });
const refusing = task({ name: "unit-refusing", retries: 3, run: async () => {
  throw new Abort("no card on file");
} });
const slow = task({ name: "unit-slow", timeout: "20ms", run: async () => new Promise((resolve) => setTimeout(resolve, 1_000).unref()) });
const huge = task({ name: "unit-huge", run: async () => "y".repeat(300_000) });
const length = task({ name: "unit-length", run: async (text: string) => text.length });
const hooked: string[] = [];
const charge = task({
  name: "unit-charge",
  run: async () => "never",
  onFailure: (info: TaskRunSummary, error: unknown) => {
    hooked.push(`${info.taskName}/${info.state.name}/${info.flowRunId}: ${(error as Error).message}`);
  },
});
flow({ name: "unit-params", params: z.object({ day: z.string(), limit: z.number().default(10) }), run: async () => null });

describe("aloft.task runs one attempt of the named task", () => {
  test("and answers with its result, the arguments given by position", async () => {
    const payload = { kind: "aloft.task", flowName: "hello", task: "unit-greet", args: { "0": "Hello", "1": "Ada" }, flowRunId: RUN, executionArn: ARN, attempt: 0 };
    expect(await runStepFunctionsInvocation(payload, deps())).toBe("Hello, Ada!");
  });

  test("a failure with attempts left is Aloft.TaskFailed, and so is the last attempt's", async () => {
    const payload = { kind: "aloft.task", flowName: "hello", task: "unit-flaky", args: {}, flowRunId: RUN, executionArn: ARN };
    expect(await failure(runStepFunctionsInvocation({ ...payload, attempt: 0 }, deps()))).toEqual({ name: "Aloft.TaskFailed", message: "upstream 503" });
    expect(await failure(runStepFunctionsInvocation({ ...payload, attempt: 2 }, deps()))).toEqual({ name: "Aloft.TaskFailed", message: "upstream 503" });
  });

  test("an Abort, or retryIf answering no, is Aloft.Abort, which no Retry matches", async () => {
    const base = { kind: "aloft.task", flowName: "hello", args: {}, flowRunId: RUN, executionArn: ARN, attempt: 0 };
    expect(await failure(runStepFunctionsInvocation({ ...base, task: "unit-refusing" }, deps()))).toEqual({ name: "Aloft.Abort", message: "no card on file" });
    expect(await failure(runStepFunctionsInvocation({ ...base, task: "unit-picky" }, deps()))).toEqual({ name: "Aloft.Abort", message: "upstream 400" });
  });

  test("the task's own timeout on its last attempt is Aloft.TimedOut", async () => {
    const payload = { kind: "aloft.task", flowName: "hello", task: "unit-slow", args: {}, flowRunId: RUN, executionArn: ARN, attempt: 0 };
    const { name, message } = await failure(runStepFunctionsInvocation(payload, deps()));
    expect(name).toBe("Aloft.TimedOut");
    expect(message).toMatch(/^task run unit-slow exceeded its timeout of 20ms$/);
  });

  test("a result over 256 KB is stored and answered by reference, and a reference in the arguments is read back", async () => {
    const payloads = memoryPayloads();
    const base = { kind: "aloft.task", flowName: "hello", flowRunId: RUN, executionArn: ARN, attempt: 0 };
    const ref = (await runStepFunctionsInvocation({ ...base, task: "unit-huge", args: {} }, deps({ payloads }))) as { $aloftRef: string };
    expect(Object.keys(ref)).toEqual(["$aloftRef"]);
    expect(ref.$aloftRef).toMatch(new RegExp(`^runs/${RUN}/results/[0-9a-f-]{36}/[0-9a-f-]{36}\\.json$`));
    expect(JSON.parse(payloads.values.get(ref.$aloftRef)!)).toHaveLength(300_000);
    expect(await runStepFunctionsInvocation({ ...base, task: "unit-length", args: { "0": ref } }, deps({ payloads }))).toBe(300_000);
    // Another attempt of the same call stores under a key of its own: the first result stays as it was.
    const again = (await runStepFunctionsInvocation({ ...base, task: "unit-huge", args: {}, attempt: 1 }, deps({ payloads }))) as { $aloftRef: string };
    expect(again.$aloftRef).not.toBe(ref.$aloftRef);
    expect(payloads.values.has(ref.$aloftRef)).toBe(true);
  });

  test("a user's value that looks like a reference is passed as it is, never read from the payload store", async () => {
    const payloads = memoryPayloads();
    const base = { kind: "aloft.task", flowName: "hello", flowRunId: RUN, executionArn: ARN, attempt: 0 };
    const ref = (await runStepFunctionsInvocation({ ...base, task: "unit-huge", args: {} }, deps({ payloads }))) as { $aloftRef: string };
    // The same object a user could return, with a key Aloft never makes: a value of length 1 (an object), not a read.
    const lookalike = { $aloftRef: ref.$aloftRef.replace(/\.json$/, ".txt") };
    expect(await runStepFunctionsInvocation({ ...base, task: "unit-length", args: { "0": [lookalike] } }, deps({ payloads }))).toBe(1);
  });

  test("an unknown task or a malformed payload is Aloft.InvalidInvocation, naming the problem", async () => {
    const unknown = { kind: "aloft.task", flowName: "hello", task: "unit-nope", args: {}, flowRunId: RUN, attempt: 0 };
    expect((await failure(runStepFunctionsInvocation(unknown, deps()))).name).toBe("Aloft.InvalidInvocation");
    expect((await failure(runStepFunctionsInvocation(unknown, deps()))).message).toMatch(/^no task named "unit-nope" is defined; defined: /);
    expect(await failure(runStepFunctionsInvocation({ kind: "aloft.task", flowName: "hello", args: {}, flowRunId: RUN }, deps()))).toEqual({
      name: "Aloft.InvalidInvocation",
      message: "invalid task Lambda payload: task: Invalid input: expected string, received undefined",
    });
  });
});

describe("the other invocations", () => {
  test("aloft.params answers with the parameters as the flow's schema parses them, or Aloft.InvalidParameters", async () => {
    const base = { kind: "aloft.params", flowName: "unit-params", flowRunId: RUN, executionArn: ARN };
    expect(await runStepFunctionsInvocation({ ...base, params: { day: "2026-11-01" } }, deps())).toEqual({ day: "2026-11-01", limit: 10 });
    expect(await failure(runStepFunctionsInvocation({ ...base, params: { limit: "x" } }, deps()))).toEqual({
      name: "Aloft.InvalidParameters",
      message: 'invalid parameters for flow "unit-params": day: Invalid input: expected string, received undefined; limit: Invalid input: expected number, received string',
    });
  });

  test("aloft.hook runs the task's onFailure with the error that the Catch carried", async () => {
    const cause = JSON.stringify({ errorMessage: "card declined", errorType: "Aloft.Abort", requestId: "r-1", stackTrace: [] });
    const payload = { kind: "aloft.hook", hook: "onFailure", flowName: "hello", task: "unit-charge", args: {}, flowRunId: RUN, executionArn: ARN, error: { Error: "Aloft.Abort", Cause: cause } };
    expect(await runStepFunctionsInvocation(payload, deps())).toBeNull();
    expect(hooked).toEqual([`unit-charge/Failed/${RUN}: card declined`]);
  });
});

test("the task Lambda names the environment variable it misses", () => {
  expect(() => taskDepsFromEnvironment({ ALOFT_TABLE_NAME: "aloft" })).toThrow("ALOFT_PAYLOAD_BUCKET is not set: this function needs the bucket for task results over 256 KB");
});
