import { describe, expect, it } from "vitest";
import { AloftError, CompileError, MemoryCacheStore, compileFlow, type Flow } from "aloft";
import { MemoryRecorder } from "aloft/testing";
import * as refusals from "./fixtures/refusals.js";

const FILE = "tests/unit/compiler/fixtures/refusals.ts";
const FIX_WHEN =
  "branch with when(condition, then, otherwise) and the condition builders (eq, gt, lt, isPresent, and, or, not), do the computation in a task, or run the flow in durable mode";
const FIX_TASK = "do this work in a task (the next state sees its result), or run the flow in durable mode";
const FIX_INPUT = "pass it in as a parameter or compute it in a task, or run the flow in durable mode";

/** Compiling a flow, whatever its parameters and result. */
type Compile = () => Promise<unknown>;
const compiling =
  <P, R>(flow: Flow<P, R>): Compile =>
  () =>
    compileFlow(flow);

async function refusal(compile: Compile): Promise<CompileError> {
  const error = await compile().then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(CompileError);
  return error as CompileError;
}

const cases: [string, Compile, number, string, string][] = [
  ["an if on a task's result", compiling(refusals.ifOnResult), 17, `flow "if-on-result" branches on a task's result with plain JavaScript (an if statement)`, FIX_WHEN],
  ["a ternary on a parameter", compiling(refusals.ternaryOnParams), 24, `flow "ternary-on-params" branches on the flow's parameters with plain JavaScript (a ?: conditional)`, FIX_WHEN],
  ["=== on a task's result", compiling(refusals.equalityOnResult), 31, `flow "equality-on-result" branches on a task's result with plain JavaScript (a === comparison)`, FIX_WHEN],
  ["> on a task's result", compiling(refusals.comparisonOnResult), 40, `flow "comparison-on-result" compares or computes with a task's result in plain JavaScript`, FIX_WHEN],
  ["arithmetic on a task's result", compiling(refusals.arithmeticOnResult), 49, `flow "arithmetic-on-result" compares or computes with a task's result in plain JavaScript`, FIX_WHEN],
  ["an array method on a task's result", compiling(refusals.methodOnResult), 57, `flow "method-on-result" calls .filter() on a task's result`, FIX_TASK],
  [
    "a for…of loop over a task's result",
    compiling(refusals.loopOverResult),
    65,
    `flow "loop-over-result" iterates over a task's result (a for…of loop, a spread or array destructuring)`,
    `map a task over it with task.map(items), ${FIX_TASK}`,
  ],
  [
    "a spread of a task's result",
    compiling(refusals.spreadOfResult),
    73,
    `flow "spread-of-result" lists the fields of a task's result (a spread, Object.keys or a for…in loop)`,
    `pass the value whole or pick its fields one by one, or ${FIX_TASK}`,
  ],
  ["awaiting fetch()", compiling(refusals.awaitsFetch), 80, `flow "awaits-fetch" calls fetch() in the flow body`, "call it in a task, or run the flow in durable mode"],
  [
    "awaiting file I/O",
    compiling(refusals.awaitsFile),
    88,
    `flow "awaits-file" awaits something that is not a task, a subflow, sleep() or waitForApproval() (a plain promise, I/O or a timer) after this line`,
    "move that work into a task, or run the flow in durable mode",
  ],
  ["awaiting a timer", compiling(refusals.awaitsTimer), 97, `flow "awaits-timer" sets a timer in the flow body`, "wait with sleep(duration) from aloft, or run the flow in durable mode"],
  ["Date.now()", compiling(refusals.readsClock), 104, `flow "reads-clock" reads the clock (Date.now / new Date()) in the flow body`, FIX_INPUT],
  ["new Date()", compiling(refusals.readsNewDate), 109, `flow "reads-new-date" reads the clock (Date.now / new Date()) in the flow body`, FIX_INPUT],
  ["Math.random()", compiling(refusals.readsRandom), 114, `flow "reads-random" reads randomness (Math.random / randomUUID) in the flow body`, FIX_INPUT],
  ["randomUUID() from node:crypto", compiling(refusals.readsUuid), 119, `flow "reads-uuid" reads randomness (Math.random / randomUUID) in the flow body`, FIX_INPUT],
  [
    "a task whose retryDelay is a function",
    compiling(refusals.retryDelayFunction),
    124,
    `flow "retry-delay-function" calls task "backoff", whose retryDelay is a function, which Step Functions cannot express`,
    "give retryDelay as one delay or a list of delays (the compiler fits a backoff curve to the list), or run the flow in durable mode",
  ],
  [
    ".catch() on a task call",
    compiling(refusals.catchesTask),
    129,
    `flow "catches-task" catches a task call's failure in the flow body`,
    "give the task an onFailure hook, or run the flow in durable mode",
  ],
  [
    "an un-awaited call passed to a task",
    compiling(refusals.unawaitedArgument),
    134,
    `flow "unawaited-argument" passes a call that is not awaited yet to task "ship" (argument 1)`,
    "await the call first and pass its result",
  ],
  [
    "a function passed to a task",
    compiling(refusals.functionArgument),
    139,
    `flow "function-argument" passes a function to task "ship" (argument 1.toString)`,
    "pass JSON values (objects, arrays, strings, numbers, booleans, null)",
  ],
  ["JSON.stringify of a task's result", compiling(refusals.stringifiesResult), 146, `flow "stringifies-result" serializes a task's result in the flow body`, FIX_TASK],
  [
    "a flow body that throws",
    compiling(refusals.throwsInBody),
    153,
    `flow "throws-in-body" threw while being traced (not ready)`,
    "a flow body that always throws, or throws on a condition, cannot compile; throw from a task, or run the flow in durable mode",
  ],
  [
    "a loop whose end depends on a task's result",
    compiling(refusals.loopsOnResult),
    161,
    `flow "loops-on-result" branches on a task's result with plain JavaScript (a loop condition)`,
    FIX_WHEN,
  ],
  [
    "a parameter default in the run function",
    compiling(refusals.defaultInRun),
    168,
    `flow "default-in-run" gives the parameter "limit" a default in its run function, which the state machine cannot apply`,
    "give the default in the params schema (.default(10))",
  ],
  [
    "try/catch around an awaited task",
    compiling(refusals.tryCatch),
    174,
    `flow "try-catch" handles a failure with try/catch around an await`,
    "give the task an onFailure hook, or run the flow in durable mode",
  ],
  [
    "Promise.all over an array map of the parameters",
    compiling(refusals.mapsWithArrayMap),
    184,
    `flow "maps-with-array-map" calls .map() on the flow's parameters`,
    `map a task over it with task.map(items) (a Map state), ${FIX_TASK}`,
  ],
];

describe("compileFlow refuses what a state machine cannot do, naming the file, line and fix", () => {
  it.each(cases)("refuses %s", async (_case, compile, line, problem, fix) => {
    const error = await refusal(compile);

    expect(error.message).toBe(`${FILE}:${line}: ${problem}. Fix: ${fix}.`);
    expect(error).toMatchObject({ code: "COMPILE_ERROR", file: FILE, line, fix });
    expect(error).toBeInstanceOf(AloftError);
  });

  it("leaves the clock, randomness and timers working outside a trace", async () => {
    await refusal(compiling(refusals.readsClock));

    expect(Date.now()).toBeGreaterThan(0);
    expect(new Date(0).toISOString()).toBe("1970-01-01T00:00:00.000Z");
    expect(new Date()).toBeInstanceOf(Date);
    expect(new Date().constructor).toBe(Date);
    expect(Math.random()).toBeLessThan(1);
    expect(crypto.randomUUID()).toMatch(/^[0-9a-f-]{36}$/);
    await new Promise((resolve) => setTimeout(resolve, 1));
  });

  it("still runs a refused flow locally (the refusal is only about Step Functions)", async () => {
    await refusal(compiling(refusals.ifOnResult));

    const run = await refusals.ifOnResult.run({ id: "7" }, { replaceRecorder: true, recorder: new MemoryRecorder(), cache: new MemoryCacheStore() });
    expect(run.result).toBe("shipped 7");
  });
});
