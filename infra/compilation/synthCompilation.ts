import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadEsbuild, nearestPackageRoot } from "../flowBundleBuild.js";
import { packageModule } from "../handlerFunction.js";
import type { CompilationRequest, CompiledFlows } from "./compileForStateMachines.js";

/**
 * Compiles flows of an author's entry file into state machine definitions at synth. A CDK app
 * synthesizes synchronously and the entry is TypeScript, so the entry and the compiler are bundled
 * together by the local esbuild into one module that a child node process runs; it prints the
 * compiled definitions as JSON. Compile errors (a flow the compiler refuses, with its file and
 * line) come back as the error's message.
 *
 * @example
 * ```ts
 * const { requested } = compileAtSynth("flows/etl.ts", "cdk.out/aloft-flow-bundles", [{ flow: "etl", type: "STANDARD" }]);
 * requested[0]!.definition.StartAt; // "extract"
 * ```
 */
export function compileAtSynth(entry: string, stagingRoot: string, requests: CompilationRequest[]): CompiledFlows {
  const entryFile = resolve(entry);
  const esbuild = loadEsbuild();
  const source =
    `import ${JSON.stringify(entryFile)};\n` +
    `import { compileForStateMachines } from ${JSON.stringify(packageModule("infra/compilation/compileForStateMachines.ts"))};\n` +
    "try { process.stdout.write(JSON.stringify(await compileForStateMachines(JSON.parse(process.argv[2])))); }\n" +
    "catch (error) { process.stderr.write(error instanceof Error ? error.message : String(error)); process.exitCode = 1; }\n";
  const directory = join(stagingRoot, "compile");
  const file = join(directory, "compile.mjs");
  let code: Uint8Array;
  try {
    const result = esbuild.buildSync({
      stdin: { contents: source, resolveDir: nearestPackageRoot(entryFile), sourcefile: "aloft-compile.mjs", loader: "js" },
      // Not written by esbuild: anchors the source map, so a compile error's stack points into the author's files.
      outfile: file,
      write: false,
      sourcemap: "inline",
      sourcesContent: false,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      mainFields: ["module", "main"],
      conditions: ["import", "node"],
      logLevel: "silent",
      banner: { js: "import { createRequire as __aloftCreateRequire } from 'node:module'; const require = __aloftCreateRequire(import.meta.url);" },
    });
    code = result.outputFiles.find((output) => output.path === file)!.contents;
  } catch (error) {
    const first = (error as { errors?: { text: string }[] }).errors?.[0];
    throw new Error(`FlowBundle: esbuild could not bundle ${entry} for compiling: ${first?.text ?? String(error)}`);
  }
  mkdirSync(directory, { recursive: true });
  writeFileSync(file, code);
  const child = spawnSync(process.execPath, ["--enable-source-maps", file, JSON.stringify(requests)], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
  if (child.status !== 0) {
    const reason = child.stderr.trim() || child.error?.message || `exit code ${String(child.status)}`;
    throw new Error(`FlowBundle: compiling ${requests.map((request) => request.flow).join(", ")} from ${entry} for Step Functions failed: ${reason}`);
  }
  return JSON.parse(child.stdout) as CompiledFlows;
}
