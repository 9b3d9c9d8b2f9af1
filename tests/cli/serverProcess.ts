import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { AloftClient } from "aloft";
import { ALOFT_BIN } from "./controlPlaneCli.js";

/** `aloft server start` (or `aloft worker start`) running as a process of the built CLI. */
export interface AloftProcess {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** Resolves with the exit code (or the signal) once it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the built `aloft <args>` in `cwd` with `env` added (colours off, no ambient Aloft settings). */
export function startAloft(args: readonly string[], cwd: string, env: Record<string, string> = {}): AloftProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ALOFT_CONFIG_DIR: join(cwd, "config"), ALOFT_LOG_LEVEL: "silent" };
  for (const key of ["FORCE_COLOR", "ALOFT_API_URL", "ALOFT_TOKEN", "ALOFT_DATA_DIR"]) delete childEnv[key];
  Object.assign(childEnv, env);
  const child = spawn(process.execPath, [ALOFT_BIN, ...args], { cwd, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, exited };
}

/** Resolves once the process has printed `text`; rejects, with what it printed, if it exits first or after `timeoutMs`. */
export async function printed(process: AloftProcess, text: string, timeoutMs = 30_000): Promise<void> {
  let exited = false;
  void process.exited.then(() => (exited = true));
  for (const deadline = Date.now() + timeoutMs; !process.output().includes(text); ) {
    if (exited || Date.now() > deadline) throw new Error(`never printed "${text}"; it printed:\n${process.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A started `aloft server start`: its URL and a client with its token. */
export async function serverStarted(server: AloftProcess, dataDir: string): Promise<{ url: string; token: string; client: AloftClient }> {
  await printed(server, "Press Ctrl-C to stop.");
  const url = /Aloft server on (\S+)/.exec(server.output())![1]!;
  const token = (await readFile(join(dataDir, "token"), "utf8")).trim();
  return { url, token, client: new AloftClient({ apiUrl: url, token }) };
}
