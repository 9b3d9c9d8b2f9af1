import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { flow, task, type FlowRun } from "aloft";

describe("public SDK types", () => {
  it("types a task handle like the function it wraps", () => {
    const add = task({ name: "typed-add", run: async (a: number, b: number) => a + b });
    expectTypeOf(add).parameters.toEqualTypeOf<[number, number]>();
    expectTypeOf(add(1, 2)).resolves.toEqualTypeOf<number>();
    // @ts-expect-error wrong argument type
    void (() => add("1", 2));
  });

  it("offers .map only on tasks of one argument", () => {
    const double = task({ name: "typed-double", run: async (x: number) => x * 2 });
    expectTypeOf(double.map([1, 2])).resolves.toEqualTypeOf<number[]>();
    const add = task({ name: "typed-add-2", run: async (a: number, b: number) => a + b });
    expectTypeOf(add.map).toEqualTypeOf<never>();
  });

  it("types flow parameters from the zod schema's input and results from run", () => {
    const etl = flow({
      name: "typed-etl",
      params: z.object({ day: z.string(), limit: z.coerce.number().default(10) }),
      run: async ({ day, limit }) => {
        expectTypeOf(limit).toEqualTypeOf<number>();
        return { day, rows: limit };
      },
    });
    expectTypeOf(etl.run).parameter(0).toMatchTypeOf<{ day: string }>();
    expectTypeOf(etl.run({ day: "x" })).resolves.toEqualTypeOf<FlowRun<{ day: string; rows: number }>>();
    expectTypeOf(etl({ day: "x" })).resolves.toEqualTypeOf<{ day: string; rows: number }>();
    // @ts-expect-error day is required
    void (() => etl.run({}));
  });

  it("lets a flow without parameters run with none", () => {
    const hello = flow({ name: "typed-hello", run: async () => "hi" });
    expectTypeOf(hello.run()).resolves.toEqualTypeOf<FlowRun<string>>();
  });
});
