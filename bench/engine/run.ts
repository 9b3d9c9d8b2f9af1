// `npm run bench:engine [-- --only aloft|prefect] [--scale <factor>] [--runs <n>]`: runs the engine benchmark
// (Aloft against Prefect 3) and prints its table on stdout; progress goes to stderr, and the full
// figures to bench/results/engine.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runEngineBenchmark, type System } from "./harness.js";

const SYSTEMS: readonly System[] = ["aloft", "prefect"];

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    scale: { type: "string", default: "1" },
    runs: { type: "string", default: "3" },
  },
});
if (values.only !== undefined && !SYSTEMS.includes(values.only as System)) {
  console.error(`--only must be ${SYSTEMS.join(" or ")} (got ${values.only})`);
  process.exit(2);
}
const scale = Number(values.scale);
if (!(Number.isFinite(scale) && scale > 0)) {
  console.error(`--scale must be a number > 0 (got ${values.scale})`);
  process.exit(2);
}

const runs = Number(values.runs);
if (!(Number.isInteger(runs) && runs >= 1)) {
  console.error(`--runs must be a whole number ≥ 1 (got ${values.runs})`);
  process.exit(2);
}

try {
  const report = await runEngineBenchmark({ scale, runs, ...(values.only ? { only: values.only as System } : {}) });
  const results = fileURLToPath(new URL("../results/", import.meta.url));
  mkdirSync(results, { recursive: true });
  writeFileSync(`${results}engine.json`, `${JSON.stringify({ date: new Date().toISOString(), scale, runs, ...report }, null, 2)}\n`);
  process.stdout.write(`${report.table}\n`);
} catch (error) {
  console.error(`bench:engine failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
