import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Stage } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { packageRoot } from "./handlerFunction.js";

/**
 * Prepares the Docker build context of the Fargate runner image: `infra/runner-image/Dockerfile`
 * plus the runner module (`lambdas/handlers/runner.ts`, which runs `main()` when it is the
 * process's entry point) bundled by the local esbuild into one self-contained `runner.mjs`, AWS SDK
 * included. Synthesis only stages this folder as an asset; Docker builds the image when
 * `cdk deploy` publishes it.
 */
export function stageRunnerImage(scope: IConstruct): string {
  const root = packageRoot();
  const sources = join(root, "infra", "runner-image");
  const candidates = [join(root, "lambdas", "handlers", "runner.ts"), join(root, "dist", "lambdas", "handlers", "runner.js")];
  const entry = candidates.find((file) => existsSync(file));
  if (entry === undefined) throw new Error(`aloft/infra: the runner module is missing (looked for ${candidates.join(" and ")})`);
  const stage = Stage.of(scope);
  if (stage === undefined) throw new Error(`${scope.node.path}: the runner image can only be staged inside a CDK app`);
  const context = join(stage.outdir, "aloft-runner-image");
  mkdirSync(context, { recursive: true });
  const esbuild = createRequire(import.meta.url)("esbuild") as typeof import("esbuild");
  esbuild.buildSync({
    entryPoints: [entry],
    outfile: join(context, "runner.mjs"),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    mainFields: ["module", "main"],
    minify: true,
    sourcemap: true,
    legalComments: "none",
    logLevel: "error",
    banner: { js: "import { createRequire as __aloftCreateRequire } from 'node:module'; const require = __aloftCreateRequire(import.meta.url);" },
  });
  copyFileSync(join(sources, "Dockerfile"), join(context, "Dockerfile"));
  return context;
}
