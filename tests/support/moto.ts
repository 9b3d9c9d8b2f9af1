import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./freePort.js";

/** The moto release the suites run against (moto[server], from PyPI). */
export const MOTO_VERSION = "5.2.5";

const REPOSITORY = fileURLToPath(new URL("../../", import.meta.url));
/** Under node_modules/.cache: ignored by git, and rebuilt after `npm ci` like everything else there. */
const VENV = join(REPOSITORY, "node_modules", ".cache", `aloft-moto-venv-${MOTO_VERSION}`);
const READY_MARKER = join(VENV, ".aloft-ready");
const LOCK = `${VENV}.lock`;
/** A lock older than this is from a killed installer and is taken over. */
const STALE_LOCK_MS = 10 * 60_000;
const INSTALL_TIMEOUT_MS = 10 * 60_000;
const START_TIMEOUT_MS = 60_000;

/** A moto server, started by `startMoto`. */
export interface MotoServer {
  /** `http://127.0.0.1:<port>`: every service moto emulates answers here. */
  endpoint: string;
  /** Stops the server process. */
  close(): Promise<void>;
}

/**
 * The moto_server executable, installing moto into a cached virtual environment on first use
 * (`python3 -m venv` + pip, about a minute). Parallel test files share one install: the first
 * takes a lock folder, the others wait for it. Throws (never skips) when the install fails.
 *
 * @example
 * ```ts
 * const executable = await ensureMotoInstalled(); // ".../node_modules/.cache/aloft-moto-venv-5.2.5/bin/moto_server"
 * ```
 */
export async function ensureMotoInstalled(): Promise<string> {
  const executable = join(VENV, "bin", "moto_server");
  if (await isReady()) return executable;
  await mkdir(dirname(VENV), { recursive: true });
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  while (!(await takeLock())) {
    if (await isReady()) return executable;
    if (Date.now() > deadline) throw new Error(`timed out waiting for another process to install moto into ${VENV} (lock ${LOCK})`);
    await sleep(500);
  }
  try {
    if (await isReady()) return executable;
    await rm(VENV, { recursive: true, force: true });
    const python = process.env.PYTHON ?? "python3";
    await run(python, ["-m", "venv", VENV], "create a Python virtual environment (on Debian: apt-get install python3-venv)");
    await run(
      join(VENV, "bin", "python"),
      ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", `moto[server]==${MOTO_VERSION}`],
      `pip install moto[server]==${MOTO_VERSION}`,
    );
    if (!existsSync(executable)) throw new Error(`moto installed but ${executable} is missing`);
    await writeFile(READY_MARKER, `${MOTO_VERSION}\n`);
    return executable;
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

/**
 * Starts moto_server on a free port of 127.0.0.1 and waits until it answers. Each caller gets its
 * own server, so parallel test files never share state.
 *
 * @example
 * ```ts
 * const moto = await startMoto();
 * const client = makeDynamoDbClient({ endpoint: moto.endpoint });
 * // …
 * await moto.close();
 * ```
 */
export async function startMoto(): Promise<MotoServer> {
  const executable = await ensureMotoInstalled();
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await launch(executable, port);
    } catch (error) {
      lastError = error as Error;
      if (!/address already in use|port .* is in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error("moto_server did not start");
}

async function launch(executable: string, port: number): Promise<MotoServer> {
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(executable, ["-H", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let exited: number | null | undefined;
  child.once("exit", (code) => {
    exited = code;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited !== undefined) {
      process.off("exit", killOnExit);
      throw new Error(`moto_server exited with code ${exited} before answering on ${endpoint}: ${stderr.trim()}`);
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop(child);
      process.off("exit", killOnExit);
      throw new Error(`moto_server did not answer on ${endpoint} within ${START_TIMEOUT_MS} ms: ${stderr.trim()}`);
    }
    await sleep(100);
  }
  return {
    endpoint,
    close: async () => {
      await stop(child);
      process.off("exit", killOnExit);
    },
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

async function isReady(): Promise<boolean> {
  try {
    return (await readFile(READY_MARKER, "utf8")).trim() === MOTO_VERSION;
  } catch {
    return false;
  }
}

/** mkdir is atomic: whoever creates the lock folder installs. A stale lock (killed installer) is removed. */
async function takeLock(): Promise<boolean> {
  try {
    await mkdir(LOCK);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    try {
      if (Date.now() - (await stat(LOCK)).mtimeMs > STALE_LOCK_MS) await rm(LOCK, { recursive: true, force: true });
    } catch {
      // Released meanwhile.
    }
    return false;
  }
}

async function run(command: string, args: string[], purpose: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-4_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.once("error", (error) => reject(new Error(`could not ${purpose}: ${command} failed to start (${error.message})`)));
    child.once("exit", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`could not ${purpose}: ${command} ${args.join(" ")} exited with ${code}\n${output.trim()}`));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
