import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkPoolResponse } from "aloft";
import { linesOf, startControlPlane, type ControlPlaneFixture } from "./controlPlaneCli.js";

let cp: ControlPlaneFixture;

beforeAll(async () => {
  cp = await startControlPlane();
}, 30_000);

afterAll(async () => {
  await cp?.close();
});

describe("aloft pools", () => {
  it("finds the local pool the server made, in the table and as JSON", async () => {
    const table = await cp.aloft(["pools", "ls"]);
    expect(table.code).toBe(0);
    const lines = linesOf(table.stdout);
    expect(lines[0]).toMatch(/^Name\s+Type\s+Status\s+Queues\s+Updated$/);
    expect(lines).toContainEqual(expect.stringMatching(/^local\s+local\s+active\s+default \(1\)\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/));

    const json = await cp.aloft(["pools", "ls", "--json"]);
    const pools = JSON.parse(json.stdout) as WorkPoolResponse[];
    expect(pools.find((pool) => pool.name === "local")).toMatchObject({ type: "local", queues: [{ name: "default", priority: 1, paused: false }] });
  });

  it("creates a fargate pool with job settings and queues", async () => {
    const result = await cp.aloft([
      "pools", "create", "etl", "--type", "fargate", "--cpu", "1024", "--memory", "4096", "--timeout", "7200",
      "--env", "STAGE=prod", "--env", "URL=https://x.test/?a=b", "--image", "etl:7",
      "--queue", "urgent:1", "--queue", "backfill:5:2", "--description", "nightly ETL",
    ]);

    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("created fargate pool etl; queues: urgent (1), backfill (5, limit 2)\n");
    expect(await cp.client.workPools.get("etl")).toMatchObject({
      type: "fargate",
      description: "nightly ETL",
      jobSettings: { cpu: 1024, memory: 4096, timeout: 7200, environment: { STAGE: "prod", URL: "https://x.test/?a=b" }, image: "etl:7" },
      queues: [
        { name: "urgent", priority: 1, paused: false },
        { name: "backfill", priority: 5, concurrencyLimit: 2, paused: false },
      ],
    });
  });

  it("prints the created pool as JSON with --json", async () => {
    const result = await cp.aloft(["pools", "create", "lambdas", "--type", "lambda", "--timeout", "600", "--paused", "--json"]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(await cp.client.workPools.get("lambdas"));
    expect(JSON.parse(result.stdout)).toMatchObject({ type: "lambda", paused: true, jobSettings: { timeout: 600 }, queues: [{ name: "default", priority: 1 }] });
  });

  it("pauses and resumes a pool and one of its queues", async () => {
    await cp.client.workPools.create({ name: "toggled", type: "local", queues: [{ name: "default" }, { name: "bulk", priority: 3 }] });

    expect((await cp.aloft(["pools", "pause", "toggled"])).stdout).toBe("paused pool toggled\n");
    expect((await cp.client.workPools.get("toggled")).paused).toBe(true);
    expect((await cp.aloft(["pools", "resume", "toggled"])).stdout).toBe("resumed pool toggled\n");
    expect((await cp.aloft(["pools", "pause", "toggled", "--queue", "bulk"])).stdout).toBe("paused queue bulk of pool toggled\n");

    const listed = linesOf((await cp.aloft(["pools", "ls"])).stdout);
    expect(listed).toContainEqual(expect.stringMatching(/^toggled\s+local\s+active\s+default \(1\), bulk \(3, paused\)\s/));
    const resumed = await cp.aloft(["pools", "resume", "toggled", "--queue", "bulk", "--json"]);
    expect((JSON.parse(resumed.stdout) as WorkPoolResponse).queues[1]).toEqual({ name: "bulk", priority: 3, paused: false });
  });

  it("exits 2 with one line for a bad option value, before calling the API", async () => {
    for (const [args, message] of [
      [["pools", "create", "x", "--type", "gpu"], /--type.*gpu/],
      [["pools", "create", "x", "--type", "fargate", "--cpu", "lots"], /^--cpu "lots" must be a whole number$/],
      [["pools", "create", "x", "--type", "local", "--env", "NOEQUALS"], /^--env "NOEQUALS" must be KEY=value/],
      [["pools", "create", "x", "--type", "local", "--env", "A=1", "--env", "A=2"], /^--env A is given twice$/],
      [["pools", "create", "x", "--type", "local", "--queue", "bulk"], /^--queue "bulk" must be name:priority or name:priority:limit/],
    ] as const) {
      const result = await cp.aloft(args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(linesOf(result.stderr)).toHaveLength(1);
      expect(result.stderr.trim().replace(/^error: /, "")).toMatch(message);
    }
    await expect(cp.client.workPools.get("x")).rejects.toThrow("work pool x does not exist");
  });

  it("exits 2 naming the settings the API refused, and for an unknown pool or queue", async () => {
    const refused = await cp.aloft(["pools", "create", "small", "--type", "lambda", "--memory", "2048", "--timeout", "3600"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      "error: the API refused the request: jobSettings.memory: memory applies to fargate pools only: the runner function's configuration sets it for lambda pools; jobSettings.timeout: a Lambda runner stops after 900 seconds; use a fargate pool for runs longer than that, not 3600\n",
    );

    const unknown = await cp.aloft(["pools", "pause", "nope"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("error: work pool nope does not exist\n");
    const noQueue = await cp.aloft(["pools", "resume", "local", "--queue", "gone"]);
    expect(noQueue.code).toBe(2);
    expect(noQueue.stderr).toBe('error: work pool "local" has no queue "gone"; its queues are: default\n');
  });

  it("puts a deployment in a pool's queue with deployments create --pool --queue, and exits 2 for a queue the pool lacks", async () => {
    await cp.client.workPools.create({ name: "queued", type: "local", queues: [{ name: "default" }, { name: "bulk", priority: 4 }] });

    const created = await cp.aloft(["deployments", "create", "bulk-etl", "--flow", "etl", "--entrypoint", "flows/etl.ts", "--pool", "queued", "--queue", "bulk", "--json"]);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ workPool: "queued", workQueue: "bulk" });

    const refused = await cp.aloft(["deployments", "create", "lost-etl", "--flow", "etl", "--entrypoint", "flows/etl.ts", "--pool", "queued", "--queue", "nope"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('error: the API refused the request: workQueue: work pool "queued" has no queue "nope"; its queues are: default, bulk\n');
  });
});
