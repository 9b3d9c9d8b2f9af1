import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AloftClient } from "aloft";
import { freePort } from "../../support/freePort.js";

const CLI = fileURLToPath(new URL("../../../dist/lambdas/local/main.js", import.meta.url));
const SDK_URL = pathToFileURL(fileURLToPath(new URL("../../../dist/sdk/index.js", import.meta.url))).href;

const FLOW = `import { flow, log, task } from ${JSON.stringify(SDK_URL)};
const add = task({ name: "add", run: async (a: number, b: number): Promise<number> => a + b });
export const sums = flow({ name: "sums", run: async () => {
  log.info("adding");
  return (await add(1, 2)) + (await add(3, 4));
} });
`;

interface ServerProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** `aloft server start` as a user runs it, its two streams kept apart. */
function serverStart(args: string[], cwd: string): ServerProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  // The test runner's own setting hides another warning of the SDK's; a user has none.
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  for (const key of ["ALOFT_API_URL", "ALOFT_TOKEN", "ALOFT_DATA_DIR"]) delete env[key];
  const child = spawn(process.execPath, [CLI, "server", "start", ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aloft-server-output-"));
  await mkdir(join(dir, "flows"));
  await writeFile(join(dir, "flows", "package.json"), `{"type":"module"}\n`);
  await writeFile(join(dir, "flows", "sums.ts"), FLOW);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("what aloft server start prints", () => {
  it("prints its banner and nothing on stderr, at start and while it serves runs through its pool, lists and logs", async () => {
    const port = await freePort();
    const dataDir = join(dir, "data-serving");
    const server = serverStart(["--port", String(port), "--data", dataDir, "--runners", "1"], dir);
    try {
      const probe = new AloftClient({ apiUrl: `http://127.0.0.1:${port}`, token: "none", retries: 0 });
      for (let attempt = 0; !(await probe.health().then(() => true, () => false)); attempt++) {
        if (attempt > 300) throw new Error(`the server did not start: ${server.stdout()}${server.stderr()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Made once the server is up: it reads the token the server wrote.
      const client = new AloftClient({ apiUrl: `http://127.0.0.1:${port}`, dataDir, retries: 0 });
      await client.deployments.create({ name: "sums", flowName: "sums", entrypoint: join(dir, "flows", "sums.ts:sums"), workPool: "local" });
      const queued = await client.deployments.run("sums");
      let run = await client.flowRuns.get(queued.id);
      for (let read = 0; read < 600 && run.state.type !== "COMPLETED" && run.state.type !== "FAILED" && run.state.type !== "CRASHED"; read++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        run = await client.flowRuns.get(queued.id);
      }
      expect(run).toMatchObject({ state: { type: "COMPLETED" }, result: 10 });
      await client.flowRuns.list({ limit: 20 });
      await client.flowRuns.list({ flow: "sums", state: "COMPLETED" });
      await client.flowRuns.logs(queued.id);
      await client.flowRuns.taskRuns(queued.id);
      await client.logs.create({ logs: [{ flowRunId: queued.id, timestamp: new Date().toISOString(), level: "info", message: "from the test" }] });
      await client.concurrencyLimits.set("db", 2);
      await client.concurrencyLimits.list();
      await client.workPools.list();
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }

    expect(server.stdout()).toMatch(new RegExp(`^Aloft server on http://localhost:${port}\\n`));
    expect(server.stderr()).toBe("");
  });

  it("a one-line error stays one line: a port in use is the error and nothing else", async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const { port } = holder.address() as { port: number };
    try {
      const server = serverStart(["--port", String(port), "--data", join(dir, "data-busy-port"), "--runners", "0"], dir);

      expect(await server.exited).toBe(2);
      expect(server.stderr()).toBe(`error: port ${port} is in use on 127.0.0.1: stop what holds it or pass --port\n`);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});
