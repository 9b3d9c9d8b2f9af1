import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AloftClient, connectToControlPlane, flow, log, task } from "aloft";
import { resumeRun } from "../../../sdk/runner/resumeRun.js";
import { startLocalServer, type LocalServer } from "../../../lambdas/local/server.js";

let server: LocalServer;
let client: AloftClient;
let disconnect: () => void;

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "aloft-recording-"));
  server = await startLocalServer({ port: 0, dataDir });
  client = new AloftClient({ apiUrl: server.url, dataDir });
  ({ disconnect } = connectToControlPlane(client));
});
afterAll(async () => {
  disconnect();
  await server.close();
});

describe("a local flow run connected to the control plane", () => {
  it("records the run, its task runs and subflows with their states, logs and artifacts", async () => {
    const square = task({ name: "rec-square", run: async (x: number) => (log.info("squaring", { x }), x * x) });
    const child = flow({ name: "rec-child", run: async (n: number) => square(n) });
    const parent = flow({
      name: "rec-parent",
      run: async (_params: { day: string }, ctx) => {
        const squares = await square.map([1, 2, 3]);
        ctx.artifact.markdown("summary", `# ${squares.join(",")}`);
        return { squares, child: await child(4) };
      },
    });
    const run = await parent.run({ day: "mon" }, { replaceRecorder: true, recorder: {} });
    expect(run.state.type).toBe("COMPLETED");

    const stored = await client.flowRuns.get(run.id);
    expect(stored).toMatchObject({ flowName: "rec-parent", state: { type: "COMPLETED" }, result: { squares: [1, 4, 9], child: 16 }, parameters: { day: "mon" } });
    expect(stored.entrypoint).toBe(new URL(import.meta.url).pathname);
    expect((await client.flowRuns.history(run.id)).map((entry) => entry.state.name)).toEqual(["Pending", "Running", "Completed"]);

    // Task runs are created concurrently, so creation order is not call order: compare by name.
    const taskRuns = (await client.flowRuns.taskRuns(run.id)).items.sort((a, b) => a.name.localeCompare(b.name));
    expect(taskRuns.map((t) => [t.name, t.state.name, t.attempts, t.mapIndex])).toEqual([
      ["rec-square-0", "Completed", 1, 0],
      ["rec-square-1", "Completed", 1, 1],
      ["rec-square-2", "Completed", 1, 2],
    ]);
    const children = (await client.flowRuns.list({ flow: "rec-child" })).items;
    expect(children).toHaveLength(1);
    expect(children[0]).toMatchObject({ parentRunId: run.id, state: { type: "COMPLETED" }, result: 16 });

    const logs = (await client.flowRuns.logs(run.id)).items;
    expect(logs.filter((line) => line.message === "squaring")).toHaveLength(3);
    expect(logs.every((line) => line.taskRunId !== undefined)).toBe(true);
    expect((await client.flowRuns.artifacts(run.id)).map((a) => [a.key, a.data])).toEqual([["summary", "# 1,4,9"]]);
  });

  it("journals each completed task call before the flow goes on, and a retried run replays them", async () => {
    const { probe, retriableEtl: etl } = await import("./fixtures/retriableEtl.js");
    const first = await etl.run(undefined, { replaceRecorder: true, recorder: {} });
    expect(first.state.type).toBe("FAILED");
    expect((await client.flowRuns.journal(first.id)).map((entry) => entry.value)).toEqual(["A", "B"]);
    expect((await client.flowRuns.get(first.id)).state.type).toBe("FAILED");

    probe.failLoad = false;
    const retried = await resumeRun(first.id, { client, recorder: {} });
    expect(retried.id).toBe(first.id);
    expect(retried.state.type).toBe("COMPLETED");
    expect(probe.executions).toEqual({ a: 1, b: 1, load: 2 });
    const stored = await client.flowRuns.get(first.id);
    expect(stored).toMatchObject({ state: { type: "COMPLETED" }, result: 2, runCount: 2 });
    expect((await client.flowRuns.history(first.id)).map((entry) => entry.state.name)).toEqual([
      "Pending",
      "Running",
      "Failed",
      "AwaitingRetry",
      "Pending",
      "Running",
      "Completed",
    ]);
  });

  it("records and replays any JSON a task returns, keys like __proto__ and constructor included, as it does unrecorded", async () => {
    const text = JSON.stringify(JSON.parse('{"__proto__":{"polluted":true},"constructor":{"name":"x"},"":[5e-324,1e308],"nested":{"__proto__":[1]}}'));
    const parse = task({ name: "rec-parse-json", run: async (json: string) => JSON.parse(json) as unknown });
    const parser = flow({ name: "rec-parse-json-flow", run: async (params: { json: string }) => parse(params.json) });
    const unrecorded = await parser.run({ json: text }, { replaceRecorder: true });
    expect(unrecorded.state.type).toBe("COMPLETED");
    const run = await parser.run({ json: text }, { replaceRecorder: true, recorder: {} });
    expect(run.state.type).toBe("COMPLETED");
    expect(JSON.stringify(run.result)).toBe(text);
    const stored = await client.flowRuns.get(run.id);
    expect(JSON.stringify(stored.result)).toBe(text);
    expect((await client.flowRuns.journal(run.id)).map((entry) => JSON.stringify(entry.value))).toEqual([text]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses to retry a run that is still running", async () => {
    const created = await client.flowRuns.create({ flowName: "busy", initialState: "PENDING" });
    await client.flowRuns.proposeState(created.id, { state: { type: "RUNNING" } });
    await expect(client.flowRuns.retry(created.id)).rejects.toThrow(/only a FAILED, CRASHED or CANCELLED run/);
  });
});
