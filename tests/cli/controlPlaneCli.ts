import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { AloftClient } from "aloft";
import { startLocalServer, type LocalServer } from "../../lambdas/local/server.js";

/** The full `aloft` binary (package.json "bin"), built by `npm run build`. */
export const ALOFT_BIN = fileURLToPath(new URL("../../dist/lambdas/local/main.js", import.meta.url));

/** The built SDK, as fixture flows written to a temp dir import it. */
export const SDK_URL = pathToFileURL(fileURLToPath(new URL("../../dist/sdk/index.js", import.meta.url))).href;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A local control plane in a temp data dir, and the CLI pointed at it. */
export interface ControlPlaneFixture {
  server: LocalServer;
  /** The temp dir: the server's data dir is `data/`, fixture flows go in `flows/` (an ESM package). */
  dir: string;
  client: AloftClient;
  /** Runs `aloft <args>` in `dir` with ALOFT_API_URL and ALOFT_DATA_DIR set, colours off. */
  aloft(args: readonly string[], env?: Record<string, string | undefined>): Promise<CliResult>;
  /** Writes `flows/<name>` and returns its path relative to `dir`. */
  writeFlow(name: string, source: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts a local server in a fresh temp dir. */
export async function startControlPlane(): Promise<ControlPlaneFixture> {
  const dir = await mkdtemp(join(tmpdir(), "aloft-cp-cli-"));
  const dataDir = join(dir, "data");
  const server = await startLocalServer({ port: 0, dataDir, logError: () => {} });
  // Fixture flows live in an ESM package: see the report on flow().sourceFile for CommonJS files.
  await mkdir(join(dir, "flows"));
  await writeFile(join(dir, "flows", "package.json"), `{"type":"module"}\n`);
  const client = new AloftClient({ apiUrl: server.url, dataDir });
  return {
    server,
    dir,
    client,
    aloft: (args, env = {}) => spawnAloft(args, dir, { ALOFT_API_URL: server.url, ALOFT_DATA_DIR: dataDir, ...env }),
    writeFlow: async (name, source) => {
      await writeFile(join(dir, "flows", name), source);
      return `flows/${name}`;
    },
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs the built `aloft` in `cwd` as a user would: not on a terminal, colours off, no ambient Aloft settings. */
export function spawnAloft(args: readonly string[], cwd: string, env: Record<string, string | undefined>): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ALOFT_CONFIG_DIR: join(cwd, "config") };
  for (const key of ["FORCE_COLOR", "ALOFT_API_URL", "ALOFT_TOKEN", "ALOFT_DATA_DIR", "ALOFT_LOG_LEVEL"]) delete childEnv[key];
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[key];
    else childEnv[key] = value;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ALOFT_BIN, ...args], { cwd, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A URL on which nothing listens: a port the OS handed out, then closed. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** The non-empty lines of some output. */
export function linesOf(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}
