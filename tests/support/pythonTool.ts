import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isProcessAlive } from "../../lambdas/local/processAlive.js";

const REPOSITORY = fileURLToPath(new URL("../../", import.meta.url));
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
  while (!(await takeInstallLock(lock))) {
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

/**
 * Whoever renames a folder holding its pid to the lock's name installs: the rename is atomic and
 * fails while the lock exists. A lock whose process is gone (a killed installer) is removed. The
 * owner's liveness decides, not the lock's age: a file's mtime and this process's clock need not
 * agree (a test run under faketime, a network file system). Resolves to whether this process
 * holds the lock now; release it with `rm(lock, { recursive: true })`.
 *
 * @example
 * ```ts
 * while (!(await takeInstallLock(lock))) await sleep(500);
 * ```
 */
export async function takeInstallLock(lock: string): Promise<boolean> {
  const mine = `${lock}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await mkdir(mine);
  await writeFile(join(mine, "pid"), String(process.pid));
  try {
    await rename(mine, lock);
    return true;
  } catch (error) {
    await rm(mine, { recursive: true, force: true });
    if (!["EEXIST", "ENOTEMPTY", "EPERM"].includes((error as NodeJS.ErrnoException).code ?? "")) throw error;
    // A lock appears with its pid file (the rename), so one without is gone already or left by an older installer.
    const owner = Number(await readFile(join(lock, "pid"), "utf8").catch(() => ""));
    if (!(Number.isInteger(owner) && owner > 0 && isProcessAlive(owner))) await rm(lock, { recursive: true, force: true });
    return false;
  }
}

