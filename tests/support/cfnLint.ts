import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The cfn-lint release the infra tests lint templates with (from PyPI). */
export const CFN_LINT_VERSION = "1.58.0";

const REPOSITORY = fileURLToPath(new URL("../../", import.meta.url));
/** Under node_modules/.cache: ignored by git, and rebuilt after `npm ci` like everything else there. */
const VENV = join(REPOSITORY, "node_modules", ".cache", `aloft-cfn-lint-venv-${CFN_LINT_VERSION}`);
const READY_MARKER = join(VENV, ".aloft-ready");
const LOCK = `${VENV}.lock`;
/** A lock older than this is from a killed installer and is taken over. */
const STALE_LOCK_MS = 10 * 60_000;
const INSTALL_TIMEOUT_MS = 10 * 60_000;

/** What one cfn-lint run printed and how it exited. */
export interface CfnLintResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The cfn-lint executable, installing cfn-lint into a cached virtual environment on first use
 * (`python3 -m venv` + pip). Parallel test files share one install: the first takes a lock folder,
 * the others wait for it. Throws (never skips) when the install fails.
 *
 * @example
 * ```ts
 * const executable = await ensureCfnLintInstalled(); // ".../node_modules/.cache/aloft-cfn-lint-venv-1.58.0/bin/cfn-lint"
 * ```
 */
export async function ensureCfnLintInstalled(): Promise<string> {
  const executable = join(VENV, "bin", "cfn-lint");
  if (await isReady()) return executable;
  await mkdir(dirname(VENV), { recursive: true });
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  while (!(await takeLock())) {
    if (await isReady()) return executable;
    if (Date.now() > deadline) throw new Error(`timed out waiting for another process to install cfn-lint into ${VENV} (lock ${LOCK})`);
    await sleep(500);
  }
  try {
    if (await isReady()) return executable;
    await rm(VENV, { recursive: true, force: true });
    const python = process.env.PYTHON ?? "python3";
    const created = await run(python, ["-m", "venv", VENV]);
    if (created.exitCode !== 0) throw new Error(`could not create a Python virtual environment (on Debian: apt-get install python3-venv): ${created.stderr.trim()}`);
    const installed = await run(join(VENV, "bin", "python"), [
      "-m",
      "pip",
      "install",
      "--disable-pip-version-check",
      "--no-input",
      "--quiet",
      `cfn-lint==${CFN_LINT_VERSION}`,
    ]);
    if (installed.exitCode !== 0) throw new Error(`pip install cfn-lint==${CFN_LINT_VERSION} exited with ${installed.exitCode}: ${(installed.stdout + installed.stderr).trim().slice(-2_000)}`);
    if (!existsSync(executable)) throw new Error(`cfn-lint installed but ${executable} is missing`);
    await writeFile(READY_MARKER, `${CFN_LINT_VERSION}\n`);
    return executable;
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

/**
 * Lints CloudFormation templates with cfn-lint (installed on first use), returning its output and
 * exit code: 0 means no errors, warnings or informational findings.
 *
 * @example
 * ```ts
 * const result = await runCfnLint(["/tmp/out/Aloft-dev.template.json"]);
 * expect(result.exitCode).toBe(0);
 * ```
 */
export async function runCfnLint(templates: string[], args: string[] = []): Promise<CfnLintResult> {
  const executable = await ensureCfnLintInstalled();
  return run(executable, [...args, "--", ...templates]);
}

async function isReady(): Promise<boolean> {
  try {
    return (await readFile(READY_MARKER, "utf8")).trim() === CFN_LINT_VERSION;
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

async function run(command: string, args: string[]): Promise<CfnLintResult> {
  return new Promise<CfnLintResult>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", (error) => reject(new Error(`${command} failed to start: ${error.message}`)));
    child.once("close", (exitCode) => resolve({ exitCode, stdout, stderr }));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
