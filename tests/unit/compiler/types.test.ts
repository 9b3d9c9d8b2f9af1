import { describe, expectTypeOf, it } from "vitest";
import { and, compileFlow, eq, flow, gt, isPresent, sleep, task, waitForApproval, when, type CompiledFlow, type Condition, type Approval } from "aloft";

describe("public types of the compiler and the combinators", () => {
  it("types when() as the union of what its branches resolve to", () => {
    const value = when(
      gt(1, 0),
      async () => 1,
      () => "none",
    );
    expectTypeOf(value).resolves.toEqualTypeOf<number | string>();
    expectTypeOf(when(isPresent(1), () => true)).resolves.toEqualTypeOf<boolean | undefined>();
  });

  it("lets eq compare a value only with a literal of its own type", () => {
    expectTypeOf(eq("paid" as string, "paid")).toEqualTypeOf<Condition>();
    expectTypeOf(and(eq(1 as number, 2), isPresent(undefined))).toEqualTypeOf<Condition>();
    // @ts-expect-error a number compared with a string
    void (() => eq(1 as number, "one"));
    // @ts-expect-error gt compares numbers or strings
    void (() => gt(true as boolean, false));
  });

  it("types sleep, waitForApproval and compileFlow", () => {
    expectTypeOf(sleep).parameter(0).toEqualTypeOf<number | `${number}${"ms" | "s" | "m" | "h" | "d"}`>();
    // Typed only: called outside a run, waitForApproval rejects (there is no control plane to resume it).
    expectTypeOf(() => waitForApproval<{ version: string }>()).returns.resolves.toEqualTypeOf<Approval<{ version: string }>>();
    const hello = flow({ name: "typed-compile", run: async (names: string[]) => names.length });
    expectTypeOf(compileFlow(hello)).resolves.toEqualTypeOf<CompiledFlow>();
    // @ts-expect-error compileFlow takes a flow, not a task
    void (() => compileFlow(task({ name: "typed-not-a-flow", run: async () => 1 })));
  });
});
