import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const REPOSITORY = fileURLToPath(new URL("../../", import.meta.url));
/** A lock older than this is from a killed installer and is taken over. */
const STALE_LOCK_MS = 10 * 60_000;
const INSTALL_TIMEOUT_MS = 10 * 60_000;

/** What one run of a command printed and how it exited. */
export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The path of a Python command-line tool installed from PyPI into its own cached virtual environment
 * under node_modules/.cache (ignored by git, rebuilt after `npm ci`), installing it on first use with
 * `python3 -m venv` and pip. Parallel test files share one install: the first takes a lock folder,
 * the others wait. Throws (never skips) when the install fails.
 *
 * @example
 * ```ts
 * const motoServer = await ensurePythonTool({ requirement: "moto[server]==5.2.5", executable: "moto_server" });
 * ```
 */
export async function ensurePythonTool(tool: { requirement: string; executable: string }): Promise<string> {
  const venv = join(REPOSITORY, "node_modules", ".cache", `aloft-venv-${tool.requirement.replace(/[^A-Za-z0-9.=-]/g, "_")}`);
  const executable = join(venv, "bin", tool.executable);
  const marker = join(venv, ".aloft-ready");
  const lock = `${venv}.lock`;
  const isReady = async () => (await readFile(marker, "utf8").catch(() => "")).trim() === tool.requirement;

  if (await isReady()) return executable;
  await mkdir(dirname(venv), { recursive: true });
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  while (!(await takeLock(lock))) {
    if (await isReady()) return executable;
    if (Date.now() > deadline) throw new Error(`timed out waiting for another process to install ${tool.requirement} into ${venv} (lock ${lock})`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  try {
    if (await isReady()) return executable;
    await rm(venv, { recursive: true, force: true });
    const created = await runCommand(process.env.PYTHON ?? "python3", ["-m", "venv", venv]);
    if (created.exitCode !== 0) throw new Error(`could not create a Python virtual environment (on Debian: apt-get install python3-venv): ${created.stderr.trim()}`);
    const installed = await runCommand(join(venv, "bin", "python"), ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", tool.requirement]);
    if (installed.exitCode !== 0) {
      throw new Error(`pip install ${tool.requirement} exited with ${installed.exitCode}: ${(installed.stdout + installed.stderr).trim().slice(-2_000)}`);
    }
    if (!existsSync(executable)) throw new Error(`${tool.requirement} installed but ${executable} is missing`);
    await writeFile(marker, `${tool.requirement}\n`);
    return executable;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/**
 * Runs a command to completion, collecting its output.
 *
 * @example
 * ```ts
 * const { exitCode, stdout } = await runCommand("cfn-lint", ["--version"]);
 * ```
 */
export function runCommand(command: string, args: string[]): Promise<CommandResult> {
  return new Promise<CommandResult>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", (error) => reject(new Error(`${command} failed to start: ${error.message}`)));
    child.once("close", (exitCode) => resolve({ exitCode, stdout, stderr }));
  });
}

/** mkdir is atomic: whoever creates the lock folder installs. A stale lock (killed installer) is removed. */
async function takeLock(lock: string): Promise<boolean> {
  try {
    await mkdir(lock);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    try {
      if (Date.now() - (await stat(lock)).mtimeMs > STALE_LOCK_MS) await rm(lock, { recursive: true, force: true });
    } catch {
      // Released meanwhile.
    }
    return false;
  }
}
