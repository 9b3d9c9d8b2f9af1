import { StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { beforeAll, describe, expect, it } from "vitest";
import { and, compileFlow, eq, flow, gt, isPresent, lt, MemoryCacheStore, not, or, when, type Condition } from "aloft";
import { MemoryRecorder } from "aloft/testing";
import { aslProblems } from "./validateAsl.js";

beforeAll(() => {
  // aws-local-stepfunctions uses Promise.withResolvers (Node 22+).
  const promise = Promise as unknown as { withResolvers?: () => unknown };
  promise.withResolvers ??= () => {
    let resolve: unknown;
    let reject: unknown;
    const created = new Promise((res, rej) => ((resolve = res), (reject = rej)));
    return { promise: created, resolve, reject };
  };
});

type Input = { v?: unknown; w?: unknown };

const conditions: [string, (input: Input) => Condition][] = [
  ['eq(v, "paid")', (p) => eq(p.v, "paid")],
  ["eq(v, 3)", (p) => eq(p.v, 3)],
  ["eq(v, true)", (p) => eq(p.v, true)],
  ["eq(v, null)", (p) => eq(p.v, null)],
  ["gt(v, 10)", (p) => gt(p.v as number, 10)],
  ['gt(v, "m")', (p) => gt(p.v as string, "m")],
  ["lt(v, 10)", (p) => lt(p.v as number, 10)],
  ["isPresent(v)", (p) => isPresent(p.v)],
  ["and(isPresent(v), gt(v, 1))", (p) => and(isPresent(p.v), gt(p.v as number, 1))],
  ['or(eq(v, "a"), eq(w, "b"))', (p) => or(eq(p.v, "a"), eq(p.w, "b"))],
  ["not(lt(v, 10))", (p) => not(lt(p.v as number, 10))],
];

const inputs: Input[] = [{}, { v: null }, { v: "paid" }, { v: "zebra" }, { v: 3 }, { v: 3.5 }, { v: 11 }, { v: -1 }, { v: true }, { v: "a" }, { w: "b" }, { v: [1] }];

describe("when() branches the same locally and as a compiled Choice state", () => {
  for (const [label, build] of conditions) {
    it(`agrees on ${label} for every input`, async () => {
      const branching = flow({
        name: `when-${label}`,
        run: async (params: Input) => when(build(params), () => "then", () => "otherwise"),
      });
      const { definition } = await compileFlow(branching);
      const machine = new StateMachine(definition as unknown as StateMachineDefinition);

      for (const input of inputs) {
        const local = await branching.run(input, { recorder: new MemoryRecorder(), replaceRecorder: true, cache: new MemoryCacheStore() });
        const compiled = await machine.run({ params: input } as never).result;
        expect({ input, branch: compiled }).toEqual({ input, branch: local.result });
      }
    });
  }
});

describe("the Choice rules a condition compiles into", () => {
  it("pass asl-validator, every builder at once", async () => {
    const all = flow({
      name: "every-builder",
      run: async (p: Input) =>
        when(
          or(and(eq(p.v, "a"), eq(p.w, 1), eq(p.v, false), eq(p.w, null)), not(gt(p.v as number, 2)), lt(p.w as string, "m"), isPresent(p.v)),
          () => 1,
          () => 2,
        ),
    });

    expect(aslProblems((await compileFlow(all)).definition)).toEqual([]);
  });

  async function choiceOf(build: (input: Input) => Condition): Promise<unknown> {
    const branching = flow({ name: "rule", run: async (params: Input) => when(build(params), () => 1, () => 2) });
    const { definition } = await compileFlow(branching);
    return (definition.States["When 1"] as { Choices: unknown[] }).Choices[0];
  }

  it("checks presence and type before comparing, so a missing or mistyped field is false instead of an execution error", async () => {
    expect(await choiceOf((p) => eq(p.v, "paid"))).toEqual({
      And: [
        { Variable: "$.params.v", IsPresent: true },
        { Variable: "$.params.v", IsString: true },
        { Variable: "$.params.v", StringEquals: "paid" },
      ],
      Next: "When 1 then",
    });
  });

  it("nests and / or / not as And / Or / Not", async () => {
    expect(await choiceOf((p) => or(isPresent(p.w), not(gt(p.v as number, 2))))).toEqual({
      Or: [
        { Variable: "$.params.w", IsPresent: true },
        {
          Not: {
            And: [
              { Variable: "$.params.v", IsPresent: true },
              { Variable: "$.params.v", IsNumeric: true },
              { Variable: "$.params.v", NumericGreaterThan: 2 },
            ],
          },
        },
      ],
      Next: "When 1 then",
    });
  });

  it("compiles eq(value, null) into IsNull", async () => {
    expect(await choiceOf((p) => eq(p.v, null))).toEqual({
      And: [
        { Variable: "$.params.v", IsPresent: true },
        { Variable: "$.params.v", IsNull: true },
      ],
      Next: "When 1 then",
    });
  });

  it("folds the parts that read no runtime value while compiling, keeping only the branch taken", async () => {
    const fixed = flow({ name: "fixed", run: async (params: Input) => when(and(eq(2, 2), isPresent(params.v)), () => "yes", () => "no") });
    const never = flow({ name: "never", run: async (params: Input) => when(and(eq(1, 2), isPresent(params.v)), () => "yes", () => "no") });

    expect((await compileFlow(fixed)).definition.States["When 1"]).toMatchObject({ Choices: [{ Variable: "$.params.v", IsPresent: true }] });
    expect((await compileFlow(never)).definition.States).toEqual({
      Return: { Type: "Pass", Parameters: { value: "no" }, OutputPath: "$.value", End: true },
    });
  });

  it("refuses a comparison between two runtime values, naming the builder", async () => {
    const both = flow({ name: "both", run: async (params: Input) => when(eq(params.v, params.w as never), () => 1) });

    await expect(compileFlow(both)).rejects.toThrow(/^tests\/unit\/compiler\/conditions\.test\.ts:\d+: flow "both" compares two runtime values in one eq\(\) condition\. Fix: compare a value with a literal\.$/);
  });
});

describe("condition builders", () => {
  it("reject a literal of the wrong kind at once", () => {
    expect(() => gt(1, Number.NaN)).toThrow("gt(value, literal): literal must be a string, number (got NaN)");
    expect(() => eq({} as never, {} as never)).toThrow("eq(value, literal): literal must be a string, number, boolean, null (got [object Object])");
    // @ts-expect-error and() takes at least one condition
    expect(() => and()).toThrow("and() needs at least one condition");
  });

  it("let when() run a branch only when asked, and resolve to its value", async () => {
    const calls: string[] = [];
    const result = await when(
      gt(5, 3),
      () => (calls.push("then"), "big"),
      () => (calls.push("otherwise"), "small"),
    );

    expect(result).toBe("big");
    expect(calls).toEqual(["then"]);
    expect(await when(lt(5, 3), () => "big")).toBeUndefined();
  });
});
