import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The built CLI (`npm test` builds dist/ before vitest runs). */
export const CLI = fileURLToPath(new URL("../../dist/sdk/cli/main.js", import.meta.url));

/** A fixture flow file by name, as an absolute path. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Called with each chunk of stdout while the process runs, and the process to signal. */
  onStdout?: (text: string, child: ReturnType<typeof spawn>) => void;
}

/**
 * Runs `aloft <args>` as a user would, not on a terminal, with colours off. It runs in a fresh temp
 * directory unless `cwd` is given, so "aloft" in a fixture resolves to the built package.
 */
export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const cwd = options.cwd ?? (await mkdtemp(join(tmpdir(), "aloft-cli-")));
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...options.env };
  delete env.FORCE_COLOR;
  if (!options.env?.ALOFT_LOG_LEVEL) delete env.ALOFT_LOG_LEVEL;
  try {
    return await new Promise<CliResult>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        options.onStdout?.(stdout, child);
      });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      child.on("error", reject);
      child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  } finally {
    if (options.cwd === undefined) await rm(cwd, { recursive: true, force: true });
  }
}

/** A temp directory for files a test writes; removed by the returned function. */
export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "aloft-cli-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The non-empty lines of some output. */
export function linesOf(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}
