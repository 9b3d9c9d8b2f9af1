import { Agent, get } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "./cliProcess.js";
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
