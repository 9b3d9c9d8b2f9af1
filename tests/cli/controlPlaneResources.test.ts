import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeploymentResponse } from "aloft";
import { closedPortUrl, linesOf, startControlPlane, type ControlPlaneFixture } from "./controlPlaneCli.js";

let cp: ControlPlaneFixture;

beforeAll(async () => {
  cp = await startControlPlane();
}, 30_000);

afterAll(async () => {
  await cp?.close();
});

describe("aloft deployments", () => {
  it("creates a deployment with default parameters, tags, a version, and lists it", async () => {
    const created = await cp.aloft(["deployments", "create", "nightly-etl", "--flow", "etl", "--entrypoint", "flows/etl.ts:etl", "--param", "region=eu", "--param", "limit=5", "--tag", "team-data", "--version", "1.2.0", "--description", "every night"]);

    expect(created.code).toBe(0);
    const deployment = await cp.client.deployments.get("nightly-etl");
    expect(created.stdout).toBe(`created deployment nightly-etl (${deployment.id}) of flow etl\n`);
    expect(deployment).toMatchObject({ flowName: "etl", entrypoint: "flows/etl.ts:etl", parameters: { region: "eu", limit: 5 }, tags: ["team-data"], version: "1.2.0", description: "every night", paused: false, engine: "durable" });

    const listed = await cp.aloft(["deployments", "ls"]);
    expect(listed.code).toBe(0);
    const lines = linesOf(listed.stdout);
    expect(lines[0]).toMatch(/^Name\s+Flow\s+Source\s+Engine\s+Status\s+Revision\s+Updated$/);
    expect(lines).toContainEqual(expect.stringMatching(/^nightly-etl\s+etl\s+flows\/etl\.ts:etl\s+durable\s+active\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/));
  });

  it("creates a paused deployment from a bundle and prints it as JSON with --json", async () => {
    await cp.client.workPools.create({ name: "gpu", type: "fargate" });
    const result = await cp.aloft(["deployments", "create", "weekly", "--flow", "report", "--bundle", "bundle-7", "--pool", "gpu", "--engine", "step-functions", "--paused", "--json"]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(await cp.client.deployments.get("weekly"));
    expect(JSON.parse(result.stdout)).toMatchObject({ bundleId: "bundle-7", workPool: "gpu", engine: "step-functions", paused: true });
  });

  it("lists deployments as the API's JSON array with --json", async () => {
    const result = await cp.aloft(["deployments", "ls", "--json"]);

    const all: DeploymentResponse[] = [];
    for await (const deployment of cp.client.deployments.iterate()) all.push(deployment);
    expect(JSON.parse(result.stdout)).toEqual(all);
  });

  it("runs a deployment by name and prints only the new run's id", async () => {
    await cp.aloft(["deployments", "create", "adhoc", "--flow", "etl", "--entrypoint", "flows/etl.ts", "--param", "region=eu"]);

    const result = await cp.aloft(["deployments", "run", "adhoc", "--param", "day=2026-11-01", "--tag", "manual", "--idempotency-key", "ci-42", "--at", "2026-12-01T06:00:00+01:00"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^[\w-]+\n$/);
    const run = await cp.client.flowRuns.get(result.stdout.trim());
    expect(run).toMatchObject({ flowName: "etl", parameters: { region: "eu", day: "2026-11-01" }, scheduledTime: "2026-12-01T05:00:00.000Z", idempotencyKey: "ci-42" });
    expect(run.tags).toContain("manual");

    const again = await cp.aloft(["deployments", "run", "adhoc", "--idempotency-key", "ci-42"]);
    expect(again.stdout).toBe(result.stdout);
  });

  it("exits 2 with one line for an unknown deployment, a bad --at, or an entrypoint the API refuses", async () => {
    const unknown = await cp.aloft(["deployments", "run", "nope"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("error: deployment nope does not exist\n");

    const badTime = await cp.aloft(["deployments", "run", "adhoc", "--at", "tomorrow"]);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toBe('error: --at "tomorrow" is not an ISO 8601 time (expected e.g. 2026-11-01T06:00:00Z)\n');

    const refused = await cp.aloft(["deployments", "create", "bad", "--flow", "etl", "--entrypoint", "flows/etl.txt"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('error: the API refused the request: entrypoint: a path to a .ts or .js file, optionally followed by ":exportName"\n');
  });

  it("exits 2 unless exactly one of --entrypoint and --bundle is given", async () => {
    const neither = await cp.aloft(["deployments", "create", "x", "--flow", "etl"]);
    const both = await cp.aloft(["deployments", "create", "x", "--flow", "etl", "--entrypoint", "a.ts", "--bundle", "b"]);

    for (const result of [neither, both]) {
      expect(result.code).toBe(2);
      expect(result.stderr).toBe("error: deployment x needs exactly one of --entrypoint <file.ts[:export]> and --bundle <id>\n");
    }
  });

  it("exits 1 with one line when the name is taken", async () => {
    await cp.aloft(["deployments", "create", "taken", "--flow", "etl", "--entrypoint", "a.ts"]);

    const result = await cp.aloft(["deployments", "create", "taken", "--flow", "etl", "--entrypoint", "a.ts"]);

    expect(result.code).toBe(1);
    expect(linesOf(result.stderr)).toEqual([expect.stringMatching(/^error: the API refused the request \(409 .+\): .*taken/)]);
  });
});

describe("aloft concurrency", () => {
  it("sets, lists and removes limits", async () => {
    const set = await cp.aloft(["concurrency", "set", "warehouse", "4"]);
    expect(set.code).toBe(0);
    expect(set.stdout).toBe("limit of warehouse set to 4 (0 active)\n");
    await cp.client.concurrencyLimits.acquire("warehouse", { ttlSeconds: 60 });
    await cp.aloft(["concurrency", "set", "gpu", "0"]);

    const listed = await cp.aloft(["concurrency", "ls"]);
    expect(listed.stdout.split("\n")).toEqual([expect.stringMatching(/^Tag\s+Limit\s+Active slots$/), expect.stringMatching(/^gpu\s+0\s+0$/), expect.stringMatching(/^warehouse\s+4\s+1$/), ""]);
    const json = await cp.aloft(["concurrency", "ls", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual(await cp.client.concurrencyLimits.list());

    const removed = await cp.aloft(["concurrency", "rm", "gpu"]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe("limit of gpu removed\n");
    expect((await cp.client.concurrencyLimits.list()).map((limit) => limit.tag)).toEqual(["warehouse"]);
  });

  it.each([["x"], ["2.5"], ["100001"]])("exits 2 with one line for the limit %s", async (limit) => {
    const result = await cp.aloft(["concurrency", "set", "warehouse", limit]);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`error: limit "${limit}" must be a whole number from 0 to 100000\n`);
  });

  it("exits 2 with one line when removing a limit that does not exist", async () => {
    const result = await cp.aloft(["concurrency", "rm", "nope"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe("error: concurrency limit nope does not exist\n");
  });
});

describe("aloft login", () => {
  it("checks the API, saves the config, and later commands use it without ALOFT_API_URL", async () => {
    const result = await cp.aloft(["login", "--api", `${cp.server.url}/`]);

    const file = join(cp.dir, "config", "config.json");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^logged in to ${cp.server.url} \\(Aloft API \\d+\\.\\d+\\.\\d+, bearer token\\); saved ${file}\\n$`));
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ apiUrl: cp.server.url });
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const listed = await cp.aloft(["concurrency", "ls", "--json"], { ALOFT_API_URL: undefined });
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual(await cp.client.concurrencyLimits.list());
  });

  it("saves nothing and exits 1 with one line when the API does not answer", async () => {
    const url = await closedPortUrl();

    const result = await cp.aloft(["login", "--api", url], { ALOFT_CONFIG_DIR: join(cp.dir, "elsewhere") });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: cannot reach the Aloft API at ${url}: connection refused — start it with \`aloft server start\` or set ALOFT_API_URL\n`);
    await expect(stat(join(cp.dir, "elsewhere"))).rejects.toThrow();
  });

  it("exits 2 with one line for a URL that is not http(s)", async () => {
    const result = await cp.aloft(["login", "--api", "ftp://example.com"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --api "ftp://example.com" is not an http(s) URL\n');
  });
});

describe("command groups", () => {
  it.each([["runs"], ["deployments"], ["concurrency"]])("aloft %s without a subcommand exits 2 with one line naming them", async (group) => {
    const result = await cp.aloft([group]);

    expect(result.code).toBe(2);
    expect(linesOf(result.stderr)).toEqual([expect.stringMatching(new RegExp(`^error: aloft ${group} needs a subcommand: .+ \\(see aloft ${group} --help\\)$`))]);
  });

  it("an unknown subcommand exits 2 with one line", async () => {
    const result = await cp.aloft(["runs", "list"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: unknown command "list" for aloft runs (expected ls, inspect, logs, cancel, resume or retry)\n');
  });
});
