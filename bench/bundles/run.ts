// `npm run bench:bundles [-- --runs <n>] [--no-synth]`: bundles each control-plane Lambda the way the
// CDK app does (esbuild, minified ESM for Node 24, the AWS SDK left to the runtime), and prints its
// size, its cold module-load time (a dynamic import in a fresh Node process, the median of --runs),
// and the time `cdk synth` takes. Figures also go to bench/results/bundles.json.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { values } = parseArgs({ options: { runs: { type: "string", default: "7" }, "no-synth": { type: "boolean", default: false } } });
const runs = Number(values.runs);
if (!(Number.isInteger(runs) && runs >= 1)) {
  console.error(`--runs must be a whole number ≥ 1 (got ${values.runs})`);
  process.exit(2);
}

/** The targets of the infrastructure issue. */
const MAX_BYTES = 250 * 1024;
const MAX_LOAD_MS = 80;

const handlers = readdirSync(join(root, "lambdas/handlers"))
  .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
  .map((file) => file.replace(/\.ts$/, ""));
// Inside the repository, so that the runtime-provided @aws-sdk/* resolve as they do on Lambda.
const out = join(root, "bench/results/bundles");
rmSync(out, { recursive: true, force: true });

interface Row {
  handler: string;
  bytes: number;
  loadMs: number;
  loadRuns: number[];
}
const rows: Row[] = [];
for (const handler of handlers) {
  const outfile = join(out, handler, "index.mjs");
  // The same options as infra/handlerFunction.ts gives NodejsFunction.
  await build({
    entryPoints: [join(root, "lambdas/handlers", `${handler}.ts`)],
    bundle: true,
    platform: "node",
    target: "node24",
    format: "esm",
    minify: true,
    mainFields: ["module", "main"],
    external: ["@aws-sdk/*"],
    banner: { js: "import { createRequire as __aloftCreateRequire } from 'node:module'; const require = __aloftCreateRequire(import.meta.url);" },
    outfile,
    logLevel: "error",
  });
  const loadRuns: number[] = [];
  for (let i = 0; i < runs; i++) {
    const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(outfile).href)}); process.stdout.write(String(performance.now() - t));`;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, AWS_REGION: "us-east-1", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    });
    if (child.status !== 0) throw new Error(`importing the ${handler} bundle failed: ${child.stderr}`);
    loadRuns.push(Number(child.stdout));
  }
  const sorted = [...loadRuns].sort((a, b) => a - b);
  rows.push({ handler, bytes: statSync(outfile).size, loadMs: sorted[Math.floor(sorted.length / 2)]!, loadRuns });
  process.stderr.write(`${handler}: ${(statSync(outfile).size / 1024).toFixed(1)} KB, load ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms\n`);
}

let synthSeconds: number | undefined;
if (!values["no-synth"]) {
  const cdkOut = mkdtempSync(join(tmpdir(), "aloft-synth-"));
  const started = performance.now();
  execFileSync(join(root, "node_modules/.bin/cdk"), ["synth", "--quiet", "--output", cdkOut], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  synthSeconds = (performance.now() - started) / 1000;
  rmSync(cdkOut, { recursive: true, force: true });
}

const lines = [
  "| function | minified bundle | target ≤ 250 KB | cold module load (median) | target ≤ 80 ms |",
  "|---|--:|:-:|--:|:-:|",
  ...rows.map(
    (row) =>
      `| ${row.handler} | ${(row.bytes / 1024).toFixed(1)} KB | ${row.bytes <= MAX_BYTES ? "met" : "missed"} | ${row.loadMs.toFixed(0)} ms | ${row.loadMs <= MAX_LOAD_MS ? "met" : "missed"} |`,
  ),
];
if (synthSeconds !== undefined) lines.push("", `\`cdk synth\` (bundling all six functions): ${synthSeconds.toFixed(1)} s`);
process.stdout.write(`${lines.join("\n")}\n`);
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(join(root, "bench/results/bundles.json"), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rows, synthSeconds }, null, 2)}\n`);
