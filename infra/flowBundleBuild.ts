import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

/** What {@link buildFlowBundle} made: the bundle's id and the staged `index.mjs`. */
export interface BuiltFlowBundle {
  /** `flows-<first 24 hex digits of the SHA-256 of index.mjs>`: the same code gives the same id. */
  bundleId: string;
  /** The folder holding `index.mjs`. */
  directory: string;
  /** `<directory>/index.mjs`. */
  file: string;
  /** Size of index.mjs in bytes. */
  bytes: number;
}

/**
 * Bundles an author's flows file with the local esbuild into one self-contained ES module for
 * Node 24: every import bundled, the aloft SDK and the AWS SDK included, because the runner imports
 * the bundle from its temporary folder, where no `node_modules` is in reach (Lambda or the Fargate
 * image). Minified, with an inline source map (unless `sourceMap: false`) so stack traces point into
 * the author's sources. The bundle is staged as `<stagingRoot>/<bundleId>/index.mjs`.
 *
 * @example
 * ```ts
 * const { bundleId, file } = buildFlowBundle("flows/etl.ts", "cdk.out/aloft-flow-bundles");
 * // bundleId: "flows-3f2a9c…", file: "cdk.out/aloft-flow-bundles/flows-3f2a9c…/index.mjs"
 * ```
 */
export function buildFlowBundle(entry: string, stagingRoot: string, options: { sourceMap?: boolean } = {}): BuiltFlowBundle {
  const entryFile = resolve(entry);
  if (!existsSync(entryFile)) throw new Error(`FlowBundle: entry ${entry} does not exist`);
  const projectRoot = nearestPackageRoot(entryFile);
  const esbuild = loadEsbuild();
  let result: import("esbuild").BuildResult<{ write: false }>;
  try {
    result = esbuild.buildSync({
      entryPoints: [entryFile],
      absWorkingDir: projectRoot,
      // Never written: the path only anchors the source map's relative source paths, so the bundle
      // (and its id) depend on the project's layout, not on where the CDK app stages it.
      outfile: join(projectRoot, ".aloft-flow-bundle", "index.mjs"),
      write: false,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node24",
      mainFields: ["module", "main"],
      conditions: ["import", "node"],
      minify: true,
      sourcemap: options.sourceMap === false ? false : "inline",
      sourcesContent: false,
      legalComments: "none",
      logLevel: "silent",
      // CommonJS dependencies bundled into ESM still call require().
      banner: { js: "import { createRequire as __aloftCreateRequire } from 'node:module'; const require = __aloftCreateRequire(import.meta.url);" },
    });
  } catch (error) {
    const failure = error as { errors?: { text: string; location?: { file: string; line: number } | null }[]; message?: string };
    const first = failure.errors?.[0];
    const where = first?.location ? ` (${first.location.file}:${first.location.line})` : "";
    throw new Error(`FlowBundle: esbuild could not bundle ${entry}: ${first ? first.text + where : String(failure.message)}`);
  }
  const output = result.outputFiles.find((file) => file.path.endsWith("index.mjs"));
  if (output === undefined) throw new Error(`FlowBundle: esbuild produced no module for ${entry}`);
  const bundleId = `flows-${createHash("sha256").update(output.contents).digest("hex").slice(0, 24)}`;
  const directory = join(stagingRoot, bundleId);
  const file = join(directory, "index.mjs");
  mkdirSync(directory, { recursive: true });
  writeFileSync(file, output.contents);
  return { bundleId, directory, file, bytes: output.contents.byteLength };
}

/** The folder of the nearest package.json above the entry, where its imports are resolved from. */
export function nearestPackageRoot(file: string): string {
  for (let directory = dirname(file); ; directory = dirname(directory)) {
    if (existsSync(join(directory, "package.json"))) return directory;
    if (dirname(directory) === directory) return dirname(file);
  }
}

/** The local esbuild (FlowBundle never bundles in Docker); a missing one is an error saying how to install it. */
export function loadEsbuild(): typeof import("esbuild") {
  try {
    return createRequire(import.meta.url)("esbuild") as typeof import("esbuild");
  } catch {
    throw new Error("FlowBundle bundles flows with a local esbuild and never with Docker: install it next to aws-cdk-lib (npm install --save-dev --save-exact esbuild@0.28.2)");
  }
}
