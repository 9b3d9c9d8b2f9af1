import { ensurePythonTool, runCommand, type CommandResult } from "./pythonTool.js";

/** The cfn-lint release the infra tests lint templates with (from PyPI). */
export const CFN_LINT_VERSION = "1.58.0";

/** What one cfn-lint run printed and how it exited. */
export type CfnLintResult = CommandResult;

/**
 * The cfn-lint executable, installed into a cached virtual environment on first use.
 *
 * @example
 * ```ts
 * const executable = await ensureCfnLintInstalled();
 * ```
 */
export function ensureCfnLintInstalled(): Promise<string> {
  return ensurePythonTool({ requirement: `cfn-lint==${CFN_LINT_VERSION}`, executable: "cfn-lint" });
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
  return runCommand(executable, [...args, "--", ...templates]);
}
