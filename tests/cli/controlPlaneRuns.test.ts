import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FlowRunResponse, LogLine } from "aloft";
import { LogReader } from "../../sdk/cli/commands/runs.js";
import { closedPortUrl, linesOf, SDK_URL, startControlPlane, type ControlPlaneFixture } from "./controlPlaneCli.js";

// A flow whose second task fails the first time it runs; each task counts its executions in a file.
const FLAKY = `import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { flow, task } from ${JSON.stringify(SDK_URL)};
const count = (name: string): number => {
  const file = join(process.cwd(), name + ".count");
  const n = (existsSync(file) ? Number(readFileSync(file, "utf8")) : 0) + 1;
  writeFileSync(file, String(n));
  return n;
};
const extract = task({ name: "extract", run: async (): Promise<number> => { count("extract"); return 3; } });
const load = task({ name: "load", run: async (rows: number): Promise<number> => {
  if (count("load") === 1) throw new Error("warehouse unreachable");
  return rows * 2;
} });
export default flow({ name: "flaky", run: async () => load(await extract()) });
`;

const CHATTY = `import { flow, log, task } from ${JSON.stringify(SDK_URL)};
const step = task({ name: "step", run: async (i: number): Promise<number> => { log.info("step " + i, { i }); return i; } });
export default flow({ name: "chatty", run: async () => {
  log.info("starting");
  for (let i = 0; i < 3; i++) await step(i);
  log.warn("done");
  return 3;
} });
`;

let cp: ControlPlaneFixture;
let flaky: FlowRunResponse;
let chatty: FlowRunResponse;

beforeAll(async () => {
  cp = await startControlPlane();
  const [flakyFile, chattyFile] = await Promise.all([cp.writeFlow("flaky.ts", FLAKY), cp.writeFlow("chatty.ts", CHATTY)]);
  const [flakyRun, chattyRun] = await Promise.all([cp.aloft(["run", flakyFile, "--json"]), cp.aloft(["run", chattyFile, "--json"])]);
  expect(flakyRun.code).toBe(1);
  expect(chattyRun.code).toBe(0);
  flaky = await cp.client.flowRuns.get((JSON.parse(flakyRun.stdout) as { id: string }).id);
  chatty = await cp.client.flowRuns.get((JSON.parse(chattyRun.stdout) as { id: string }).id);
}, 30_000);

afterAll(async () => {
  await cp?.close();
});

describe("aloft runs ls", () => {
  it("lists runs newest first in a table with short ids, flow, name, state, start and duration", async () => {
    const result = await cp.aloft(["runs", "ls", "--flow", "chatty"]);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const [header, row, ...rest] = linesOf(result.stdout);
    expect(header).toMatch(/^ID\s+Flow\s+Name\s+State\s+Started\s+Duration$/);
    expect(row).toMatch(new RegExp(`^${chatty.id.slice(0, 8)}  chatty\\s+${chatty.name}\\s+Completed\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+[\\d.]+m?s$`));
    expect(rest).toEqual([]);
  });

  it("filters by state type in any case, and shows whole ids with --wide", async () => {
    const result = await cp.aloft(["runs", "ls", "--state", "Failed", "--wide"]);

    expect(result.code).toBe(0);
    const rows = linesOf(result.stdout).slice(1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(new RegExp(`^${flaky.id}  flaky\\s+${flaky.name}\\s+Failed\\s`));
  });

  it("with --json prints the API's runs as a JSON array and nothing else", async () => {
    const result = await cp.aloft(["runs", "ls", "--json", "--limit", "5"]);

    expect(result.code).toBe(0);
    const { items } = await cp.client.flowRuns.list({ limit: 5 });
    expect(JSON.parse(result.stdout)).toEqual(items);
    expect(items.map((run) => run.id).sort()).toEqual([flaky.id, chatty.id].sort());
  });

  it.each([["0"], ["1001"], ["ten"], ["2.5"]])("exits 2 with one line on stderr for --limit %s", async (limit) => {
    const result = await cp.aloft(["runs", "ls", "--limit", limit]);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`error: --limit must be a whole number from 1 to 1000, got "${limit}"\n`);
  });

  it("exits 2 naming the state types for an unknown --state", async () => {
    const result = await cp.aloft(["runs", "ls", "--state", "done"]);

    expect(result.code).toBe(2);
    expect(linesOf(result.stderr)).toEqual([expect.stringMatching(/^error: --state "done" is not a state type \(expected one of scheduled, pending, running, .*crashed\)$/)]);
  });
});

describe("aloft runs inspect", () => {
  it("shows the run, its state history with the time between states, its task runs and artifacts", async () => {
    const result = await cp.aloft(["runs", "inspect", chatty.id]);

    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines).toContain(`ID          ${chatty.id}`);
    expect(lines).toContain("Flow        chatty");
    expect(lines).toContain("State       Completed");
    expect(lines).toContain("Result      3");
    expect(lines).toContainEqual(expect.stringMatching(/^Duration    [\d.]+m?s$/));
    const history = lines.indexOf("State history");
    expect(lines[history + 1]).toMatch(/^Time\s+State\s+After\s+Message$/);
    expect(lines.slice(history + 2, history + 5)).toEqual([
      expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}  Pending$/),
      expect.stringMatching(/^\S+ \S+  Running\s+\+[\d.]+m?s$/),
      expect.stringMatching(/^\S+ \S+  Completed\s+\+[\d.]+m?s$/),
    ]);
    const taskRuns = lines.indexOf("Task runs");
    expect(lines.slice(taskRuns + 1, taskRuns + 5)).toEqual([
      expect.stringMatching(/^Task run\s+State\s+Attempts\s+Duration$/),
      expect.stringMatching(/^step-0\s+Completed\s+1\s+[\d.]+m?s$/),
      expect.stringMatching(/^step-1\s+Completed\s+1\s+[\d.]+m?s$/),
      expect.stringMatching(/^step-2\s+Completed\s+1\s+[\d.]+m?s$/),
    ]);
    expect(lines[lines.indexOf("Artifacts") + 1]).toBe("No artifacts.");
  });

  it("shows the error of a failed run", async () => {
    const result = await cp.aloft(["runs", "inspect", flaky.id]);

    expect(result.stdout).toMatch(/^Error       TaskRunFailedError: .*warehouse unreachable$/m);
    expect(result.stdout).toMatch(/^load-0\s+Failed\s+1\s/m);
  });

  it("collapses a mapped task with many task runs into one row of counts", async () => {
    const run = await cp.client.flowRuns.create({ flowName: "sweep" });
    await Promise.all(Array.from({ length: 12 }, (_, index) => cp.client.taskRuns.create({ id: `${run.id}:fit-${index}`, flowRunId: run.id, taskName: "fit", name: `fit-${index}`, mapIndex: index })));
    await cp.client.taskRuns.create({ id: `${run.id}:report-0`, flowRunId: run.id, taskName: "report", name: "report-0" });
    await cp.client.artifacts.create({ key: "scores", type: "table", data: [{ fold: 1 }], description: "fold scores", flowRunId: run.id });

    const result = await cp.aloft(["runs", "inspect", run.id]);

    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    const taskRuns = lines.indexOf("Task runs");
    expect(lines.slice(taskRuns + 2, taskRuns + 4)).toEqual([expect.stringMatching(/^fit ×12\s+12 \w+\s+0\s+—$/), expect.stringMatching(/^report-0\s/)]);
    expect(lines.slice(lines.indexOf("Artifacts") + 1)).toEqual([
      expect.stringMatching(/^Key\s+Type\s+Created\s+Description$/),
      expect.stringMatching(/^scores  table  \S+ \S+  fold scores$/),
      "",
    ]);
  });

  it("with --json prints { run, history, taskRuns, artifacts } as the API reports them", async () => {
    const result = await cp.aloft(["runs", "inspect", chatty.id, "--json"]);

    expect(result.code).toBe(0);
    const [history, taskRuns, artifacts] = await Promise.all([cp.client.flowRuns.history(chatty.id), cp.client.flowRuns.taskRuns(chatty.id), cp.client.flowRuns.artifacts(chatty.id)]);
    const printed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(printed)).toEqual(["run", "history", "taskRuns", "artifacts"]);
    expect(printed).toEqual({ run: chatty, history, taskRuns: expect.arrayContaining(taskRuns.items), artifacts });
  });

  it("exits 2 with one line for an unknown run id", async () => {
    const result = await cp.aloft(["runs", "inspect", "nope"]);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe("error: flow run nope does not exist\n");
  });
});

describe("aloft runs logs", () => {
  const expected = (run: FlowRunResponse) => [
    expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}chatty \| starting$/),
    expect.stringMatching(/ INFO {2}chatty\/step-0 \| step 0 \{"i":0\}$/),
    expect.stringMatching(/ INFO {2}chatty\/step-1 \| step 1 \{"i":1\}$/),
    expect.stringMatching(/ INFO {2}chatty\/step-2 \| step 2 \{"i":2\}$/),
    expect.stringMatching(new RegExp(`^\\S+ WARN {2}${run.flowName} \\| done$`)),
  ];

  it("prints every line of a run, oldest first", async () => {
    const result = await cp.aloft(["runs", "logs", chatty.id]);

    expect(result.code).toBe(0);
    expect(result.stdout.split("\n").slice(0, -1)).toEqual(expected(chatty));
  });

  it("with --follow on a finished run prints each line once and exits 0", async () => {
    const result = await cp.aloft(["runs", "logs", chatty.id, "--follow"]);

    expect(result.code).toBe(0);
    expect(result.stdout.split("\n").slice(0, -1)).toEqual(expected(chatty));
  });

  it("with --json prints each line as the API reports it, one JSON object a line", async () => {
    const result = await cp.aloft(["runs", "logs", chatty.id, "--json"]);

    const { items } = await cp.client.flowRuns.logs(chatty.id);
    expect(linesOf(result.stdout).map((line) => JSON.parse(line) as LogLine)).toEqual(items);
  });

  it("reads past the API's page size, and a later read prints only the lines added since", async () => {
    const run = await cp.client.flowRuns.create({ flowName: "noisy" });
    // Stamped an hour ago (not on a fixed date): log lines expire 30 days after their timestamp.
    const start = Date.now() - 60 * 60 * 1_000;
    const line = (n: number): LogLine => ({ flowRunId: run.id, timestamp: new Date(start + n).toISOString(), level: "info", message: `line ${n}` });
    await cp.client.logs.create({ logs: Array.from({ length: 1_000 }, (_, n) => line(n)) });
    await cp.client.logs.create({ logs: Array.from({ length: 500 }, (_, n) => line(1_000 + n)) });
    const reader = new LogReader(cp.client, run.id);
    const seen: string[] = [];
    const emit = (entry: LogLine) => seen.push(entry.message);

    expect(await reader.readNew(emit)).toBe(1_500);
    await cp.client.logs.create({ logs: [line(1_500), line(1_501)] });
    expect(await reader.readNew(emit)).toBe(2);
    expect(await reader.readNew(emit)).toBe(0);
    expect(seen).toEqual(Array.from({ length: 1_502 }, (_, n) => `line ${n}`));

    const cli = await cp.aloft(["runs", "logs", run.id]);
    expect(linesOf(cli.stdout)).toHaveLength(1_502);
  });
});

describe("aloft runs cancel", () => {
  it("cancels a scheduled run and says so", async () => {
    const run = await cp.client.flowRuns.create({ flowName: "later" });

    const result = await cp.aloft(["runs", "cancel", run.id]);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`flow run ${run.id} Cancelled\n`);
    expect((await cp.client.flowRuns.get(run.id)).state.type).toBe("CANCELLED");
  });

  it("exits 1 with the API's reason when the run has already ended", async () => {
    const result = await cp.aloft(["runs", "cancel", chatty.id, "--json"]);

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: "REJECT", state: { type: "COMPLETED" } });
    expect(linesOf(result.stderr)).toEqual([expect.stringMatching(new RegExp(`^error: flow run ${chatty.id} was not cancelled: .+$`))]);
  });
});

describe("aloft runs resume", () => {
  it("approves a run waiting for approval, handing it --input", async () => {
    const run = await cp.client.flowRuns.create({ flowName: "gated", initialState: "PENDING" });
    await cp.client.flowRuns.proposeState(run.id, { state: { type: "RUNNING" } });
    await cp.client.flowRuns.awaitApproval(run.id, { taskToken: "engine:cli-test" });

    const result = await cp.aloft(["runs", "resume", run.id, "--input", '{"by":"ada"}']);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`flow run ${run.id} Running\n`);
    expect(await cp.client.flowRuns.journal(run.id)).toEqual([expect.objectContaining({ key: "approval:engine:cli-test", value: { approved: true, input: { by: "ada" } } })]);
  });

  it("refuses a run that is not paused (exit 1) and --input that is not JSON (exit 2)", async () => {
    const refused = await cp.aloft(["runs", "resume", chatty.id]);
    expect(refused.code).toBe(1);
    expect(linesOf(refused.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^error: the API refused the request \\(409 Conflict\\): flow run ${chatty.id} is COMPLETED, not PAUSED; only a paused run can be resumed \\(request [0-9a-f-]+\\)$`)),
    ]);

    const bad = await cp.aloft(["runs", "resume", chatty.id, "--input", "{by: ada}"]);
    expect(bad.code).toBe(2);
    expect(linesOf(bad.stderr)).toEqual(["error: --input is not JSON: {by: ada}"]);
  });
});

describe("aloft runs retry", () => {
  it("re-executes a failed run to completion without running its completed task again", async () => {
    const result = await cp.aloft(["runs", "retry", flaky.id]);

    expect(result.code).toBe(0);
    const lines = linesOf(result.stdout);
    expect(lines.at(-1)).toMatch(new RegExp(`^${flaky.name} Completed in [\\d.]+m?s$`));
    expect(lines).toContainEqual(expect.stringMatching(/^load-0\s+Completed\s+1\s/));
    expect(await readFile(join(cp.dir, "extract.count"), "utf8")).toBe("1");
    expect(await readFile(join(cp.dir, "load.count"), "utf8")).toBe("2");
    const stored = await cp.client.flowRuns.get(flaky.id);
    expect(stored).toMatchObject({ state: { type: "COMPLETED" }, result: 6, runCount: 2 });

    const again = await cp.aloft(["runs", "retry", flaky.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`error: flow run ${flaky.id} was not retried: it completed (pass --force to run it again)\n`);
  });

  it("re-opens a deployment's run for its work pool instead of running it in the CLI's process", async () => {
    await cp.client.workPools.create({ name: "parked", type: "local" });
    await cp.client.deployments.create({ name: "flaky-parked", flowName: "flaky", entrypoint: join(cp.dir, "flaky.ts"), workPool: "parked" });
    const run = await cp.client.deployments.run("flaky-parked");
    expect((await cp.client.flowRuns.cancel(run.id)).state.type).toBe("CANCELLED");
    const extractCount = await readFile(join(cp.dir, "extract.count"), "utf8");

    const result = await cp.aloft(["runs", "retry", run.id]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`flow run ${run.id} re-opened`);
    // No worker serves "parked": the run waits in its queue, and nothing ran here.
    expect((await cp.client.flowRuns.get(run.id)).state.type).toBe("SCHEDULED");
    expect(await readFile(join(cp.dir, "extract.count"), "utf8")).toBe(extractCount);
  });

  it("exits 2 with one line for an unknown run id", async () => {
    const result = await cp.aloft(["runs", "retry", "nope"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe("error: flow run nope does not exist\n");
  });
});

describe("the API out of reach", () => {
  it("is one line naming the URL and how to start the server, exit 1", async () => {
    const url = await closedPortUrl();

    const result = await cp.aloft(["runs", "ls"], { ALOFT_API_URL: url });

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`error: cannot reach the Aloft API at ${url}: connection refused — start it with \`aloft server start\` or set ALOFT_API_URL\n`);
  });
});
