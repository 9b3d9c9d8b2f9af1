import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FlowRunResponse, LogLine } from "aloft";
import { SDK_URL, startControlPlane, type CliResult, type ControlPlaneFixture } from "./controlPlaneCli.js";

/**
 * What a hostile client can store in a name or message: a title change (OSC 0), a screen clear, a
 * carriage return and cursor-up to overwrite the line above, a C1 CSI, a hyperlink (OSC 8), a
 * backspace, and a line break followed by a forged log line.
 */
const HOSTILE = "evil\u001b]0;pwned\u0007\u001b[2J\r\u001b[1A\u009b31m\u001b]8;;http://x.example\u001b\\link\u001b]8;;\u001b\\\b!\n12:00:00.000 INFO  forged | ok";
/** The same, short enough for a state name (64) or a tag (64). */
const SHORT = "bad\u001b]0;pwned\u0007\u001b[2J\r\u009b31m\b!\nforged";

/** A character a terminal acts on instead of showing, other than the line breaks that end our own lines. */
// eslint-disable-next-line no-control-regex
const ACTIVE_BUT_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

let cp: ControlPlaneFixture;
let run: FlowRunResponse;

beforeAll(async () => {
  cp = await startControlPlane();
  run = await cp.client.flowRuns.create({ flowName: HOSTILE.slice(0, 128), name: HOSTILE.slice(0, 128), tags: [SHORT], parameters: { note: HOSTILE }, entrypoint: `${HOSTILE}.ts` });
  await cp.client.flowRuns.proposeState(run.id, { state: { type: "RUNNING", name: SHORT, message: HOSTILE } });
  await cp.client.taskRuns.create({ id: `${run.id}:t-0`, flowRunId: run.id, taskName: HOSTILE.slice(0, 128), name: HOSTILE.slice(0, 128) });
  await cp.client.artifacts.create({ key: "report", type: "markdown", data: "# ok", description: HOSTILE, flowRunId: run.id });
  const line: LogLine = { flowRunId: run.id, taskRunName: SHORT, timestamp: new Date(Date.now() - 1_000).toISOString(), level: "info", message: HOSTILE, fields: { note: HOSTILE } };
  await cp.client.logs.create({ logs: [line] });
  await cp.client.flowRuns.proposeState(run.id, { state: { type: "FAILED", name: SHORT, message: HOSTILE }, error: { name: SHORT, message: HOSTILE } });
  await cp.client.concurrencyLimits.set(SHORT, 3);
  await cp.client.deployments.create({ name: "hostile", flowName: HOSTILE.slice(0, 128), entrypoint: "flows/ev\u001b]0;pwned\u0007il.ts" });
}, 60_000);

afterAll(async () => {
  await cp?.close();
});

/** Our own lines, each checked: nothing in them can drive the terminal. */
function expectNeutral(result: CliResult): void {
  for (const stream of [result.stdout, result.stderr]) {
    expect(stream).not.toMatch(ACTIVE_BUT_NEWLINE);
    expect(stream).not.toMatch(/^12:00:00\.000 INFO {2}forged/m);
  }
}

describe("what the CLI prints from data", () => {
  it.each([
    ["runs ls", ["runs", "ls"]],
    ["runs inspect", ["runs", "inspect", "<id>"]],
    ["runs logs", ["runs", "logs", "<id>"]],
    ["concurrency ls", ["concurrency", "ls"]],
    ["deployments ls", ["deployments", "ls"]],
  ])("%s neutralises names, states, messages and log lines that carry escape sequences, carriage returns and line breaks", async (_, args) => {
    const result = await cp.aloft(args.map((arg) => (arg === "<id>" ? run.id : arg)));

    expect(result.code).toBe(0);
    expectNeutral(result);
  });

  it("runs logs prints a log line with a line break in it as one line, the break shown as \\n", async () => {
    const result = await cp.aloft(["runs", "logs", run.id]);

    const lines = result.stdout.split("\n").slice(0, -1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}evil.*\/bad.* \| evil\\r.*link.*\\x08!\\n12:00:00\.000 INFO {2}forged \| ok \{"note":"evil\\u001b.*"\}$/);
  });

  it("runs inspect shows the printable text of each hostile value, the rest removed or escaped", async () => {
    const result = await cp.aloft(["runs", "inspect", run.id]);

    expect(result.stdout).toMatch(/^Flow run {4}evil\\rlink\\x08!\\n12:00:00\.000 INFO {2}forged \| ok$/m);
    // Messages are folded onto the line: their line breaks and carriage returns become spaces.
    expect(result.stdout).toMatch(/^State {7}bad\\r\\x08!\\nforged — evil link\\x08! 12:00:00\.000 INFO forged \| ok$/m);
    expect(result.stdout).toMatch(/^Error {7}bad\\r\\x08!\\nforged: evil link\\x08! 12:00:00\.000 INFO forged \| ok$/m);
    expect(result.stdout).toMatch(/^Parameters {2}\{"note":"evil\\u001b\]0;pwned\\u0007\\u001b\[2J\\r\\u001b\[1A\\u009b31m/m);
  });

  it.each([
    ["deployments run", ["deployments", "run", SHORT]],
    ["runs logs", ["runs", "logs", SHORT]],
    ["pools pause", ["pools", "pause", SHORT]],
  ])("%s: an API problem quoting a hostile name is one neutralised line on stderr", async (_, args) => {
    const result = await cp.aloft(args);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: \S+ \S* ?bad \\x08! forged does not exist\n$/);
    expectNeutral(result);
  });

  it("aloft run neutralises a flow's hostile log lines and error in its progress, logs and summary (names with control characters are refused at load)", async () => {
    const source = `import { flow, log, task } from ${JSON.stringify(SDK_URL)};
const hostile = ${JSON.stringify(HOSTILE)};
const step = task({ name: "step", run: async () => { log.info(hostile, { hostile }); return 1; } });
export default flow({ name: "hostile-run", run: async () => { await step(); throw new Error(hostile); } });
`;
    const file = await cp.writeFlow("hostile.ts", source);

    const result = await cp.aloft(["run", file], { ALOFT_API_URL: undefined });

    expect(result.code).toBe(1);
    expectNeutral(result);
    expect(result.stderr).toMatch(/ INFO {2}hostile-run\/step-0 \| evil\\rlink\\x08!\\n12:00:00\.000 INFO {2}forged \| ok \{"hostile":/);
    expect(result.stdout).toMatch(/^Error: evil\\rlink\\x08!\\n12:00:00\.000 INFO {2}forged \| ok$/m);
  });

  it("keeps the CLI's own colours: with FORCE_COLOR every escape left is a colour (SGR) code", async () => {
    const result = await cp.aloft(["runs", "inspect", run.id], { NO_COLOR: undefined, FORCE_COLOR: "1" });

    expect(result.stdout).toContain("\u001b[31mbad\\r\\x08!\\nforged\u001b[39m");
    // eslint-disable-next-line no-control-regex
    const withoutColours = result.stdout.replace(/\u001b\[[0-9;]*m/g, "");
    expect(withoutColours).not.toMatch(ACTIVE_BUT_NEWLINE);
  });
});

describe("--json output", () => {
  it("is the data exactly as stored, escape sequences and all", async () => {
    const [ls, inspect, logs] = await Promise.all([
      cp.aloft(["runs", "ls", "--json"]),
      cp.aloft(["runs", "inspect", run.id, "--json"]),
      cp.aloft(["runs", "logs", run.id, "--json"]),
    ]);

    const listed = JSON.parse(ls.stdout) as FlowRunResponse[];
    expect(listed.find((item) => item.id === run.id)).toMatchObject({ flowName: HOSTILE.slice(0, 128), name: HOSTILE.slice(0, 128), tags: [SHORT], parameters: { note: HOSTILE } });
    expect((JSON.parse(inspect.stdout) as { run: FlowRunResponse }).run).toMatchObject({ state: { name: SHORT, message: HOSTILE }, error: { name: SHORT, message: HOSTILE } });
    const { items } = await cp.client.flowRuns.logs(run.id);
    expect(logs.stdout).toBe(items.map((line) => `${JSON.stringify(line)}\n`).join(""));
    // JSON.stringify leaves C1 as it is: --json is not sanitised.
    expect(logs.stdout).toContain("\u009b31m");
  });
});
