import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as z from "zod";
import { Abort, eq, flow, getRunContext, MemoryCacheStore, sleep, task, when, type Flow } from "aloft";
import { runStateMachineLocally, type LocalRunOptions, type ResultPayloads } from "aloft/stepfunctions";
import { stepFunctionsControlPlane } from "../../../lambdas/services/stepFunctionTasks.js";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";

const quiet = { recorder: {}, replaceRecorder: true } as const;
const local = (options: LocalRunOptions = {}): LocalRunOptions => ({ skipDelays: true, cache: new MemoryCacheStore(), recorder: {}, ...options });

async function bothWays<P, R>(subject: Flow<P, R>, params: P) {
  const engine = await subject.run(params, { ...quiet, cache: new MemoryCacheStore() });
  const machine = await runStateMachineLocally(subject, params, local());
  return { engine, machine };
}

const double = task({ name: "sfn-double", run: async (n: number) => n * 2 });
const add = task({ name: "sfn-add", run: async (a: number, b: number) => a + b });
const label = task({ name: "sfn-label", run: async (kind: string, total: number) => `${kind}:${total}` });

const child = flow({
  name: "sfn child",
  params: z.object({ n: z.number() }),
  run: async ({ n }) => ({ doubled: await double(n) }),
});

const combined = flow({
  name: "sfn-combined",
  params: z.object({ items: z.array(z.number()), kind: z.string().default("big"), pause: z.number().default(1) }),
  run: async ({ items, kind, pause }) => {
    const doubled = await double.map(items, { concurrency: 2 });
    const [a, b] = await Promise.all([add(1, 2), double(5)]);
    await sleep(pause);
    const total = await add(a, b);
    const sub = await child({ n: total });
    const text = await when(eq(kind, "big"), () => label("big", total), () => label("small", total));
    return { doubled, total, sub, text };
  },
});

describe("runStateMachineLocally returns what flow.run returns", () => {
  test("for a flow with a map, a Promise.all, a sleep, a subflow and a branch (both branches)", async () => {
    for (const params of [{ items: [1, 2, 3], pause: 0 }, { items: [4], kind: "small", pause: 0 }]) {
      const { engine, machine } = await bothWays(combined, params);
      expect(engine.state.type).toBe("COMPLETED");
      expect(machine).toMatchObject({ status: "Completed" });
      expect(machine.output).toEqual(engine.result);
    }
  });

  test("parameters go through the flow's schema first: defaults apply and invalid ones fail InvalidParameters", async () => {
    const bad = await runStateMachineLocally(combined, { items: "nope" } as never, local());
    expect(bad.status).toBe("Failed");
    expect(bad.error?.error).toBe("Aloft.InvalidParameters");
    expect(JSON.parse(bad.error!.cause)).toMatchObject({
      errorType: "Aloft.InvalidParameters",
      errorMessage: 'invalid parameters for flow "sfn-combined": items: Invalid input: expected array, received string',
    });
  });
});

describe("retries, failures and timeouts behave as in the local engine", () => {
  test("a task that fails twice and then succeeds makes three attempts in both", async () => {
    const calls = { count: 0 };
    const flaky = task({
      name: "sfn-flaky",
      retries: 2,
      retryDelay: "10ms",
      run: async (n: number) => {
        calls.count++;
        if (getRunContext()!.attempt < 3) throw new Error(`attempt ${getRunContext()!.attempt} failed`);
        return n + 1;
      },
    });
    const subject = flow({ name: "sfn-flaky-flow", run: async () => flaky(41) });

    const engine = await subject.run(undefined, quiet);
    const engineCalls = calls.count;
    calls.count = 0;
    const machine = await runStateMachineLocally(subject, undefined, local());

    expect(engine.result).toBe(42);
    expect(engine.taskRuns[0]!.attempts).toBe(3);
    expect(machine).toMatchObject({ status: "Completed", output: 42 });
    expect([engineCalls, calls.count]).toEqual([3, 3]);
  });

  test("an Abort is not retried and a task that keeps failing fails after its retries", async () => {
    const calls = { abort: 0, failing: 0 };
    const aborting = task({ name: "sfn-aborting", retries: 3, run: async () => {
      calls.abort++;
      throw new Abort("no card on file");
    } });
    const failing = task({ name: "sfn-failing", retries: 1, run: async () => {
      calls.failing++;
      throw new Error("still broken");
    } });
    const abortFlow = flow({ name: "sfn-abort-flow", run: async () => aborting() });
    const failFlow = flow({ name: "sfn-fail-flow", run: async () => failing() });

    const aborted = await runStateMachineLocally(abortFlow, undefined, local());
    const failed = await runStateMachineLocally(failFlow, undefined, local());

    expect(aborted).toMatchObject({ status: "Failed", error: { error: "Aloft.Abort" } });
    expect(JSON.parse(aborted.error!.cause)).toMatchObject({ errorType: "Aloft.Abort", errorMessage: "no card on file" });
    expect(failed).toMatchObject({ status: "Failed", error: { error: "Aloft.TaskFailed" } });
    expect(calls).toEqual({ abort: 1, failing: 2 });
  });

  test("a failed task's Catch runs its onFailure hook with the task's error, then the execution fails", async () => {
    const seen: string[] = [];
    const charge = task({
      name: "sfn-charge",
      run: async (card: string) => {
        throw new Abort(`card ${card} declined`);
      },
      onFailure: (info, error) => {
        seen.push(`${info.taskName}: ${(error as Error).message}`);
      },
    });
    const subject = flow({ name: "sfn-charge-flow", run: async () => charge("4242") });

    const engine = await subject.run(undefined, quiet);
    const engineSeen = seen.splice(0);
    const machine = await runStateMachineLocally(subject, undefined, local());

    expect(engine.state.type).toBe("FAILED");
    expect(machine).toMatchObject({ status: "Failed", error: { error: "Aloft.Abort" } });
    expect(seen).toEqual(engineSeen);
    expect(seen).toEqual(["sfn-charge: card 4242 declined"]);
  });

  test("a task past its timeout raises States.Timeout and the run ends TimedOut", async () => {
    const slow = task({
      name: "sfn-slow",
      timeout: "1s",
      run: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5_000).unref());
        return "late";
      },
    });
    const subject = flow({ name: "sfn-slow-flow", run: async () => slow() });

    const machine = await runStateMachineLocally(subject, undefined, local());

    expect(machine).toMatchObject({ status: "TimedOut", error: { error: "States.Timeout" } });
  });
});

test("a Fargate task runs in process and its stored result reaches the next state, retried like ECS retries it", async () => {
  const calls = { count: 0 };
  const train = task({
    name: "sfn-train",
    runtime: "fargate",
    retries: 1,
    run: async (rate: number) => {
      calls.count++;
      if (calls.count === 1) throw new Error("spot capacity reclaimed");
      return { rate, loss: 1 / rate };
    },
  });
  const subject = flow({ name: "sfn-train-flow", run: async ({ rate }: { rate: number }) => ({ model: await train(rate), label: await label("loss", rate) }) });

  const engine = await subject.run({ rate: 4 }, quiet);
  calls.count = 0;
  const machine = await runStateMachineLocally(subject, { rate: 4 }, local());

  expect(machine).toMatchObject({ status: "Completed" });
  expect(machine.output).toEqual(engine.result);
  expect(calls.count).toBe(2);
});

test("a failed subflow fails its parent's state with States.TaskFailed and DescribeExecution's cause", async () => {
  const broken = task({ name: "sfn-broken", run: async () => {
    throw new Abort("child gave up");
  } });
  const inner = flow({ name: "sfn-inner", run: async () => broken() });
  const outer = flow({ name: "sfn-outer", run: async () => ({ inner: await inner() }) });

  const machine = await runStateMachineLocally(outer, undefined, local());

  expect(machine).toMatchObject({ status: "Failed", error: { error: "States.TaskFailed" } });
  expect(JSON.parse(machine.error!.cause)).toMatchObject({ Status: "FAILED", Error: "Aloft.Abort" });
});

test("aborting the signal stops the execution: it ends Cancelled", async () => {
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const waiting = task({ name: "sfn-waiting", run: async () => {
    markStarted();
    await new Promise((resolve) => setTimeout(resolve, 5_000).unref());
    return "too late";
  } });
  const subject = flow({ name: "sfn-waiting-flow", run: async () => waiting() });
  const controller = new AbortController();

  const running = runStateMachineLocally(subject, undefined, local({ signal: controller.signal }));
  await started;
  controller.abort();

  expect(await running).toMatchObject({ status: "Cancelled", error: { error: "States.Aborted" } });
});

describe("results over 256 KB", () => {
  test("travel between states by reference and come back as the value", async () => {
    const stored: string[] = [];
    const values = new Map<string, string>();
    const payloads: ResultPayloads = {
      put: async (key, json) => {
        stored.push(key);
        values.set(key, json);
      },
      get: async (key) => values.get(key)!,
    };
    const big = task({ name: "sfn-big", run: async (size: number) => "x".repeat(size) });
    const measure = task({ name: "sfn-measure", run: async (text: string) => text.length });
    const subject = flow({
      name: "sfn-big-flow",
      run: async ({ size }: { size: number }) => {
        const text = await big(size);
        return { length: await measure(text), text };
      },
    });

    const engine = await subject.run({ size: 300_000 }, quiet);
    const machine = await runStateMachineLocally(subject, { size: 300_000 }, local({ payloads }));

    expect(machine).toMatchObject({ status: "Completed" });
    expect(machine.output).toEqual(engine.result);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatch(new RegExp(`^runs/${machine.runId}/results/`));
  });
});

describe("with a control plane", () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane();
  });
  afterAll(async () => {
    await cp.dispose();
  });

  test("the run and its task runs are recorded, one task run per call whatever its attempts", async () => {
    const calls = { count: 0 };
    const wobbly = task({ name: "sfn-wobbly", retries: 1, run: async () => {
      calls.count++;
      if (calls.count === 1) throw new Error("first try fails");
      return "ok";
    } });
    const subject = flow({ name: "sfn-recorded", run: async () => wobbly() });

    const machine = await runStateMachineLocally(subject, undefined, local({ controlPlane: stepFunctionsControlPlane(cp.services) }));

    const run = await cp.services.flowRuns.get(machine.runId);
    expect(run.state.type).toBe("COMPLETED");
    expect(run.result).toBe("ok");
    const taskRuns = (await cp.services.taskRuns.listForFlowRun(machine.runId, { limit: 10 })).items;
    expect(taskRuns.map((taskRun) => [taskRun.taskName, taskRun.state.type, taskRun.attempts])).toEqual([["sfn-wobbly", "COMPLETED", 2]]);
  });
});
