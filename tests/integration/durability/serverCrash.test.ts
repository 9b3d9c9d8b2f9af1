import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AloftClient } from "aloft";
import { freePort } from "../../support/freePort.js";

const CLI = join(process.cwd(), "dist", "lambdas", "local", "main.js");
const FIXTURE = join(import.meta.dirname, "fixtures", "slowEtl.ts");
const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
});

function start(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function startServer(port: number, dataDir: string) {
  const server = start(["server", "start", "--port", String(port), "--data", dataDir], {});
  const client = new AloftClient({ apiUrl: `http://127.0.0.1:${port}`, dataDir, retries: 0 });
  for (let i = 0; i < 200; i++) {
    if (await client.health().then(() => true, () => false)) return server;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the server did not start: ${server.output()}`);
}

async function lines(file: string): Promise<number[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).map(Number);
}

describe("a control-plane crash while a flow is reporting", () => {
  it("loses no acknowledged journal write, and `aloft runs retry` finishes the run without re-running journaled tasks", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "aloft-durability-"));
    const executions = join(dataDir, "executions.log");
    const port = await freePort();
    const env = { ALOFT_API_URL: `http://127.0.0.1:${port}`, ALOFT_DATA_DIR: dataDir, EXECUTIONS_FILE: executions };

    const server = await startServer(port, dataDir);
    const flowRun = start(["run", FIXTURE, "--json"], env);
    while ((await lines(executions)).length < 6) await new Promise((resolve) => setTimeout(resolve, 10));
    server.child.kill("SIGKILL");
    await server.exited;

    // The flow cannot journal its next result, so it fails instead of building on an unrecorded one.
    expect(await flowRun.exited).toBe(1);
    const jsonLine = flowRun.output().split("\n").find((line) => line.startsWith("{"));
    if (!jsonLine) throw new Error(`the flow printed no run: ${flowRun.output()}`);
    const localRun = JSON.parse(jsonLine) as { id: string };
    const executedBeforeCrash = await lines(executions);

    await startServer(port, dataDir);
    const client = new AloftClient({ apiUrl: `http://127.0.0.1:${port}`, dataDir });
    const journal = await client.flowRuns.journal(localRun.id);
    // Step i+1 only started after step i's journal write was acknowledged: every one of those survived.
    const acknowledged = executedBeforeCrash.slice(0, -1);
    expect(journal.map((entry) => entry.value)).toEqual(expect.arrayContaining(acknowledged.map((i) => i * 10)));
    expect(journal.length).toBeGreaterThanOrEqual(acknowledged.length);

    // What a crash monitor does with a run whose runner went silent, then a user's retry.
    await client.flowRuns.proposeState(localRun.id, { state: { type: "CRASHED", message: "the runner stopped reporting" } });
    const retry = start(["runs", "retry", localRun.id, "--json"], env);
    expect(await retry.exited).toBe(0);
    const stored = await client.flowRuns.get(localRun.id);
    expect(stored.state.type).toBe("COMPLETED");
    expect(stored.result).toBe(1900);

    const all = await lines(executions);
    const counts = new Map<number, number>();
    for (const index of all) counts.set(index, (counts.get(index) ?? 0) + 1);
    for (const index of acknowledged) expect(counts.get(index), `step ${index} was journaled and must not run again`).toBe(1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const reExecuted = [...counts.entries()].filter(([, count]) => count > 1).map(([index]) => index);
    expect(reExecuted.length).toBeLessThanOrEqual(1); // at most the step in flight when the server died
  }, 60_000);
});
