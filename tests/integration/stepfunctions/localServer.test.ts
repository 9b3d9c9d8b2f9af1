import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { startLocalServer } from "../../../lambdas/local/server.js";

test("the local server runs a step-functions deployment's run through its state machine, records each state, and runs it again on retry", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "aloft-sfn-server-"));
  const server = await startLocalServer({ port: 0, dataDir, logError: () => {} });
  try {
    const token = (await readFile(server.tokenFile, "utf8")).trim();
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };
    const created = await call("POST", "/v1/deployments", {
      name: "greetings-sfn",
      flowName: "sfn-fixture-greetings",
      entrypoint: "tests/integration/stepfunctions/fixtures/greetings.ts",
      engine: "step-functions",
    });
    expect(created.status).toBe(201);

    const run = await call("POST", "/v1/deployments/greetings-sfn/runs", { parameters: { names: ["ada", "alan"] } });
    expect(run.status).toBe(201);
    const id = run.body.id as string;
    let stored = run.body;
    while (!["COMPLETED", "FAILED"].includes(stored.state.type)) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      stored = (await call("GET", `/v1/flow-runs/${id}`)).body;
    }

    expect(stored).toMatchObject({ state: { type: "COMPLETED" }, result: { greetings: ["HELLO ADA", "HELLO ALAN"] } });
    const history = (await call("GET", `/v1/flow-runs/${id}/history`)).body.items as Array<{ state: { type: string } }>;
    expect(history.map((entry) => entry.state.type)).toEqual(["SCHEDULED", "PENDING", "RUNNING", "COMPLETED"]);
    const taskRuns = (await call("GET", `/v1/flow-runs/${id}/task-runs`)).body.items as Array<{ taskName: string; mapIndex: number; state: { type: string } }>;
    expect(taskRuns.map((taskRun) => [taskRun.taskName, taskRun.mapIndex, taskRun.state.type]).sort()).toEqual([
      ["sfn-fixture-shout", 0, "COMPLETED"],
      ["sfn-fixture-shout", 1, "COMPLETED"],
    ]);

    const retried = await call("POST", `/v1/flow-runs/${id}/retry`, { force: true });
    expect(retried.body).toMatchObject({ status: "ACCEPT", state: { type: "SCHEDULED" } });
    do {
      await new Promise((resolve) => setTimeout(resolve, 25));
      stored = (await call("GET", `/v1/flow-runs/${id}`)).body;
    } while (stored.runCount < 2 || !["COMPLETED", "FAILED"].includes(stored.state.type));
    expect(stored).toMatchObject({ state: { type: "COMPLETED" }, result: { greetings: ["HELLO ADA", "HELLO ALAN"] } });
    const again = (await call("GET", `/v1/flow-runs/${id}/history`)).body.items as Array<{ state: { type: string } }>;
    expect(again.map((entry) => entry.state.type).slice(4)).toEqual(["SCHEDULED", "PENDING", "RUNNING", "COMPLETED"]);
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
