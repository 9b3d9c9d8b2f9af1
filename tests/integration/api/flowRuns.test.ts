import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => cp.dispose());

async function body<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

async function createRun(extra: Record<string, unknown> = {}) {
  const response = await cp.call("POST", "/v1/flow-runs", { flowName: "etl", ...extra });
  expect(response.status).toBe(201);
  return body<{ id: string; state: { type: string; name: string }; version: number }>(response);
}

async function propose(id: string, state: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const response = await cp.call("POST", `/v1/flow-runs/${id}/state`, { state, ...extra });
  expect(response.status).toBe(200);
  return body<{ status: string; state: { type: string; name: string; message?: string }; delaySeconds?: number; reason: string }>(response);
}

describe("flow runs API", () => {
  it("creates a SCHEDULED run and reads it back", async () => {
    const run = await createRun({ parameters: { day: "2026-11-01" }, tags: ["nightly"] });
    expect(run).toMatchObject({ state: { type: "SCHEDULED", name: "Scheduled" }, version: 0 });
    const read = await body(await cp.call("GET", `/v1/flow-runs/${run.id}`));
    expect(read).toMatchObject({ id: run.id, flowName: "etl", parameters: { day: "2026-11-01" }, tags: ["nightly"] });
  });

  it("returns the same run for the same idempotency key, with 200 instead of 201", async () => {
    const first = await cp.call("POST", "/v1/flow-runs", { flowName: "etl", idempotencyKey: "ci-build-42" });
    const second = await cp.call("POST", "/v1/flow-runs", { flowName: "etl", idempotencyKey: "ci-build-42" });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect((await body(second)).id).toBe((await body(first)).id);
  });

  it("walks a run through claim, start and completion, recording the result and the history", async () => {
    const run = await createRun();
    expect((await propose(run.id, { type: "PENDING" }, { transitionId: "claim-1" })).status).toBe("ACCEPT");
    expect((await propose(run.id, { type: "RUNNING" })).status).toBe("ACCEPT");
    const done = await propose(run.id, { type: "COMPLETED" }, { result: { rows: 3 } });
    expect(done).toMatchObject({ status: "ACCEPT", state: { type: "COMPLETED", name: "Completed" } });
    const read = await body(await cp.call("GET", `/v1/flow-runs/${run.id}`));
    expect(read).toMatchObject({ result: { rows: 3 }, runCount: 1, version: 3 });
    expect(read.startTime).toBeDefined();
    expect(read.endTime).toBeDefined();
    const history = await body<{ items: Array<{ state: { name: string } }> }>(await cp.call("GET", `/v1/flow-runs/${run.id}/history`));
    expect(history.items.map((item) => item.state.name)).toEqual(["Scheduled", "Pending", "Running", "Completed"]);
  });

  it("accepts only one PENDING: a second claim is REJECTed, and a repeated transition id is idempotent", async () => {
    const run = await createRun();
    expect((await propose(run.id, { type: "PENDING" }, { transitionId: "worker-a" })).status).toBe("ACCEPT");
    expect((await propose(run.id, { type: "PENDING" }, { transitionId: "worker-b" })).status).toBe("REJECT");
    const repeat = await propose(run.id, { type: "PENDING" }, { transitionId: "worker-a" });
    expect(repeat).toMatchObject({ status: "ACCEPT", state: { type: "PENDING" } });
    expect((await body(await cp.call("GET", `/v1/flow-runs/${run.id}`))).version).toBe(1);
  });

  it("gives exactly one ACCEPT to 20 clients racing to claim a run", async () => {
    const run = await createRun();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => propose(run.id, { type: "PENDING" }, { transitionId: `racer-${i}` })));
    expect(answers.filter((answer) => answer.status === "ACCEPT")).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === "REJECT")).toHaveLength(19);
    const history = await body<{ items: unknown[] }>(await cp.call("GET", `/v1/flow-runs/${run.id}/history`));
    expect(history.items).toHaveLength(2);
  });

  it("answers WAIT with the delay when a run proposes to start before its scheduled time", async () => {
    const scheduledTime = new Date(Date.now() + 120_000).toISOString();
    const run = await createRun({ scheduledTime });
    const answer = await propose(run.id, { type: "RUNNING" });
    expect(answer.status).toBe("WAIT");
    expect(answer.delaySeconds).toBeGreaterThan(100);
    expect(answer.delaySeconds).toBeLessThanOrEqual(120);
  });

  it("refuses to make a terminal run CRASHED, and re-opens it only by an explicit retry", async () => {
    const run = await createRun({ initialState: "PENDING" });
    await propose(run.id, { type: "RUNNING" });
    await propose(run.id, { type: "FAILED" }, { error: { name: "Error", message: "boom" } });
    expect((await propose(run.id, { type: "CRASHED" })).status).toBe("REJECT");
    expect((await propose(run.id, { type: "SCHEDULED" })).status).toBe("REJECT");
    const retried = await body(await cp.call("POST", `/v1/flow-runs/${run.id}/retry`, {}));
    expect(retried).toMatchObject({ status: "ACCEPT", state: { type: "SCHEDULED", name: "AwaitingRetry" } });
    const read = await body<{ error?: unknown; endTime?: string }>(await cp.call("GET", `/v1/flow-runs/${run.id}`));
    expect(read.error).toBeUndefined();
    expect(read.endTime).toBeUndefined();
  });

  it("cancels a SCHEDULED run at once, and a RUNNING one through CANCELLING", async () => {
    const scheduled = await createRun();
    expect(await body(await cp.call("POST", `/v1/flow-runs/${scheduled.id}/cancel`, {}))).toMatchObject({ status: "ACCEPT", state: { type: "CANCELLED" } });
    const running = await createRun({ initialState: "PENDING" });
    await propose(running.id, { type: "RUNNING" });
    expect(await body(await cp.call("POST", `/v1/flow-runs/${running.id}/cancel`, {}))).toMatchObject({ state: { type: "CANCELLING" } });
    expect((await propose(running.id, { type: "COMPLETED" })).status).toBe("REJECT");
    expect((await propose(running.id, { type: "CANCELLED" })).status).toBe("ACCEPT");
  });

  it("lists runs newest first, filtered by flow, state and tag, paged with opaque cursors", async () => {
    const flowName = `listing-${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createRun({ flowName, tags: i % 2 === 0 ? ["even"] : ["odd"] })).id);
    await propose(ids[0]!, { type: "CANCELLING" });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await body<{ items: Array<{ id: string }>; cursor?: string }>(
        await cp.call("GET", `/v1/flow-runs?flow=${flowName}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`),
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((item) => item.id));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const cancelled = await body<{ items: Array<{ id: string }> }>(await cp.call("GET", `/v1/flow-runs?flow=${flowName}&state=CANCELLED`));
    expect(cancelled.items.map((item) => item.id)).toEqual([ids[0]]);
    const even = await body<{ items: Array<{ id: string }> }>(await cp.call("GET", `/v1/flow-runs?flow=${flowName}&tag=even`));
    expect(even.items.map((item) => item.id)).toEqual([ids[4], ids[2], ids[0]]);
  });

  it("answers a list of all runs in 4 Queries and 1 BatchGetItem, however wide its range", async () => {
    await createRun();
    for (const query of ["", "?since=1970-01-01T00:00:00Z", "?since=1970-01-01T00:00:00Z&until=9999-12-31T23:59:59.999Z", "?until=2100-01-01T00:00:00Z&limit=1000"]) {
      let status: number | undefined;
      const sent = await cp.commands.measure(async () => (status = (await cp.call("GET", `/v1/flow-runs${query}`)).status), { atMost: 5 });
      expect({ query, status, sent: [...sent].sort() }).toEqual({ query, status: 200, sent: ["BatchGetItemCommand", ...Array(4).fill("QueryCommand")] });
    }
  });

  it("keeps the journal: the first write of a key wins", async () => {
    const run = await createRun();
    const first = await cp.call("PUT", `/v1/flow-runs/${run.id}/journal/${encodeURIComponent("task:add:abc:0")}`, { value: 3 });
    const second = await cp.call("PUT", `/v1/flow-runs/${run.id}/journal/${encodeURIComponent("task:add:abc:0")}`, { value: 4 });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect((await body(second)).value).toBe(3);
    const journal = await body<{ items: Array<{ key: string; value: unknown }> }>(await cp.call("GET", `/v1/flow-runs/${run.id}/journal`));
    expect(journal.items.map(({ key, value }) => ({ key, value }))).toEqual([{ key: "task:add:abc:0", value: 3 }]);
  });

  it("pages a run's journal and artifacts by key with cursors, each page one Query", async () => {
    const run = await createRun();
    const keys = ["a-0", "b-0", "c-0"];
    for (const key of keys) await cp.call("PUT", `/v1/flow-runs/${run.id}/journal/${encodeURIComponent(key)}`, { value: key });
    for (const key of keys) expect((await cp.call("POST", "/v1/artifacts", { flowRunId: run.id, key, type: "markdown", data: `# ${key}` })).status).toBe(201);
    for (const collection of ["journal", "artifacts"]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        let page: { items: Array<{ key: string }>; cursor?: string } | undefined;
        const sent = await cp.commands.measure(async () => {
          page = await body(await cp.call("GET", `/v1/flow-runs/${run.id}/${collection}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`));
        });
        // The run's own GetItem (a 404 for an unknown run), then one Query of the page.
        expect({ collection, sent }).toEqual({ collection, sent: ["GetItemCommand", "QueryCommand"] });
        expect(page!.items.length).toBeLessThanOrEqual(2);
        seen.push(...page!.items.map((item) => item.key));
        cursor = page!.cursor;
      } while (cursor);
      expect({ collection, seen }).toEqual({ collection, seen: keys });
    }
  });

  it("records logs in batches and pages them oldest first", async () => {
    const run = await createRun();
    const logs = Array.from({ length: 7 }, (_, i) => ({ flowRunId: run.id, timestamp: new Date(Date.now() - 60_000 + i * 1000).toISOString(), level: "info", message: `line ${i}` }));
    expect((await cp.call("POST", "/v1/logs", { logs })).status).toBe(202);
    const messages: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await body<{ items: Array<{ message: string }>; cursor?: string }>(
        await cp.call("GET", `/v1/flow-runs/${run.id}/logs?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`),
      );
      messages.push(...page.items.map((item) => item.message));
      cursor = page.cursor;
    } while (cursor);
    expect(messages).toEqual(logs.map((log) => log.message));
  });

  it("refuses logs for a flow run that does not exist with a 404 naming the run, and stores nothing of the batch", async () => {
    const run = await createRun();
    const at = new Date(Date.now() - 1_000).toISOString();
    const line = (flowRunId: string, message: string) => ({ flowRunId, timestamp: at, level: "info", message });

    const single = await cp.call("POST", "/v1/logs", { logs: [line("no-such-run", "lost")] });
    expect(single.status).toBe(404);
    expect(single.headers.get("content-type")).toBe("application/problem+json");
    expect(await body(single)).toMatchObject({
      status: 404,
      detail: "flow run no-such-run does not exist; no line of the batch was stored",
      errors: [{ field: "body.logs[0].flowRunId", message: "flow run no-such-run does not exist" }],
    });

    const mixed = await cp.call("POST", "/v1/logs", { logs: [line(run.id, "kept?"), line("ghost-1", "a"), line("ghost-2", "b"), line("ghost-1", "c")] });
    expect(mixed.status).toBe(404);
    expect(await body(mixed)).toMatchObject({
      detail: "flow runs ghost-1, ghost-2 do not exist; no line of the batch was stored",
      errors: [
        { field: "body.logs[1].flowRunId", message: "flow run ghost-1 does not exist" },
        { field: "body.logs[2].flowRunId", message: "flow run ghost-2 does not exist" },
      ],
    });
    expect((await body<{ items: unknown[] }>(await cp.call("GET", `/v1/flow-runs/${run.id}/logs`))).items).toEqual([]);
  });

  it("publishes artifacts and lists them by run", async () => {
    const run = await createRun();
    const created = await cp.call("POST", "/v1/artifacts", { flowRunId: run.id, key: "summary", type: "markdown", data: "# ok" });
    expect(created.status).toBe(201);
    const list = await body<{ items: Array<{ key: string; data: unknown }> }>(await cp.call("GET", `/v1/flow-runs/${run.id}/artifacts`));
    expect(list.items.map(({ key, data }) => ({ key, data }))).toEqual([{ key: "summary", data: "# ok" }]);
  });
});

describe("task runs API", () => {
  it("creates task runs idempotently by id and lists them for their flow run", async () => {
    const run = await createRun({ initialState: "PENDING" });
    const first = await cp.call("POST", "/v1/task-runs", { id: "tr-fixed-1", flowRunId: run.id, taskName: "extract" });
    const again = await cp.call("POST", "/v1/task-runs", { id: "tr-fixed-1", flowRunId: run.id, taskName: "extract" });
    expect([first.status, again.status]).toEqual([201, 200]);
    const list = await body<{ items: Array<{ id: string; state: { type: string } }> }>(await cp.call("GET", `/v1/flow-runs/${run.id}/task-runs`));
    expect(list.items).toMatchObject([{ id: "tr-fixed-1", state: { type: "PENDING" } }]);
  });

  it("holds task runs to their tag's concurrency limit: WAIT when full, a slot again once one finishes", async () => {
    await cp.call("PUT", "/v1/concurrency-limits/db", { limit: 1 });
    const run = await createRun({ initialState: "PENDING" });
    const a = await body<{ id: string }>(await cp.call("POST", "/v1/task-runs", { flowRunId: run.id, taskName: "query", tags: ["db"] }));
    const b = await body<{ id: string }>(await cp.call("POST", "/v1/task-runs", { flowRunId: run.id, taskName: "query", tags: ["db"] }));
    const proposeTask = async (id: string, state: object) => body(await cp.call("POST", `/v1/task-runs/${id}/state`, { state }));
    expect(await proposeTask(a.id, { type: "RUNNING" })).toMatchObject({ status: "ACCEPT" });
    expect(await proposeTask(b.id, { type: "RUNNING" })).toMatchObject({ status: "WAIT", delaySeconds: 30 });
    expect((await body<{ activeSlots: number }>(await cp.call("GET", "/v1/concurrency-limits/db"))).activeSlots).toBe(1);
    expect(await proposeTask(a.id, { type: "COMPLETED" })).toMatchObject({ status: "ACCEPT" });
    expect(await proposeTask(b.id, { type: "RUNNING" })).toMatchObject({ status: "ACCEPT" });
    const readA = await body<{ attempts: number }>(await cp.call("GET", `/v1/task-runs/${a.id}`));
    expect(readA.attempts).toBe(1);
  });

  it("refuses a task run for a flow run that does not exist, naming the field", async () => {
    const response = await cp.call("POST", "/v1/task-runs", { flowRunId: "nope", taskName: "x" });
    expect(response.status).toBe(400);
    expect((await body<{ errors: Array<{ field: string }> }>(response)).errors.map((e) => e.field)).toEqual(["body.flowRunId"]);
  });
});
