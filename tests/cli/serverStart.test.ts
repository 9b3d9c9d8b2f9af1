import { chmod, lstat, mkdir, readdir, writeFile } from "node:fs/promises";
import { Agent, get } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fixture, tempDir } from "./cliProcess.js";
import { SDK_URL, spawnAloft } from "./controlPlaneCli.js";
import { printed, serverStarted, startAloft, type AloftProcess } from "./serverProcess.js";

const started: AloftProcess[] = [];
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const process of started.splice(0)) process.child.kill("SIGKILL");
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function aloft(args: readonly string[], cwd: string, env: Record<string, string> = {}): AloftProcess {
  const process = startAloft(args, cwd, env);
  started.push(process);
  return process;
}

async function workDir(): Promise<string> {
  const { dir, remove } = await tempDir();
  cleanups.push(remove);
  return dir;
}

describe("aloft server start, stopped with SIGTERM", () => {
  it("exits 0 within its grace period with a worker long-polling and a request in flight, and keeps every acknowledged write", { timeout: 60_000 }, async () => {
    const dir = await workDir();
    const dataDir = join(dir, "data");
    const graceSeconds = 2;
    const server = aloft(["server", "start", "--port", "0", "--data", dataDir, "--runners", "1"], dir, { ALOFT_SHUTDOWN_GRACE_SECONDS: String(graceSeconds) });
    const { url, token, client } = await serverStarted(server, dataDir);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await client.flowRuns.create({ flowName: "kept", parameters: { i } })).id);

    // Another worker, long-polling for runs of the local pool (as is the server's own).
    const worker = aloft(["worker", "start", "--pool", "local", "--runners", "1"], dir, { ALOFT_API_URL: url, ALOFT_TOKEN: token });
    await printed(worker, "Press Ctrl-C to stop.");
    // A request that stays in flight: its body never ends.
    const { port } = new URL(url);
    const stalled = connect(Number(port), "127.0.0.1");
    stalled.on("error", () => {});
    stalled.write(`POST /v1/flow-runs HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"flowName":`);
    // A keep-alive connection, idle between requests.
    const agent = new Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy(), () => void stalled.destroy());
    await new Promise<void>((resolve, reject) =>
      get(`${url}/v1/flow-runs?limit=1`, { agent, headers: { authorization: `Bearer ${token}` } }, (response) => response.resume().on("end", resolve)).on("error", reject),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));

    const stopping = Date.now();
    server.child.kill("SIGTERM");
    expect(await server.exited).toEqual({ code: 0, signal: null });
    // The grace period, and the little it takes to close the database after it.
    expect((Date.now() - stopping) / 1000).toBeLessThan(graceSeconds + 5);
    expect(server.output()).toContain("Stopping…");

    const again = aloft(["server", "start", "--port", "0", "--data", dataDir, "--runners", "0"], dir);
    const restarted = await serverStarted(again, dataDir);
    for (const [i, id] of ids.entries()) expect(await restarted.client.flowRuns.get(id)).toMatchObject({ flowName: "kept", parameters: { i } });
    again.child.kill("SIGTERM");
    expect(await again.exited).toEqual({ code: 0, signal: null });
  });
});

/** Every directory and file under `dir` (itself included), with its permission bits, as `path mode` lines. */
async function modesUnder(dir: string, prefix = "."): Promise<string[]> {
  const stats = await lstat(dir);
  const line = `${prefix} ${(stats.mode & 0o777).toString(8)}${stats.isDirectory() ? "/" : ""}`;
  if (!stats.isDirectory()) return [line];
  const below = await Promise.all((await readdir(dir)).sort().map((name) => modesUnder(join(dir, name), `${prefix}/${name}`)));
  return [line, ...below.flat()];
}

describe("aloft server start's data dir", () => {
  it("is private to its owner, everything in it, even when it existed with looser modes, and stays so as the server writes", { timeout: 60_000 }, async () => {
    const dir = await workDir();
    const dataDir = join(dir, "data");
    await mkdir(join(dataDir, "notes"), { recursive: true });
    await writeFile(join(dataDir, "notes", "todo.txt"), "mine\n");
    await chmod(dataDir, 0o755);
    await chmod(join(dataDir, "notes"), 0o755);
    await chmod(join(dataDir, "notes", "todo.txt"), 0o644);

    const large = "x".repeat(100_000);
    for (let start = 0; start < 2; start++) {
      const server = aloft(["server", "start", "--port", "0", "--data", dataDir, "--runners", "0"], dir);
      const { client } = await serverStarted(server, dataDir);
      // Runs (one with parameters large enough for payloads/) and a pool environment.
      for (let i = 0; i < 50; i++) await client.flowRuns.create({ flowName: "private", parameters: i === 0 ? { large } : { i } });
      await client.workPools.update("local", { jobSettings: { environment: { API_KEY: "secret" } } });
      const modes = await modesUnder(dataDir);
      expect(modes.filter((line) => !/ (700\/|600)$/.test(line))).toEqual([]);
      expect(modes.some((line) => line.startsWith("./dynamodb/") && line.endsWith(".log 600"))).toBe(true);
      expect(modes.some((line) => line.startsWith("./payloads/"))).toBe(true);
      server.child.kill("SIGTERM");
      expect(await server.exited).toEqual({ code: 0, signal: null });
    }
    // After the restart, LevelDB turned the first run's log into a table: it too is private.
    const modes = await modesUnder(dataDir);
    expect(modes.some((line) => line.startsWith("./dynamodb/") && line.endsWith(".ldb 600"))).toBe(true);
    expect(modes.filter((line) => !/ (700\/|600)$/.test(line))).toEqual([]);
  });
});

describe("aloft server start's runners", () => {
  it("write their flows' files with the user's umask, not the server's private one", { timeout: 60_000 }, async () => {
    const dir = await workDir();
    const dataDir = join(dir, "data");
    await mkdir(join(dir, "flows"));
    await writeFile(
      join(dir, "flows", "writer.mjs"),
      `import { writeFileSync } from "node:fs";\nimport { flow } from ${JSON.stringify(SDK_URL)};\nexport const writer = flow({ name: "writer", run: async ({ path }) => { writeFileSync(path, "out"); return path; } });\n`,
    );
    const server = aloft(["server", "start", "--port", "0", "--data", dataDir, "--runners", "1"], dir);
    const { client } = await serverStarted(server, dataDir);
    await client.deployments.create({ name: "writer", flowName: "writer", entrypoint: "flows/writer.mjs:writer", workPool: "local" });
    const output = join(dir, "out.txt");
    const { id } = await client.deployments.run("writer", { parameters: { path: output } });
    let run = await client.flowRuns.get(id);
    for (const deadline = Date.now() + 30_000; run.state.type !== "COMPLETED" && Date.now() < deadline; run = await client.flowRuns.get(id)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(run.state.type).toBe("COMPLETED");
    const umask = process.umask();
    expect((await lstat(output)).mode & 0o777).toBe(0o666 & ~umask);
    server.child.kill("SIGTERM");
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });
});

describe("an empty data dir", () => {
  it("is refused by aloft server start --data \"\" with one line and exit 2, and nothing is written in the working directory", async () => {
    const dir = await workDir();
    const result = await spawnAloft(["server", "start", "--port", "0", "--data", ""], dir, {});
    expect(result).toEqual({ code: 2, stdout: "", stderr: "error: --data must name a directory, got an empty string\n" });
    expect(await readdir(dir)).toEqual([]);
  });

  it.each([
    ["server start", ["server", "start", "--port", "0"]],
    ["worker start", ["worker", "start", "--pool", "local"]],
    ["runs ls", ["runs", "ls"]],
    ["deployments ls", ["deployments", "ls"]],
    ["run", ["run", fixture("greet.ts")]],
  ])("is refused by aloft %s when ALOFT_DATA_DIR is set but empty, with one line and exit 2", async (_name, args) => {
    const dir = await workDir();
    const result = await spawnAloft(args, dir, { ALOFT_DATA_DIR: "", ALOFT_API_URL: "http://127.0.0.1:9" });
    expect(result).toEqual({ code: 2, stdout: "", stderr: "error: ALOFT_DATA_DIR is set but empty: set it to a directory, or unset it to use .aloft in the working directory\n" });
    expect(await readdir(dir)).toEqual([]);
  });
});
