import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "./freePort.js";
import { ensurePythonTool } from "./pythonTool.js";

/** The moto release the suites run against (moto[server], from PyPI). */
export const MOTO_VERSION = "5.2.5";

const START_TIMEOUT_MS = 60_000;

/** A moto server, started by `startMoto`. */
export interface MotoServer {
  /** `http://127.0.0.1:<port>`: every service moto emulates answers here. */
  endpoint: string;
  /** Stops the server process. */
  close(): Promise<void>;
}

/**
 * The moto_server executable, installed into a cached virtual environment on first use (about a
 * minute); throws (never skips) when the install fails.
 *
 * @example
 * ```ts
 * const executable = await ensureMotoInstalled();
 * ```
 */
export function ensureMotoInstalled(): Promise<string> {
  return ensurePythonTool({ requirement: `moto[server]==${MOTO_VERSION}`, executable: "moto_server" });
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




function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
