import { describe, expect, it } from "vitest";
import { makeState } from "../../../sdk/model/states.js";
import { CachingStore } from "../../../lambdas/store/cachingStore.js";
import type { FlowRunRecord, TaskRunRecord } from "../../../lambdas/store/records.js";
import type { Store } from "../../../lambdas/store/store.js";

/** The run methods of a Store, in memory, counting the reads that reach it; any other method throws. */
function countingStore() {
  const flowRuns = new Map<string, FlowRunRecord>();
  const taskRuns = new Map<string, TaskRunRecord>();
  const reads = { flowRuns: 0, taskRuns: 0 };
  const methods: Partial<Store> = {
    createFlowRun: async (run) => (flowRuns.set(run.id, run), { run, created: true }),
    getFlowRun: async (id) => (reads.flowRuns++, flowRuns.get(id)),
    transitionFlowRun: async (id, expectedVersion, state) => {
      const run = { ...flowRuns.get(id)!, state, version: expectedVersion + 1 };
      flowRuns.set(id, run);
      return run;
    },
    createTaskRun: async (taskRun) => (taskRuns.set(taskRun.id, taskRun), { taskRun, created: true }),
    getTaskRun: async (id) => (reads.taskRuns++, taskRuns.get(id)),
    transitionTaskRun: async (id, expectedVersion, state) => {
      const taskRun = { ...taskRuns.get(id)!, state, version: expectedVersion + 1 };
      taskRuns.set(id, taskRun);
      return taskRun;
    },
  };
  const store = new Proxy(methods, {
    get: (target, name) => target[name as keyof Store] ?? (() => Promise.reject(new Error(`not in this test store: ${String(name)}`))),
  }) as Store;
  return { store, reads };
}

const now = Date.parse("2026-01-01T00:00:00Z");
const flowRun = (id: string): FlowRunRecord => ({ id, flowName: "f", name: id, parameters: {}, tags: [], state: makeState("Scheduled", now), version: 0, createdAt: new Date(now).toISOString(), runCount: 0 });
const taskRun = (id: string): TaskRunRecord => ({ id, flowRunId: "parent", taskName: "t", name: id, tags: [], state: makeState("Pending", now), version: 0, attempts: 0, createdAt: new Date(now).toISOString() });

/** Creates `count` flow runs and task runs and takes each to COMPLETED through the cache. */
async function finishRuns(cache: CachingStore, count: number, prefix: string): Promise<void> {
  for (let index = 0; index < count; index++) {
    await cache.createFlowRun(flowRun(`${prefix}-${index}`));
    await cache.transitionFlowRun(`${prefix}-${index}`, 0, makeState("Completed", now));
    await cache.createTaskRun(taskRun(`${prefix}-${index}`));
    await cache.transitionTaskRun(`${prefix}-${index}`, 0, makeState("Completed", now));
  }
}

describe("CachingStore", () => {
  it("keeps a run in flight cached however many runs finish after it", async () => {
    const { store, reads } = countingStore();
    const cache = new CachingStore(store);
    await cache.createFlowRun(flowRun("in-flight"));
    await cache.createTaskRun(taskRun("in-flight"));
    await finishRuns(cache, 10_001, "done");

    expect(await cache.getFlowRun("in-flight")).toMatchObject({ id: "in-flight", state: { type: "SCHEDULED" } });
    expect(await cache.getTaskRun("in-flight")).toMatchObject({ id: "in-flight", state: { type: "PENDING" } });
    expect(reads).toEqual({ flowRuns: 0, taskRuns: 0 });
  });

  it("keeps the last 1,000 finished runs: an older finished run is read from the table again", async () => {
    const { store, reads } = countingStore();
    const cache = new CachingStore(store);
    await finishRuns(cache, 1_001, "done");

    expect(await cache.getFlowRun("done-1000")).toMatchObject({ state: { type: "COMPLETED" } });
    expect(await cache.getTaskRun("done-1")).toMatchObject({ state: { type: "COMPLETED" } });
    expect(reads).toEqual({ flowRuns: 0, taskRuns: 0 });
    expect(await cache.getFlowRun("done-0")).toMatchObject({ id: "done-0", state: { type: "COMPLETED" } });
    expect(await cache.getTaskRun("done-0")).toMatchObject({ id: "done-0", state: { type: "COMPLETED" } });
    expect(reads).toEqual({ flowRuns: 1, taskRuns: 1 });
  });

  it("moves a retried run back among the runs in flight", async () => {
    const { store, reads } = countingStore();
    const cache = new CachingStore(store, { inFlight: 10, finished: 1 });
    await finishRuns(cache, 1, "retried");
    await cache.transitionFlowRun("retried-0", 1, makeState("Scheduled", now));
    await finishRuns(cache, 5, "other");

    expect(await cache.getFlowRun("retried-0")).toMatchObject({ version: 2, state: { type: "SCHEDULED" } });
    expect(reads.flowRuns).toBe(0);
  });
});
