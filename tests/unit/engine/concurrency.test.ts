import { describe, expect, it } from "vitest";
import { flow, task } from "aloft";
import { runFlowForTest } from "aloft/testing";

/** A task that records how many of its kind are in flight at once. */
function trackedTask(name: string, tags: string[] = []) {
  const gauge = { inFlight: 0, peak: 0, order: [] as number[] };
  const tracked = task({
    name,
    tags,
    run: async (x: number) => {
      gauge.inFlight++;
      gauge.peak = Math.max(gauge.peak, gauge.inFlight);
      await new Promise((resolve) => setTimeout(resolve, (x * 7) % 5)); // uneven durations
      gauge.inFlight--;
      gauge.order.push(x);
      return x * 2;
    },
  });
  return { tracked, gauge };
}

describe(".map", () => {
  it("returns results in input order even when items finish out of order", async () => {
    const { tracked, gauge } = trackedTask("double-ordered");
    const items = Array.from({ length: 20 }, (_, i) => i);
    const { run, taskRuns } = await runFlowForTest(flow({ name: "map-order", run: async () => tracked.map(items, { concurrency: 5 }) }), undefined);
    expect(run.result).toEqual(items.map((x) => x * 2));
    expect(gauge.order).not.toEqual(items);
    expect(taskRuns.map((t) => t.mapIndex).sort((a, b) => a! - b!)).toEqual(items);
  });

  it("never has more than `concurrency` items in flight", async () => {
    const { tracked, gauge } = trackedTask("double-bounded");
    await runFlowForTest(flow({ name: "map-bounded", run: async () => tracked.map(Array.from({ length: 30 }, (_, i) => i), { concurrency: 3 }) }), undefined);
    expect(gauge.peak).toBe(3);
  });

  it("starts no new items after a failure and rejects with it", async () => {
    const started: number[] = [];
    const failsOnThree = task({
      name: "fails-on-three",
      run: async (x: number) => {
        started.push(x);
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (x === 3) throw new Error("bad row 3");
        return x;
      },
    });
    const { run } = await runFlowForTest(flow({ name: "map-failure", run: async () => failsOnThree.map([1, 2, 3, 4, 5, 6, 7, 8], { concurrency: 2 }) }), undefined);
    expect(run.state.type).toBe("FAILED");
    expect(run.error?.message).toContain("bad row 3");
    expect(started).not.toContain(8);
  });

  it("maps an empty list to an empty list", async () => {
    const { tracked } = trackedTask("double-empty");
    const { run } = await runFlowForTest(flow({ name: "map-empty", run: async () => tracked.map([]) }), undefined);
    expect(run.result).toEqual([]);
  });
});

describe("flow concurrency limits", () => {
  it("caps in-flight task runs across the flow run with taskConcurrency, subflows included", async () => {
    const { tracked, gauge } = trackedTask("capped");
    const child = flow({ name: "capped-child", run: async () => tracked.map(Array.from({ length: 10 }, (_, i) => i)) });
    const parent = flow({
      name: "capped-parent",
      taskConcurrency: 4,
      run: async () => Promise.all([tracked.map(Array.from({ length: 10 }, (_, i) => i)), child(undefined), child(undefined)]),
    });
    const { run, taskRuns } = await runFlowForTest(parent, undefined);
    expect(run.state.type).toBe("COMPLETED");
    expect(taskRuns).toHaveLength(30);
    expect(gauge.peak).toBe(4);
  });

  it("caps task runs with a tag across the run tree with run option concurrencyLimits", async () => {
    const { tracked: warehouse, gauge: warehouseGauge } = trackedTask("warehouse-query", ["warehouse"]);
    const { tracked: free, gauge: freeGauge } = trackedTask("free-task");
    const child = flow({ name: "tag-child", run: async () => warehouse.map([1, 2, 3, 4, 5, 6]) });
    const parent = flow({
      name: "tag-parent",
      run: async () => Promise.all([warehouse.map([1, 2, 3, 4, 5, 6]), child(undefined), free.map([1, 2, 3, 4, 5, 6, 7, 8])]),
    });
    const { run } = await runFlowForTest(parent, undefined, { concurrencyLimits: { warehouse: 2 } });
    expect(run.state.type).toBe("COMPLETED");
    expect(warehouseGauge.peak).toBe(2);
    expect(freeGauge.peak).toBe(8);
  });

  it("aborts tagged task runs at once when their tag's limit is 0", async () => {
    const { tracked } = trackedTask("blocked", ["frozen"]);
    const { run, taskRuns } = await runFlowForTest(flow({ name: "zero-limit", run: async () => tracked(1) }), undefined, { concurrencyLimits: { frozen: 0 } });
    expect(run.state.type).toBe("FAILED");
    expect(taskRuns[0]!.state).toMatchObject({ type: "FAILED", message: "a concurrency limit of 0 is set for tag(s) frozen" });
  });

  it("does not deadlock when a task calls another task under taskConcurrency: 1", async () => {
    const inner = task({ name: "inner", run: async (x: number) => x + 1 });
    const outer = task({ name: "outer", run: async (x: number) => inner(x) });
    const { run } = await runFlowForTest(flow({ name: "nested", taskConcurrency: 1, run: async () => outer.map([1, 2]) }), undefined);
    expect(run.result).toEqual([2, 3]);
  });
});
