import { describe, expect, it } from "vitest";
import { CompileError, compileFlow, flow, log, sleep, task, waitForApproval, type StateMachineDefinition } from "aloft";
import { aslProblems } from "./validateAsl.js";

const TRANSIENT = {
  ErrorEquals: ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"],
  IntervalSeconds: 1,
  MaxAttempts: 3,
  BackoffRate: 2,
};

const double = task({ name: "double", run: async (n: number) => n * 2 });
const label = task({ name: "label", run: async (text: string) => text.toUpperCase() });
const render = task({ name: "render", runtime: "fargate", timeout: "10m", retries: 1, retryDelay: 30, run: async (scene: { id: string }) => `frame-${scene.id}` });
const charge = task({
  name: "charge",
  timeout: "1500ms",
  onFailure: async () => undefined,
  run: async (amount: number) => ({ charged: amount }),
});

function states(definition: StateMachineDefinition): StateMachineDefinition["States"] {
  expect(aslProblems(definition)).toEqual([]);
  return definition.States;
}

describe("what each flow construct compiles into", () => {
  it("turns Promise.all over task calls into one Parallel state whose branches hold the calls", async () => {
    const both = flow({
      name: "both",
      run: async ({ n, text }: { n: number; text: string }) => {
        const [doubled, labelled] = await Promise.all([double(n), label(text)]);
        return { doubled, labelled };
      },
    });
    const { definition } = await compileFlow(both);

    expect(definition.StartAt).toBe("Parallel 1");
    const compiled = states(definition);
    expect(compiled["Parallel 1"]).toMatchObject({ Type: "Parallel", ResultPath: "$.results.Parallel_1", Next: "Return" });
    const branches = (compiled["Parallel 1"] as { Branches: { StartAt: string; States: Record<string, Record<string, unknown>> }[] }).Branches;
    expect(branches.map((branch) => branch.StartAt)).toEqual(["double", "label"]);
    expect(branches[0]!.States.double).toMatchObject({ ResultSelector: { "value.$": "$.Payload" }, End: true });
    expect(branches[0]!.States.double).not.toHaveProperty("ResultPath");
    expect(compiled.Return).toEqual({
      Type: "Pass",
      Parameters: { value: { "doubled.$": "$.results.Parallel_1[0].value", "labelled.$": "$.results.Parallel_1[1].value" } },
      OutputPath: "$.value",
      End: true,
    });
  });

  it("runs calls awaited one after the other as consecutive Task states", async () => {
    const chain = flow({ name: "chain", run: async ({ n }: { n: number }) => double(await double(n)) });
    const compiled = states((await compileFlow(chain)).definition);

    expect(Object.keys(compiled)).toEqual(["double", "double 2", "Return"]);
    expect(compiled["double 2"]).toMatchObject({ Parameters: { Payload: { args: { "0.$": "$.results.double.value" } } }, Next: "Return" });
  });

  it("turns sleep into Wait states: seconds, rounded to whole seconds with a warning, or read from a result", async () => {
    const waits = flow({
      name: "waits",
      run: async ({ pause }: { pause: number }) => {
        await sleep("5m");
        await sleep("1500ms");
        await sleep(pause);
      },
    });
    const { definition, warnings } = await compileFlow(waits);
    const compiled = states(definition);

    expect(compiled["Sleep 1"]).toEqual({ Type: "Wait", Seconds: 300, Next: "Sleep 2" });
    expect(compiled["Sleep 2"]).toEqual({ Type: "Wait", Seconds: 2, Next: "Sleep 3" });
    expect(compiled["Sleep 3"]).toEqual({ Type: "Wait", SecondsPath: "$.params.pause", Next: "Return" });
    expect(compiled.Return).toEqual({ Type: "Pass", Parameters: { value: null }, OutputPath: "$.value", End: true });
    expect(warnings).toEqual(['flow "waits": sleep of 1500ms becomes 2s (Step Functions counts whole seconds, at least 1)']);
  });

  it("turns waitForApproval into a lambda:invoke.waitForTaskToken Task with the timeout", async () => {
    const release = flow({
      name: "release",
      run: async () => {
        const approval = await waitForApproval<{ version: string }>({ timeout: "1h" });
        return label(approval.input.version);
      },
    });
    const compiled = states((await compileFlow(release)).definition);

    expect(compiled["Approval 1"]).toEqual({
      Type: "Task",
      Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken",
      Parameters: {
        FunctionName: "${AloftTaskFunctionArn}",
        Payload: {
          kind: "aloft.approval",
          flowName: "release",
          "flowRunId.$": "$$.Execution.Name",
          "executionArn.$": "$$.Execution.Id",
          "taskToken.$": "$$.Task.Token",
          stateName: "Approval 1",
          timeoutSeconds: 3600,
        },
      },
      ResultSelector: { "value.$": "$" },
      ResultPath: "$.results.Approval_1",
      TimeoutSeconds: 3600,
      Next: "label",
    });
    expect(compiled.label).toMatchObject({ Parameters: { Payload: { args: { "0.$": "$.results.Approval_1.value.input.version" } } } });
  });

  it("refuses approvals, subflows, Fargate tasks and distributed maps in an EXPRESS state machine", async () => {
    const release = flow({ name: "express-release", run: async () => waitForApproval() });

    await expect(compileFlow(release, { type: "EXPRESS" })).rejects.toThrow(
      /^tests\/unit\/compiler\/constructs\.test\.ts:\d+: flow "express-release" waits for an approval, which an EXPRESS state machine cannot do\. Fix: compile it with type "STANDARD"\.$/,
    );
    const rendering = flow({ name: "express-render", run: async () => render({ id: "1" }) });
    await expect(compileFlow(rendering, { type: "EXPRESS" })).rejects.toBeInstanceOf(CompileError);
  });

  it("runs a Fargate task with ecs:runTask.sync, its invocation in the container's environment, and reads its result back", async () => {
    const film = flow({ name: "film", run: async ({ id }: { id: string }) => render({ id }) });
    const { definition, substitutions, tasks, warnings } = await compileFlow(film);
    const compiled = states(definition);

    expect(Object.keys(compiled)).toEqual(["render input", "render", "render result", "Return"]);
    expect(compiled["render input"]).toEqual({
      Type: "Pass",
      Parameters: {
        kind: "aloft.task",
        flowName: "film",
        task: "render",
        args: { "0": { "id.$": "$.params.id" } },
        "flowRunId.$": "$$.Execution.Name",
        "executionArn.$": "$$.Execution.Id",
      },
      ResultPath: "$.invocations.render",
      Next: "render",
    });
    expect(compiled.render).toEqual({
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
                { Name: "ALOFT_TASK_INVOCATION", "Value.$": "States.JsonToString($.invocations.render)" },
                { Name: "ALOFT_TASK_ATTEMPT", "Value.$": "States.Format('{}', $$.State.RetryCount)" },
              ],
            },
          ],
        },
      },
      ResultPath: null,
      TimeoutSeconds: 600,
      Retry: [{ ErrorEquals: ["States.TaskFailed", "States.Timeout"], IntervalSeconds: 30, MaxAttempts: 1, BackoffRate: 1 }],
      Next: "render result",
    });
    expect(compiled["render result"]).toMatchObject({
      Resource: "arn:aws:states:::lambda:invoke",
      Parameters: { Payload: { kind: "aloft.result", task: "render", stateName: "render" } },
      ResultSelector: { "value.$": "$.Payload" },
      ResultPath: "$.results.render",
    });
    expect(substitutions).toEqual([
      "AloftClusterArn",
      "AloftRunnerContainerName",
      "AloftRunnerTaskDefinitionArn",
      "AloftSecurityGroupId",
      "AloftSubnet0",
      "AloftSubnet1",
      "AloftTaskFunctionArn",
    ]);
    expect(tasks).toEqual([{ task: "render", state: "render", runtime: "fargate" }]);
    expect(warnings).toEqual(['task "render": on Fargate every failure is retried, an Abort included (ECS reports no error name)']);
  });

  it("turns onFailure into a Catch to a hook state that then fails the execution with the task's error", async () => {
    const billing = flow({ name: "billing", run: async ({ amount }: { amount: number }) => charge(amount) });
    const { definition, warnings } = await compileFlow(billing);
    const compiled = states(definition);

    expect(compiled.charge).toMatchObject({
      TimeoutSeconds: 2,
      Retry: [TRANSIENT],
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "charge onFailure" }],
      Next: "Return",
    });
    expect(compiled["charge onFailure"]).toEqual({
      Type: "Task",
      Resource: "arn:aws:states:::lambda:invoke",
      Parameters: {
        FunctionName: "${AloftTaskFunctionArn}",
        Payload: {
          kind: "aloft.hook",
          hook: "onFailure",
          flowName: "billing",
          task: "charge",
          args: { "0.$": "$.params.amount" },
          "flowRunId.$": "$$.Execution.Name",
          "executionArn.$": "$$.Execution.Id",
          "error.$": "$.error",
        },
      },
      ResultPath: null,
      Retry: [TRANSIENT],
      Next: "charge failed",
    });
    expect(compiled["charge failed"]).toEqual({ Type: "Fail", ErrorPath: "$.error.Error", CausePath: "$.error.Cause" });
    expect(warnings).toEqual(['task "charge": timeout of 1500ms becomes TimeoutSeconds 2 (Step Functions counts whole seconds)']);
  });

  it("maps with MaxConcurrency, distributed mode, and items built in the flow body written to the state first", async () => {
    const mapping = flow({
      name: "mapping",
      taskConcurrency: 4,
      run: async ({ n }: { n: number }) => {
        const inline = await double.map([1, n, 3], { concurrency: 10 });
        const distributed = await double.map(inline, { mode: "distributed" });
        return distributed;
      },
    });
    const { definition, warnings } = await compileFlow(mapping);
    const compiled = states(definition);

    expect(Object.keys(compiled)).toEqual(["Map double items", "Map double", "Map double 2", "Return"]);
    expect(compiled["Map double items"]).toEqual({
      Type: "Pass",
      Parameters: { "value.$": "States.Array(1, $.params.n, 3)" },
      ResultPath: "$.values.Map_double_items",
      Next: "Map double",
    });
    expect(compiled["Map double"]).toMatchObject({ ItemsPath: "$.values.Map_double_items.value", MaxConcurrency: 4, ItemProcessor: { ProcessorConfig: { Mode: "INLINE" } } });
    expect(compiled["Map double 2"]).toMatchObject({
      ItemsPath: "$.results.Map_double.value",
      MaxConcurrency: 4,
      ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" }, StartAt: "double 2" },
    });
    expect(warnings).toEqual(['flow "mapping": taskConcurrency 4 limits each Map state (MaxConcurrency), not the task runs of the whole execution']);
  });

  it("builds strings from template literals with States.Format and reads .length with States.ArrayLength", async () => {
    const greeting = flow({
      name: "greeting",
      run: async ({ name, tags }: { name: string; tags: string[] }) => label(`hello {${name}}, you have ${tags.length} tags`),
    });
    const compiled = states((await compileFlow(greeting)).definition);

    expect(compiled.label).toMatchObject({
      Parameters: { Payload: { args: { "0.$": "States.Format('hello \\{{}\\}, you have {} tags', $.params.name, States.ArrayLength($.params.tags))" } } },
    });
  });

  it("sets the flow's timeout as the state machine's TimeoutSeconds and warns about what it does not compile", async () => {
    const nightly = flow({
      name: "nightly",
      timeout: "2h",
      retries: 1,
      onCompletion: async () => undefined,
      run: async (_params: void, ctx) => {
        ctx.artifact.markdown("report", "# done");
        void double(1);
        return "ok";
      },
    });
    const { definition, warnings } = await compileFlow(nightly);

    expect(definition.TimeoutSeconds).toBe(7200);
    expect(states(definition).double).toMatchObject({ Next: "Return" });
    expect(warnings).toEqual([
      'flow "nightly": artifacts published in the flow body are not published by the state machine; publish them from a task',
      'flow "nightly": 1 call(s) are never awaited; the state machine runs them before it returns',
      'flow "nightly": flow retries are not compiled (a failed execution stays failed; retry it as a new run)',
      'flow "nightly": the flow\'s onCompletion hook(s) are not run by the state machine',
    ]);
  });
});

describe("state names", () => {
  it("stay within Step Functions' 80 characters, cut in the middle so they stay unique and keep their end", async () => {
    const long = task({ name: `${"extract-".repeat(12)}rows`, onFailure: async () => undefined, run: async () => 1 });
    const twice = flow({ name: "long-names", run: async () => [await long(), await long()] });
    const names = Object.keys((await compileFlow(twice)).definition.States);

    expect(names.every((name) => name.length <= 80)).toBe(true);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((name) => name.endsWith("onFailure"))).toHaveLength(2);
    const head = "extract-".repeat(5);
    expect(names).toEqual([
      `${head}…ct-extract-extract-extract-extract-rows`,
      `${head}…-extract-extract-extract-extract-rows 2`,
      "Return",
      `${head}…xtract-extract-extract-rows 2 onFailure`,
      `${head}…t-extract-extract-extract-rows 2 failed`,
      `${head}…-extract-extract-extract-rows onFailure`,
      `${head}…act-extract-extract-extract-rows failed`,
    ]);
  });
});

describe("plain JavaScript on values known while compiling", () => {
  it("compiles: branches and loops on literals, callbacks whose parameters shadow the flow's, the run's attempt, log lines", async () => {
    const literalWork = flow({
      name: "literal-work",
      run: async ({ n }: { n: number }, ctx) => {
        const weights = [1, 2, 3].map((n) => (n === 2 ? n * 10 : n));
        let total = 0;
        for (const weight of weights) if (weight > 1) total += weight;
        if (ctx.attempt > 1) ctx.log.info("retrying");
        const doubled = await double(n);
        log.info("doubled", { doubled, label: `n=${n}` });
        return { total, doubled };
      },
    });
    const { definition } = await compileFlow(literalWork);

    expect(states(definition).Return).toEqual({
      Type: "Pass",
      Parameters: { value: { total: 23, "doubled.$": "$.results.double.value" } },
      OutputPath: "$.value",
      End: true,
    });
  });
});

describe("the task options that sdk/definitions check for the compiler", () => {
  it("reject an unknown runtime", () => {
    expect(() => task({ name: "odd", runtime: "gpu" as never, run: async () => 1 })).toThrow('task "odd": runtime must be "local", "lambda" or "fargate" (got "gpu")');
  });

  it("run every runtime in process locally, and ignore the map mode", async () => {
    const cube = task({ name: "cube", runtime: "fargate", run: async (n: number) => n ** 3 });
    const local = flow({ name: "local-runtimes", run: async () => cube.map([1, 2], { mode: "distributed" }) });

    const run = await local.run(undefined, { replaceRecorder: true, recorder: {} });
    expect(run.result).toEqual([1, 8]);
  });
});
