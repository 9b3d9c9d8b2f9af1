import { describe, expectTypeOf, it } from "vitest";
import type { AloftClient, CreateWorkPoolRequest, WorkPoolResponse } from "aloft";

describe("work pool types of the client", () => {
  it("needs a name and a type of lambda, fargate or local to create a pool", () => {
    expectTypeOf<CreateWorkPoolRequest["type"]>().toEqualTypeOf<"lambda" | "fargate" | "local">();
    const ok: CreateWorkPoolRequest = { name: "etl", type: "fargate", jobSettings: { cpu: 1024, memory: 4096 }, queues: [{ name: "bulk", priority: 5 }] };
    void ok;
    // @ts-expect-error a pool type Aloft does not have
    const gpu: CreateWorkPoolRequest = { name: "etl", type: "gpu" };
    // @ts-expect-error a pool needs a type
    const untyped: CreateWorkPoolRequest = { name: "etl" };
    void [gpu, untyped];
  });

  it("answers pools with typed queues, and takes a queue name to pause one", () => {
    expectTypeOf<WorkPoolResponse["queues"][number]>().toEqualTypeOf<{ name: string; priority: number; concurrencyLimit?: number | undefined; paused: boolean }>();
    expectTypeOf<AloftClient["workPools"]["pause"]>().parameters.toEqualTypeOf<[name: string, options?: { queue?: string }]>();
    expectTypeOf<AloftClient["workPools"]["get"]>().returns.resolves.toEqualTypeOf<WorkPoolResponse>();
  });
});
