import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { compileFlow } from "../../compiler/compileFlow.js";
import { CompileError } from "../../compiler/compileError.js";
import { mermaidGraph } from "../../compiler/mermaid.js";
import { loadFlow } from "../loadFlow.js";
import { terminalLine } from "../terminalText.js";
import { UsageError } from "../usageError.js";

/**
 * The options of `aloft compile`, as commander parses them.
 *
 * @example
 * ```ts
 * const options: CompileCommandOptions = { out: "hello.asl.json", graph: true, type: "STANDARD" };
 * ```
 */
export interface CompileCommandOptions {
  out?: string;
  graph?: boolean;
  type?: string;
}

/**
 * Adds `aloft compile <file.ts>[:export] [--out f.json] [--graph]` to the program.
 *
 * @example
 * ```ts
 * addCompileCommand(program);
 * await program.parseAsync(["node", "aloft", "compile", "flows/etl.ts", "--graph"]);
 * ```
 */
export function addCompileCommand(program: Command): Command {
  return program
    .command("compile")
    .description("compile a flow into an AWS Step Functions state machine (Amazon States Language, JSONPath)")
    .argument("<file[:export]>", "the TypeScript file holding the flow, and which export (default: the default export or the only flow)")
    .option("--out <file>", "write the definition to this file instead of stdout")
    .option("--graph", "also print a Mermaid flowchart of the states")
    .option("--type <type>", "STANDARD or EXPRESS", "STANDARD")
    .addHelpText("after", "\nWarnings go to stderr. Exit codes: 0 compiled, 2 bad usage or a flow that cannot compile (the message names the file, line and fix).")
    .action(async (target: string, options: CompileCommandOptions) => {
      await compileCommand(target, options);
    });
}

/**
 * Runs `aloft compile`: prints (or writes) the definition, its warnings on stderr and, with
 * `--graph`, the Mermaid flowchart. A flow that cannot compile is a UsageError (one line, exit 2).
 *
 * @example
 * ```ts
 * await compileCommand("examples/hello.ts", { graph: true });
 * ```
 */
export async function compileCommand(target: string, options: CompileCommandOptions, cwd: string = process.cwd()): Promise<void> {
  const type = (options.type ?? "STANDARD").toUpperCase();
  if (type !== "STANDARD" && type !== "EXPRESS") throw new UsageError(`--type must be STANDARD or EXPRESS (got "${options.type}")`);
  const { flow } = await loadFlow(target, cwd);
  let compiled;
  try {
    compiled = await compileFlow(flow, { type });
  } catch (error) {
    if (error instanceof CompileError) throw new UsageError(error.message);
    throw error;
  }
  for (const warning of compiled.warnings) process.stderr.write(`warning: ${terminalLine(warning)}\n`);
  const json = `${JSON.stringify(compiled.definition, null, 2)}\n`;
  if (options.out !== undefined) {
    await writeFile(resolve(cwd, options.out), json);
    process.stderr.write(`wrote ${options.out}\n`);
  } else process.stdout.write(json);
  if (options.graph) process.stdout.write(`${options.out === undefined ? "\n" : ""}${mermaidGraph(compiled.definition)}`);
}
