import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { hostileJson, hostileJsonObject } from "../../support/hostileJson.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeState, type State, type StateName } from "../../../sdk/model/states.js";
import type {
  ArtifactRecord,
  DeploymentRecord,
  FlowRunRecord,
  LogRecord,
  Page,
  TaskRunRecord,
  WorkPoolRecord,
} from "../../../lambdas/store/records.js";
import {
  AlreadyExistsError,
  InvalidCursorError,
  ItemTooLargeError,
  NotFoundError,
  VersionConflictError,
  type FlowRunFilter,
  type Store,
} from "../../../lambdas/store/store.js";
import type { CommandLog } from "../../support/countingDynamoDb.js";

/**
 * What an emulator does not do as DynamoDB does, so the contract leaves out the tests that would
 * check the emulator rather than the store.
 *
 * @example
 * ```ts
 * describeStoreContract("DynamoDbStore on moto", makeStore, { serializesConcurrentWrites: false });
 * ```
 */
export interface EmulatorFidelity {
  /**
   * Default true. moto_server serves requests on threads and applies a conditional write's check and
   * its update without a lock, so two concurrent writes can both pass one condition; DynamoDB (and
   * dynalite, which locks each key) never lets them.
   */
  serializesConcurrentWrites?: boolean;
}

/** A store under test, the DynamoDB commands it sends, and how to dispose of it. */
export interface StoreFixture {
  store: Store;
  /** Counts the commands of the store's DynamoDB client (the listing bounds of docs/data-model.md). */
  commands: CommandLog;
  dispose(): Promise<void>;
}

const DAY = 86_400_000;

/**
 * The Store port's contract: every adapter must pass it. `makeStore` gives a store over a fresh,
 * empty table; the suite shares it between its tests, so each test keeps to its own names, ids and
 * time window.
 *
 * @example
 * ```ts
 * describeStoreContract("DynamoDbStore on dynalite", async () => ({ store, dispose }));
 * ```
 */
export function describeStoreContract(name: string, makeStore: () => Promise<StoreFixture>, emulator: EmulatorFidelity = {}): void {
  describe(`Store contract: ${name}`, () => {
    let fixture: StoreFixture | undefined;
    const store = (): Store => {
      if (fixture === undefined) throw new Error("store fixture not ready");
      return fixture.store;
    };
    const commands = (): CommandLog => {
      if (fixture === undefined) throw new Error("store fixture not ready");
      return fixture.commands;
    };
    // Each test that lists by time gets its own 20-day window, far in the past.
    let windows = 0;
    const timeWindow = () => Date.UTC(2015, 0, 1) + windows++ * 20 * DAY;

    beforeAll(async () => {
      fixture = await makeStore();
    }, 240_000);
    afterAll(async () => {
      await fixture?.dispose();
    });

    describe("flow runs", () => {
      it("reads back a created run by id, and nothing for an unknown id", async () => {
        const run = flowRun({ tags: ["a", "b"], parameters: { n: 1, nested: { list: [1, "two", null] } } });
        expect(await store().createFlowRun(run)).toEqual({ run, created: true });
        expect(await store().getFlowRun(run.id)).toEqual(run);
        expect(await store().getFlowRun(randomUUID())).toBeUndefined();
      });

      it("returns the first run with created false when an idempotency key is reused", async () => {
        const key = `key-${randomUUID()}`;
        const first = flowRun();
        const second = flowRun({ flowName: first.flowName });
        const created = await store().createFlowRun(first, { idempotencyKey: key });
        expect(created.created).toBe(true);
        expect(created.run.id).toBe(first.id);
        const again = await store().createFlowRun(second, { idempotencyKey: key });
        expect(again.created).toBe(false);
        expect(again.run.id).toBe(first.id);
        expect(await store().getFlowRun(second.id)).toBeUndefined();
      });

      it("creates a new run when the idempotency key has expired", async () => {
        const key = `key-${randomUUID()}`;
        const first = flowRun();
        await store().createFlowRun(first, { idempotencyKey: key, idempotencyTtlSeconds: -1 });
        const second = flowRun();
        const again = await store().createFlowRun(second, { idempotencyKey: key });
        expect(again).toMatchObject({ created: true, run: { id: second.id } });
      });

      it("keeps the stored run when a run with the same id is created again", async () => {
        const run = flowRun();
        await store().createFlowRun(run);
        const moved = await store().transitionFlowRun(run.id, 0, state("Running"));
        const again = await store().createFlowRun({ ...run, name: "other" });
        expect(again.created).toBe(false);
        expect(again.run).toEqual(moved);
      });

      it("lists runs matching each filter and each combination, newest first", async () => {
        const base = timeWindow();
        const ns = randomUUID().slice(0, 8);
        const runs: FlowRunRecord[] = [];
        const flows = [`etl-${ns}`, `ml-${ns}`];
        const deployments = [`dep-${ns}`, undefined];
        const tags = [[`x-${ns}`], [`y-${ns}`], [`x-${ns}`, `y-${ns}`], []];
        const states: StateName[] = ["Scheduled", "Running", "Completed"];
        for (let i = 0; i < 12; i++) {
          const run = flowRun({
            flowName: flows[i % 2]!,
            deploymentId: deployments[i % 3 === 0 ? 0 : 1],
            tags: tags[i % 4]!,
            createdAt: new Date(base + i * 7 * 3_600_000).toISOString(),
          });
          await store().createFlowRun(run);
          const target = states[i % 3]!;
          runs.push(target === "Scheduled" ? run : await store().transitionFlowRun(run.id, 0, state(target)));
        }
        const window = { since: new Date(base).toISOString(), until: new Date(base + 20 * DAY).toISOString() };
        const filters: FlowRunFilter[] = [
          { flowName: flows[0] },
          { deploymentId: `dep-${ns}` },
          { tag: `x-${ns}` },
          { stateType: "RUNNING", ...window },
          { ...window },
          { flowName: flows[1], stateType: "COMPLETED" },
          { flowName: flows[0], tag: `y-${ns}` },
          { deploymentId: `dep-${ns}`, flowName: flows[0] },
          { deploymentId: `dep-${ns}`, tag: `y-${ns}`, stateType: "RUNNING" },
          { tag: `x-${ns}`, since: runs[3]!.createdAt, until: runs[10]!.createdAt },
          { since: runs[5]!.createdAt, until: window.until },
          { flowName: flows[0], until: runs[6]!.createdAt },
        ];
        for (const filter of filters) {
          const page = await store().listFlowRuns(filter, { limit: 100 });
          expect({ filter, ids: page.items.map((run) => run.id) }).toEqual({ filter, ids: expectedRuns(runs, filter).map((run) => run.id) });
          expect(page.cursor).toBeUndefined();
        }
        const running = await store().listFlowRuns({ stateType: "RUNNING", ...window }, { limit: 100 });
        expect(running.items.every((run) => run.state.type === "RUNNING")).toBe(true);
      });

      it("pages through every filter without duplicates or gaps, whatever the page size", async () => {
        const base = timeWindow();
        const ns = randomUUID().slice(0, 8);
        const runs: FlowRunRecord[] = [];
        for (let i = 0; i < 14; i++) {
          // Some runs share a timestamp; several days are empty, so the day walk has gaps to cross.
          const at = base + Math.floor(i / 2) * (i % 3 === 0 ? 2 * DAY : 5 * 3_600_000);
          const run = flowRun({
            flowName: `f${i % 2}-${ns}`,
            deploymentId: i % 3 === 0 ? `d-${ns}` : undefined,
            tags: i % 2 === 0 ? [`t-${ns}`] : [],
            createdAt: new Date(at).toISOString(),
          });
          await store().createFlowRun(run);
          runs.push(i % 4 === 0 ? await store().transitionFlowRun(run.id, 0, state("Running")) : run);
        }
        const window = { since: new Date(base).toISOString(), until: new Date(base + 20 * DAY).toISOString() };
        const filters: FlowRunFilter[] = [
          { ...window },
          { flowName: `f0-${ns}` },
          { deploymentId: `d-${ns}` },
          { tag: `t-${ns}` },
          { stateType: "RUNNING", ...window },
          { flowName: `f0-${ns}`, stateType: "SCHEDULED" },
          { tag: `t-${ns}`, since: runs[4]!.createdAt },
        ];
        await fc.assert(
          fc.asyncProperty(fc.constantFrom(...filters), fc.integer({ min: 1, max: 5 }), async (filter, limit) => {
            const seen = await pageThrough((cursor) => store().listFlowRuns(filter, { limit, ...(cursor ? { cursor } : {}) }), limit);
            expect(seen.map((run) => run.id)).toEqual(expectedRuns(runs, filter).map((run) => run.id));
          }),
          { numRuns: 15 },
        );
      });

      it("lists recent runs without since, and older ones after them, newest first", async () => {
        const now = Date.now();
        const ns = randomUUID().slice(0, 8);
        const recent = [0, 3, 45].map((daysAgo) =>
          flowRun({ flowName: `recent-${ns}`, createdAt: new Date(now - daysAgo * DAY - 60_000).toISOString() }),
        );
        for (const run of recent) await store().createFlowRun(run);
        const all = await pageThrough((cursor) => store().listFlowRuns({}, { limit: 2, ...(cursor ? { cursor } : {}) }), 2);
        const mine = all.filter((run) => run.flowName === `recent-${ns}`).map((run) => run.id);
        expect(mine).toEqual(recent.map((run) => run.id));
        const order = all.map((run) => `${run.createdAt}#${run.id}`);
        expect(order).toEqual([...order].sort().reverse());
      });

      it("rejects a malformed cursor, and a cursor from another listing, with InvalidCursorError", async () => {
        const ns = randomUUID().slice(0, 8);
        for (let i = 0; i < 3; i++) await store().createFlowRun(flowRun({ flowName: `c-${ns}` }));
        const page = await store().listFlowRuns({ flowName: `c-${ns}` }, { limit: 1 });
        expect(page.cursor).toBeDefined();
        await expect(store().listFlowRuns({ flowName: `c-${ns}` }, { limit: 1, cursor: "not a cursor!" })).rejects.toThrow(InvalidCursorError);
        await expect(store().listFlowRuns({ flowName: `c-${ns}` }, { limit: 1, cursor: "eyJhIjoxfQ" })).rejects.toThrow(InvalidCursorError);
        await expect(store().listFlowRuns({ flowName: `other-${ns}` }, { limit: 1, cursor: page.cursor! })).rejects.toThrow(InvalidCursorError);
        await expect(store().listTaskRuns(randomUUID(), { limit: 1, cursor: page.cursor! })).rejects.toThrow(InvalidCursorError);
        // The same listing over a range its cursor lies outside (DynamoDB would refuse the start key).
        await expect(store().listFlowRuns({ flowName: `c-${ns}`, since: "2024-06-01T00:00:00.000Z" }, { limit: 1, cursor: page.cursor! })).rejects.toThrow(InvalidCursorError);
        const all = await store().listFlowRuns({}, { limit: 1 });
        await expect(store().listFlowRuns({}, { limit: 1, cursor: page.cursor! })).rejects.toThrow(InvalidCursorError);
        await expect(store().listFlowRuns({ flowName: `c-${ns}` }, { limit: 1, cursor: all.cursor! })).rejects.toThrow(InvalidCursorError);
      });

      it("refuses an item over 350 KB with ItemTooLargeError", async () => {
        const run = flowRun({ parameters: { blob: "x".repeat(400 * 1024) } });
        await expect(store().createFlowRun(run)).rejects.toThrow(ItemTooLargeError);
        expect(await store().getFlowRun(run.id)).toBeUndefined();
      });
    });

    describe("transitions", () => {
      it("moves a run to a new state, bumps its version and writes the patch", async () => {
        const run = flowRun();
        await store().createFlowRun(run);
        const running = await store().transitionFlowRun(run.id, 0, state("Running"), {
          transitionId: "t-1",
          transitionIds: ["t-1"],
          startTime: "2024-01-01T00:00:00.000Z",
          runCount: 1,
          holdsSlot: true,
          error: { name: "Error", message: "first try" } as never,
        });
        expect(running).toMatchObject({ version: 1, state: { type: "RUNNING" }, transitionIds: ["t-1"], runCount: 1, holdsSlot: true });
        expect(running.error).toBeDefined();
        const done = await store().transitionFlowRun(run.id, 1, state("Completed"), { result: { rows: 3 }, error: null, endTime: "2024-01-01T00:01:00.000Z" });
        expect(done).toMatchObject({ version: 2, state: { type: "COMPLETED" }, result: { rows: 3 }, startTime: "2024-01-01T00:00:00.000Z" });
        expect(done.error).toBeUndefined();
        expect(await store().getFlowRun(run.id)).toEqual(done);
      });

      it("moves the run between state listings", async () => {
        const base = timeWindow();
        const window = { since: new Date(base).toISOString(), until: new Date(base + DAY).toISOString() };
        const run = flowRun({ createdAt: new Date(base + 1_000).toISOString() });
        await store().createFlowRun(run);
        await store().transitionFlowRun(run.id, 0, state("Running"));
        expect((await store().listFlowRuns({ stateType: "RUNNING", ...window }, { limit: 10 })).items.map((r) => r.id)).toEqual([run.id]);
        expect((await store().listFlowRuns({ stateType: "SCHEDULED", ...window }, { limit: 10 })).items).toEqual([]);
      });

      it("throws VersionConflictError for a stale version and NotFoundError for an unknown run", async () => {
        const run = flowRun();
        await store().createFlowRun(run);
        await store().transitionFlowRun(run.id, 0, state("Pending"));
        const stale = store().transitionFlowRun(run.id, 0, state("Running"));
        await expect(stale).rejects.toThrow(VersionConflictError);
        await expect(stale).rejects.toMatchObject({ entity: "flow run", id: run.id, expectedVersion: 0 });
        await expect(store().transitionFlowRun(randomUUID(), 0, state("Running"))).rejects.toThrow(NotFoundError);
        expect((await store().getFlowRun(run.id))?.state.name).toBe("Pending");
      });

      it("records the state history in version order", async () => {
        const run = flowRun();
        await store().createFlowRun(run);
        await store().transitionFlowRun(run.id, 0, state("Pending"), { transitionId: "a" });
        await store().transitionFlowRun(run.id, 1, state("Running"), { transitionId: "b" });
        await store().transitionFlowRun(run.id, 2, state("Failed"), { transitionId: "c" });
        const history = await store().getStateHistory(run.id);
        expect(history.map((entry) => [entry.version, entry.state.name, entry.transitionId])).toEqual([
          [0, "Scheduled", undefined],
          [1, "Pending", "a"],
          [2, "Running", "b"],
          [3, "Failed", "c"],
        ]);
        expect(await store().getStateHistory(randomUUID())).toEqual([]);
      });

      it.runIf(emulator.serializesConcurrentWrites ?? true)("lets exactly one of 20 concurrent transitions from the same version win", async () => {
        const run = flowRun();
        await store().createFlowRun(run);
        const attempts = Array.from({ length: 20 }, (_, i) =>
          store().transitionFlowRun(run.id, 0, state("Running", `client ${i}`), { transitionId: `client-${i}`, transitionIds: [`client-${i}`] }),
        );
        const outcomes = await Promise.allSettled(attempts);
        const winners = outcomes.filter((outcome) => outcome.status === "fulfilled");
        const losers = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
        expect(winners).toHaveLength(1);
        expect(losers.every((outcome) => outcome.reason instanceof VersionConflictError)).toBe(true);
        const stored = await store().getFlowRun(run.id);
        expect(stored?.version).toBe(1);
        const history = await store().getStateHistory(run.id);
        expect(history.map((entry) => entry.version)).toEqual([0, 1]);
        expect(history[1]?.transitionId).toBe(stored?.transitionIds?.at(-1));
      });
    });

    describe("task runs", () => {
      it("creates task runs idempotently and lists a run's task runs in start order, paged", async () => {
        const parent = randomUUID();
        const base = Date.UTC(2024, 0, 1);
        const taskRuns = Array.from({ length: 7 }, (_, i) => taskRun(parent, { createdAt: new Date(base + i * 1_000).toISOString(), mapIndex: i }));
        for (const t of [...taskRuns].reverse()) expect((await store().createTaskRun(t)).created).toBe(true);
        const again = await store().createTaskRun({ ...taskRuns[0]!, name: "changed" });
        expect(again).toEqual({ taskRun: taskRuns[0], created: false });
        expect(await store().getTaskRun(taskRuns[3]!.id)).toEqual(taskRuns[3]);
        expect(await store().getTaskRun(randomUUID())).toBeUndefined();
        const seen = await pageThrough((cursor) => store().listTaskRuns(parent, { limit: 3, ...(cursor ? { cursor } : {}) }), 3);
        expect(seen.map((t) => t.id)).toEqual(taskRuns.map((t) => t.id));
        expect((await store().listTaskRuns(randomUUID(), { limit: 3 })).items).toEqual([]);
      });

      it("transitions a task run on its version and keeps its history", async () => {
        const t = taskRun(randomUUID());
        await store().createTaskRun(t);
        const running = await store().transitionTaskRun(t.id, 0, state("Running"), { attempts: 1, startTime: "2024-01-01T00:00:00.000Z" });
        expect(running).toMatchObject({ version: 1, attempts: 1, state: { name: "Running" } });
        await expect(store().transitionTaskRun(t.id, 0, state("Failed"))).rejects.toThrow(VersionConflictError);
        await expect(store().transitionTaskRun(randomUUID(), 0, state("Failed"))).rejects.toThrow(NotFoundError);
        await store().transitionTaskRun(t.id, 1, state("Completed"));
        expect((await store().getStateHistory(t.id)).map((entry) => entry.state.name)).toEqual(["Pending", "Running", "Completed"]);
      });
    });

    describe("logs", () => {
      it("pages a run's logs in time order from since, over more than one batch", async () => {
        const runId = randomUUID();
        const base = Date.now() - 60_000;
        const logs: LogRecord[] = Array.from({ length: 60 }, (_, i) => ({
          flowRunId: runId,
          timestamp: new Date(base + Math.floor(i / 3) * 10).toISOString(),
          level: "info",
          message: `line ${i}`,
          ...(i % 5 === 0 ? { taskRunId: "t", fields: { i } } : {}),
        }));
        await store().putLogs(logs, 3_600);
        const seen = await pageThrough((cursor) => store().listLogs(runId, { limit: 7, ...(cursor ? { cursor } : {}) }), 7);
        expect(seen).toEqual(logs);
        const since = logs[30]!.timestamp;
        const later = await pageThrough((cursor) => store().listLogs(runId, { limit: 50, since, ...(cursor ? { cursor } : {}) }), 50);
        expect(later.map((log) => log.message)).toEqual(logs.slice(30).map((log) => log.message));
      });

      it("hides expired log lines and sweeps expired items away", async () => {
        await store().sweepExpired(new Date());
        const runId = randomUUID();
        const old = { flowRunId: runId, timestamp: new Date(Date.now() - 2 * DAY).toISOString(), level: "warn" as const, message: "old" };
        const fresh = { flowRunId: runId, timestamp: new Date().toISOString(), level: "info" as const, message: "fresh" };
        await store().putLogs([old], DAY / 1000);
        await store().putLogs([fresh], DAY / 1000);
        await store().putCacheEntry({ key: `expired-${runId}`, value: 1, createdAt: old.timestamp, expiresAt: new Date(Date.now() - 1_000).toISOString() });
        expect((await store().listLogs(runId, { limit: 10 })).items.map((log) => log.message)).toEqual(["fresh"]);
        expect(await store().sweepExpired(new Date())).toBe(2);
        expect(await store().sweepExpired(new Date())).toBe(0);
        expect((await store().listLogs(runId, { limit: 10 })).items.map((log) => log.message)).toEqual(["fresh"]);
        expect(await store().sweepExpired(new Date(Date.now() + 2 * DAY))).toBeGreaterThanOrEqual(1);
        expect((await store().listLogs(runId, { limit: 10 })).items).toEqual([]);
      });
    });

    describe("artifacts", () => {
      it("lists a run's artifacts, and artifacts by key across runs newest first", async () => {
        const key = `report-${randomUUID().slice(0, 8)}`;
        const runs = [randomUUID(), randomUUID(), randomUUID()];
        const base = Date.UTC(2024, 5, 1);
        const artifacts: ArtifactRecord[] = runs.flatMap((runId, r) =>
          [0, 1].map((i) => ({
            id: randomUUID(),
            key: i === 0 ? key : `other-${key}`,
            type: "markdown" as const,
            data: `# run ${r} artifact ${i}`,
            flowRunId: runId,
            createdAt: new Date(base + r * 60_000 + i).toISOString(),
          })),
        );
        for (const artifact of artifacts) await store().putArtifact(artifact);
        const ofFirst = await pageThrough((cursor) => store().listArtifacts(runs[0]!, { limit: 1, ...(cursor ? { cursor } : {}) }), 1);
        expect(new Set(ofFirst.map((a) => a.id))).toEqual(new Set(artifacts.filter((a) => a.flowRunId === runs[0]).map((a) => a.id)));
        expect(ofFirst.find((a) => a.key === key)).toEqual(artifacts[0]);
        const byKey = await pageThrough((cursor) => store().listArtifactsByKey(key, { limit: 2, ...(cursor ? { cursor } : {}) }), 2);
        expect(byKey.map((a) => a.flowRunId)).toEqual([...runs].reverse());
        expect(await store().listArtifacts(randomUUID(), { limit: 10 })).toEqual({ items: [] });
        await expect(store().listArtifacts(runs[1]!, { limit: 1, cursor: (await store().listArtifacts(runs[0]!, { limit: 1 })).cursor! })).rejects.toThrow(InvalidCursorError);
      });
    });

    describe("journal", () => {
      it("keeps the first write of a call key and returns it to later writers", async () => {
        const runId = randomUUID();
        const first = { runId, key: "fetch:1", value: { rows: [1, 2] }, createdAt: "2024-01-01T00:00:00.000Z" };
        expect(await store().putJournalEntry(first)).toEqual({ entry: first, created: true });
        expect(await store().putJournalEntry({ ...first, value: "second", createdAt: "2024-01-01T00:00:05.000Z" })).toEqual({ entry: first, created: false });
        expect(await store().putJournalEntry(first)).toEqual({ entry: first, created: false });
        const other = { runId, key: "fetch:2", value: null, createdAt: "2024-01-01T00:00:01.000Z" };
        await store().putJournalEntry(other);
        expect(await store().listJournal(runId, { limit: 10 })).toEqual({ items: [first, other] });
        expect(await pageThrough((cursor) => store().listJournal(runId, { limit: 1, ...(cursor ? { cursor } : {}) }), 1)).toEqual([first, other]);
        expect(await store().listJournal(randomUUID(), { limit: 10 })).toEqual({ items: [] });
      });
    });

    describe("cache", () => {
      it("stores, overwrites and expires cache entries", async () => {
        const key = `cache-${randomUUID()}`;
        expect(await store().getCacheEntry(key)).toBeUndefined();
        const entry = { key, value: { answer: 42 }, createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString() };
        await store().putCacheEntry(entry);
        expect(await store().getCacheEntry(key)).toEqual(entry);
        const forever = { key, value: [1, 2, 3], createdAt: new Date().toISOString() };
        await store().putCacheEntry(forever);
        expect(await store().getCacheEntry(key)).toEqual(forever);
        await store().putCacheEntry({ ...forever, expiresAt: new Date(Date.now() - 1).toISOString() });
        expect(await store().getCacheEntry(key)).toBeUndefined();
      });
    });

    describe("concurrency limits", () => {
      const at = (seconds: number) => new Date(Date.UTC(2024, 0, 1) + seconds * 1_000).toISOString();

      it("creates, updates, lists and deletes limits", async () => {
        const tag = `db-${randomUUID().slice(0, 8)}`;
        const created = await store().putConcurrencyLimit(tag, 2);
        expect(created).toMatchObject({ tag, limit: 2, leases: {} });
        await store().acquireLease(tag, "a", at(300), at(0));
        const raised = await store().putConcurrencyLimit(tag, 5);
        expect(raised).toMatchObject({ tag, limit: 5, leases: { a: at(300) }, createdAt: created.createdAt });
        expect(await store().getConcurrencyLimit(tag)).toEqual(raised);
        const limits = await pageThrough((cursor) => store().listConcurrencyLimits({ limit: 2, ...(cursor ? { cursor } : {}) }), 2);
        expect(limits.find((limit) => limit.tag === tag)).toEqual(raised);
        expect(limits.map((limit) => limit.tag)).toEqual(limits.map((limit) => limit.tag).sort());
        expect(await store().deleteConcurrencyLimit(tag)).toBe(true);
        expect(await store().deleteConcurrencyLimit(tag)).toBe(false);
        expect(await store().getConcurrencyLimit(tag)).toBeUndefined();
      });

      it("grants leases up to the limit, then refuses; unknown tags give undefined", async () => {
        const tag = `gpu-${randomUUID().slice(0, 8)}`;
        await store().putConcurrencyLimit(tag, 2);
        expect(await store().acquireLease(tag, "a", at(300), at(0))).toBe(true);
        expect(await store().acquireLease(tag, "b", at(300), at(0))).toBe(true);
        expect(await store().acquireLease(tag, "c", at(300), at(0))).toBe(false);
        expect(await store().acquireLease(tag, "a", at(400), at(10))).toBe(true);
        expect(await store().acquireLease(`none-${tag}`, "a", at(300), at(0))).toBeUndefined();
        await store().releaseLease(tag, "a");
        await store().releaseLease(`none-${tag}`, "a");
        expect(await store().acquireLease(tag, "c", at(300), at(20))).toBe(true);
        expect(Object.keys((await store().getConcurrencyLimit(tag))!.leases).sort()).toEqual(["b", "c"]);
        expect(await store().getConcurrencyLimit(`none-${tag}`)).toBeUndefined();
      });

      it("reclaims expired leases, unless they were renewed", async () => {
        const tag = `q-${randomUUID().slice(0, 8)}`;
        await store().putConcurrencyLimit(tag, 2);
        await store().acquireLease(tag, "a", at(100), at(0));
        await store().acquireLease(tag, "b", at(100), at(0));
        expect(await store().renewLease(tag, "b", at(500))).toBe(true);
        expect(await store().acquireLease(tag, "c", at(300), at(50))).toBe(false);
        expect(await store().acquireLease(tag, "c", at(300), at(150))).toBe(true);
        expect(await store().renewLease(tag, "a", at(600))).toBe(false);
        expect((await store().getConcurrencyLimit(tag))!.leases).toEqual({ b: at(500), c: at(300) });
      });

      it("never grants more leases than the limit to concurrent acquirers", async () => {
        const tag = `race-${randomUUID().slice(0, 8)}`;
        await store().putConcurrencyLimit(tag, 3);
        const results = await Promise.all(Array.from({ length: 12 }, (_, i) => store().acquireLease(tag, `lease-${i}`, at(300), at(0))));
        expect(results.filter((granted) => granted === true)).toHaveLength(3);
        expect(Object.keys((await store().getConcurrencyLimit(tag))!.leases)).toHaveLength(3);
      });
    });

    describe("user values", () => {
      // Parameters, results, journal values, artifact data, log fields, cached values and deployment
      // parameters are a user's JSON: any keys ("__proto__", "constructor", "", markers that look like
      // Aloft's own), any numbers, nesting up to the documented limit. Each is read back exactly.
      const same = (read: unknown, text: string) => expect(JSON.stringify(read)).toBe(text);

      it("reads back every JSON value and object exactly, in every record that holds one", async () => {
        await fc.assert(
          fc.asyncProperty(hostileJsonObject(), hostileJson(), async (object, value) => {
            const run = flowRun({ parameters: object.value });
            await store().createFlowRun(run);
            same((await store().getFlowRun(run.id))?.parameters, object.text);
            const completed = await store().transitionFlowRun(run.id, 0, state("Completed"), { result: value.value });
            same(completed.result, value.text);
            same((await store().getFlowRun(run.id))?.result, value.text);

            await store().putJournalEntry({ runId: run.id, key: "call:0", value: value.value, createdAt: run.createdAt });
            same((await store().listJournal(run.id, { limit: 10 })).items[0]?.value, value.text);
            await store().putArtifact({ id: randomUUID(), key: "values", type: "table", data: value.value, flowRunId: run.id, createdAt: run.createdAt });
            same((await store().listArtifacts(run.id, { limit: 10 })).items[0]?.data, value.text);
            await store().putLogs([{ flowRunId: run.id, timestamp: new Date().toISOString(), level: "info", message: "fields", fields: object.value }], 3_600);
            same((await store().listLogs(run.id, { limit: 10 })).items[0]?.fields, object.text);
            await store().putCacheEntry({ key: `values-${run.id}`, value: value.value, createdAt: run.createdAt });
            same((await store().getCacheEntry(`values-${run.id}`))?.value, value.text);
            const d = deployment({ parameters: object.value, parameterSchema: object.value });
            await store().createDeployment(d);
            const read = await store().getDeploymentByName(d.name);
            same(read?.parameters, object.text);
            same(read?.parameterSchema, object.text);
          }),
          { numRuns: 25 },
        );
      }, 120_000);
    });

    describe("deployments", () => {
      it("keeps names unique and finds deployments by name and by id", async () => {
        const d = deployment();
        expect(await store().createDeployment(d)).toEqual(d);
        await expect(store().createDeployment({ ...d, id: randomUUID() })).rejects.toThrow(AlreadyExistsError);
        expect(await store().getDeploymentByName(d.name)).toEqual(d);
        expect(await store().getDeploymentById(d.id)).toEqual(d);
        expect(await store().getDeploymentByName(`missing-${d.name}`)).toBeUndefined();
        expect(await store().getDeploymentById(randomUUID())).toBeUndefined();
      });

      it("updates on the expected revision only, and deletes", async () => {
        const d = deployment();
        await store().createDeployment(d);
        const updated = await store().updateDeployment({ ...d, paused: true, description: "paused for maintenance" }, 0);
        expect(updated).toMatchObject({ revision: 1, paused: true });
        expect(await store().getDeploymentByName(d.name)).toEqual(updated);
        await expect(store().updateDeployment({ ...d, paused: false }, 0)).rejects.toThrow(VersionConflictError);
        await expect(store().updateDeployment({ ...d, name: `missing-${d.name}` }, 0)).rejects.toThrow(NotFoundError);
        expect(await store().deleteDeployment(d.name)).toBe(true);
        expect(await store().deleteDeployment(d.name)).toBe(false);
        expect(await store().getDeploymentById(d.id)).toBeUndefined();
      });

      it("lists deployments by name, paged", async () => {
        const ns = randomUUID().slice(0, 8);
        const created = ["c", "a", "d", "b"].map((letter) => deployment({ name: `${ns}-${letter}` }));
        for (const d of created) await store().createDeployment(d);
        const all = await pageThrough((cursor) => store().listDeployments({ limit: 2, ...(cursor ? { cursor } : {}) }), 2);
        const names = all.map((d) => d.name);
        expect(names).toEqual([...names].sort());
        expect(names.filter((name) => name.startsWith(ns))).toEqual([`${ns}-a`, `${ns}-b`, `${ns}-c`, `${ns}-d`]);
      });
    });

    describe("work pools", () => {
      it("keeps pool names unique and reads a pool back with its settings and queues", async () => {
        const pool = workPool();
        expect(await store().createWorkPool(pool)).toEqual(pool);
        await expect(store().createWorkPool({ ...pool, type: "lambda" })).rejects.toThrow(AlreadyExistsError);
        expect(await store().getWorkPool(pool.name)).toEqual(pool);
        expect(await store().getWorkPool(`missing-${pool.name}`)).toBeUndefined();
      });

      it("updates a pool on the expected revision only", async () => {
        const pool = workPool();
        await store().createWorkPool(pool);
        const paused = await store().updateWorkPool({ ...pool, paused: true, queues: [{ name: "default", priority: 1, paused: true }] }, 1);
        expect(paused).toMatchObject({ revision: 2, paused: true, queues: [{ name: "default", priority: 1, paused: true }] });
        expect(await store().getWorkPool(pool.name)).toEqual(paused);
        await expect(store().updateWorkPool({ ...pool, paused: false }, 1)).rejects.toThrow(VersionConflictError);
        await expect(store().updateWorkPool({ ...pool, name: `missing-${pool.name}` }, 1)).rejects.toThrow(NotFoundError);
      });

      it("lists pools by name, paged", async () => {
        const ns = randomUUID().slice(0, 8);
        for (const letter of ["b", "d", "a", "c"]) await store().createWorkPool(workPool({ name: `${ns}-${letter}` }));
        const all = await pageThrough((cursor) => store().listWorkPools({ limit: 3, ...(cursor ? { cursor } : {}) }), 3);
        const names = all.map((pool) => pool.name);
        expect(names).toEqual([...names].sort());
        expect(names.filter((name) => name.startsWith(ns))).toEqual([`${ns}-a`, `${ns}-b`, `${ns}-c`, `${ns}-d`]);
        await expect(store().listWorkPools({ limit: 3, cursor: "not-a-cursor" })).rejects.toThrow(InvalidCursorError);
      });
    });

    // The bounds of docs/data-model.md, "Listing cost": each page of a listing sends a fixed number of
    // commands, whatever the time range, the table's size or how many items a filter skips.
    describe("listing cost", () => {
      const flowName = `sparse-${randomUUID().slice(0, 8)}`;
      let match: FlowRunRecord;
      beforeAll(async () => {
        // One RUNNING run, then 1,100 newer SCHEDULED runs of the same flow: more than 4 filtered Query pages of 250.
        const base = Date.now() - 30 * DAY;
        match = await store().transitionFlowRun((await store().createFlowRun(flowRun({ flowName, createdAt: new Date(base).toISOString() }))).run.id, 0, state("Running"));
        const others = Array.from({ length: 1_100 }, (_, i) => flowRun({ flowName, tags: ["sparse"], createdAt: new Date(base + (i + 1) * 1_000).toISOString() }));
        for (let offset = 0; offset < others.length; offset += 25) await Promise.all(others.slice(offset, offset + 25).map((run) => store().createFlowRun(run)));
      }, 600_000);

      it("lists the newest runs in at most 4 Queries and 1 BatchGetItem, however far back and forward the range reaches", async () => {
        const newest = flowRun({ createdAt: new Date(Date.now() + 60_000).toISOString() });
        await store().createFlowRun(newest);
        const ranges: FlowRunFilter[] = [
          {},
          { since: "1970-01-01T00:00:00.000Z" },
          { until: "9999-12-31T23:59:59.999Z" },
          { since: "1970-01-01T00:00:00.000Z", until: "9999-12-31T23:59:59.999Z" },
        ];
        for (const range of ranges) {
          let page: Page<FlowRunRecord> | undefined;
          const sent = await commands().measure(async () => (page = await store().listFlowRuns(range, { limit: 50 })), { atMost: 5 });
          expect({ range, queries: countOf(sent, "QueryCommand"), batchGets: countOf(sent, "BatchGetItemCommand") }).toEqual({ range, queries: 4, batchGets: 1 });
          expect(page!.items).toHaveLength(50);
          expect(page!.items[0]).toEqual(newest);
          expect(page!.cursor).toBeDefined();
        }
      });

      it("reads each further page of all runs in the same bound, and pages of 1,000 in at most 4 Queries and 10 BatchGetItems", async () => {
        let cursor: string | undefined;
        const seen: string[] = [];
        for (let pages = 0; pages < 3; pages++) {
          let page: Page<FlowRunRecord> | undefined;
          const sent = await commands().measure(async () => (page = await store().listFlowRuns({}, { limit: 1_000, ...(cursor ? { cursor } : {}) })), { atMost: 14 });
          expect(countOf(sent, "QueryCommand")).toBe(4);
          expect(countOf(sent, "BatchGetItemCommand")).toBeLessThanOrEqual(10);
          seen.push(...page!.items.map((run) => `${run.createdAt}#${run.id}`));
          cursor = page!.cursor;
          if (cursor === undefined) break;
        }
        expect(seen).toEqual([...new Set(seen)].sort().reverse());
        // Pages of 1,000 runs each read back whole: seconds on moto, several times that under faketime.
      }, 60_000);

      it("reads at most 4 Query pages for a filtered list, and returns what they found with a cursor to go on", async () => {
        const filter: FlowRunFilter = { flowName, stateType: "RUNNING" };
        let first: Page<FlowRunRecord> | undefined;
        const sent = await commands().measure(async () => (first = await store().listFlowRuns(filter, { limit: 10 })), { atMost: 4 });
        expect(sent).toEqual(["QueryCommand", "QueryCommand", "QueryCommand", "QueryCommand"]);
        expect(first!.items).toEqual([]);
        expect(first!.cursor).toBeDefined();
        const found: FlowRunRecord[] = [...first!.items];
        let cursor = first!.cursor;
        while (cursor !== undefined) {
          let page: Page<FlowRunRecord> | undefined;
          await commands().measure(async () => (page = await store().listFlowRuns(filter, { limit: 10, cursor })), { atMost: 4 });
          found.push(...page!.items);
          cursor = page!.cursor;
        }
        expect(found).toEqual([match]);
      });

      it("lists a tag's runs in 1 Query and 1 BatchGetItem a page", async () => {
        let page: Page<FlowRunRecord> | undefined;
        const sent = await commands().measure(async () => (page = await store().listFlowRuns({ tag: "sparse" }, { limit: 100 })), { atMost: 2 });
        expect(sent).toEqual(["QueryCommand", "BatchGetItemCommand"]);
        expect(page!.items).toHaveLength(100);
        expect(page!.cursor).toBeDefined();
      });

      it("reads at most 4 Query pages of a run's logs when expired lines fill them", async () => {
        const runId = randomUUID();
        const expired = Array.from({ length: 1_100 }, (_, i) => ({ flowRunId: runId, timestamp: new Date(Date.now() - 10 * DAY + i).toISOString(), level: "info" as const, message: `old ${i}` }));
        await store().putLogs(expired, DAY / 1000);
        const live = { flowRunId: runId, timestamp: new Date().toISOString(), level: "info" as const, message: "live" };
        await store().putLogs([live], DAY / 1000);
        let first: Page<LogRecord> | undefined;
        const sent = await commands().measure(async () => (first = await store().listLogs(runId, { limit: 10 })), { atMost: 4 });
        expect(countOf(sent, "QueryCommand")).toBe(4);
        expect(first!.items).toEqual([]);
        const rest = await pageThrough((cursor) => store().listLogs(runId, { limit: 1_000, cursor: cursor ?? first!.cursor! }), 1_000);
        expect(rest).toEqual([live]);
      }, 120_000);

      it("lists task runs, deployments, work pools, artifacts, a journal and concurrency limits in 1 Query a page", async () => {
        const parent = randomUUID();
        await store().createTaskRun(taskRun(parent));
        await store().createDeployment(deployment());
        await store().createWorkPool(workPool());
        await store().putArtifact({ id: randomUUID(), key: `cost-${parent}`, type: "markdown", data: "# hi", flowRunId: parent, createdAt: new Date().toISOString() });
        await store().putJournalEntry({ runId: parent, key: "call:1", value: 1, createdAt: new Date().toISOString() });
        await store().putConcurrencyLimit(`cost-${parent.slice(0, 8)}`, 1);
        const listings: Array<[string, () => Promise<unknown>]> = [
          ["task runs", () => store().listTaskRuns(parent, { limit: 50 })],
          ["deployments", () => store().listDeployments({ limit: 50 })],
          ["work pools", () => store().listWorkPools({ limit: 50 })],
          ["artifacts by key", () => store().listArtifactsByKey(`cost-${parent}`, { limit: 50 })],
          ["a run's artifacts", () => store().listArtifacts(parent, { limit: 50 })],
          ["a run's journal", () => store().listJournal(parent, { limit: 50 })],
          ["concurrency limits", () => store().listConcurrencyLimits({ limit: 50 })],
        ];
        for (const [name, list] of listings) {
          expect({ name, sent: await commands().measure(list, { atMost: 1 }) }).toEqual({ name, sent: ["QueryCommand"] });
        }
      });

      it("pages a run's artifacts in at most 4 Queries a page when they hold more than 4 MB", async () => {
        const runId = randomUUID();
        const artifacts: ArtifactRecord[] = Array.from({ length: 14 }, (_, i) => ({
          id: randomUUID(),
          key: `big-${String(i).padStart(2, "0")}`,
          type: "markdown",
          data: `${i}`.padEnd(330 * 1024, "x"),
          flowRunId: runId,
          createdAt: new Date().toISOString(),
        }));
        for (const artifact of artifacts) await store().putArtifact(artifact);
        const seen: ArtifactRecord[] = [];
        let cursor: string | undefined;
        do {
          let page: Page<ArtifactRecord> | undefined;
          await commands().measure(async () => (page = await store().listArtifacts(runId, { limit: 1_000, ...(cursor ? { cursor } : {}) })), { atMost: 4 });
          seen.push(...page!.items);
          cursor = page!.cursor;
        } while (cursor !== undefined);
        expect(seen.map((artifact) => artifact.key)).toEqual(artifacts.map((artifact) => artifact.key));
      }, 60_000);

      it("stops a listing whose signal aborts: no further commands, and it rejects with an AbortError", async () => {
        const filtered = new AbortController();
        const sentFiltered = await commands().measure(
          () => expect(store().listFlowRuns({ flowName, stateType: "RUNNING" }, { limit: 10, signal: filtered.signal })).rejects.toMatchObject({ name: "AbortError" }),
          { onCommand: () => filtered.abort() },
        );
        expect(sentFiltered).toEqual(["QueryCommand"]);

        const all = new AbortController();
        const sentAll = await commands().measure(
          () => expect(store().listFlowRuns({}, { limit: 10, signal: all.signal })).rejects.toMatchObject({ name: "AbortError" }),
          { onCommand: () => all.abort() },
        );
        expect(countOf(sentAll, "BatchGetItemCommand")).toBe(0);

        const before = new AbortController();
        before.abort();
        const sentBefore = await commands().measure(() => expect(store().listFlowRuns({ tag: "sparse" }, { limit: 10, signal: before.signal })).rejects.toMatchObject({ name: "AbortError" }));
        expect(sentBefore).toEqual([]);
      });
    });
  });
}

function workPool(overrides: Partial<WorkPoolRecord> = {}): WorkPoolRecord {
  return {
    name: `pool-${randomUUID().slice(0, 8)}`,
    type: "fargate",
    jobSettings: { memory: 2048, cpu: 1024, timeout: 3600, environment: { STAGE: "test" }, image: "public.ecr.aws/aloft/runner:1" },
    queues: [
      { name: "default", priority: 1, paused: false },
      { name: "backfill", priority: 5, concurrencyLimit: 2, paused: false },
    ],
    paused: false,
    revision: 1,
    createdAt: "2026-11-01T10:00:00.000Z",
    updatedAt: "2026-11-01T10:00:00.000Z",
    ...overrides,
  };
}

/**
 * Follows cursors to the end, checking that no page is over its limit and that each cursor is new
 * (a page may be short, even empty, and still carry one).
 */
async function pageThrough<T>(read: (cursor: string | undefined) => Promise<Page<T>>, limit: number): Promise<T[]> {
  const all: T[] = [];
  const cursors = new Set<string>();
  let cursor: string | undefined;
  for (let pages = 0; pages < 1_000; pages++) {
    const page = await read(cursor);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    all.push(...page.items);
    if (page.cursor === undefined) return all;
    expect(cursors.has(page.cursor)).toBe(false);
    cursors.add(page.cursor);
    cursor = page.cursor;
  }
  throw new Error("paging did not end");
}

/** How many of `sent` are `name`. */
function countOf(sent: string[], name: string): number {
  return sent.filter((command) => command === name).length;
}

function expectedRuns(runs: FlowRunRecord[], filter: FlowRunFilter): FlowRunRecord[] {
  return runs
    .filter(
      (run) =>
        (filter.flowName === undefined || run.flowName === filter.flowName) &&
        (filter.deploymentId === undefined || run.deploymentId === filter.deploymentId) &&
        (filter.stateType === undefined || run.state.type === filter.stateType) &&
        (filter.tag === undefined || run.tags.includes(filter.tag)) &&
        (filter.since === undefined || run.createdAt >= filter.since) &&
        (filter.until === undefined || run.createdAt < filter.until),
    )
    .sort((a, b) => (`${a.createdAt}#${a.id}` < `${b.createdAt}#${b.id}` ? 1 : -1));
}

function state(name: StateName, message?: string): State {
  return makeState(name, Date.UTC(2024, 0, 1), message);
}

function flowRun(overrides: Partial<FlowRunRecord> = {}): FlowRunRecord {
  const run: FlowRunRecord = {
    id: randomUUID(),
    flowName: `flow-${randomUUID().slice(0, 8)}`,
    name: "brave-otter",
    parameters: {},
    tags: [],
    state: state("Scheduled"),
    version: 0,
    createdAt: new Date(Date.UTC(2024, 0, 1)).toISOString(),
    runCount: 0,
    ...overrides,
  };
  if (run.deploymentId === undefined) delete run.deploymentId;
  return run;
}

function taskRun(flowRunId: string, overrides: Partial<TaskRunRecord> = {}): TaskRunRecord {
  return {
    id: randomUUID(),
    flowRunId,
    taskName: "extract",
    name: "extract-0",
    tags: [],
    state: state("Pending"),
    version: 0,
    attempts: 0,
    createdAt: new Date(Date.UTC(2024, 0, 1)).toISOString(),
    ...overrides,
  };
}

function deployment(overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    id: randomUUID(),
    name: `nightly-${randomUUID().slice(0, 8)}`,
    flowName: "etl",
    entrypoint: "examples/etl.ts:etl",
    parameters: { day: "today" },
    tags: ["nightly"],
    engine: "durable",
    paused: false,
    revision: 0,
    createdAt: "2024-01-01T00:00:00.000Z",
    updatedAt: "2024-01-01T00:00:00.000Z",
    ...overrides,
  };
}
