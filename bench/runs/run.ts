// `npm run bench:runs [-- --runs 1000] [--runners 4]`: pushes flow runs through the local pool of
// `aloft server start --runners N` (from dist/) and prints runs/s, p50/p99 schedule-to-start latency
// and the peak RSS of the server and its runners. Progress goes to stderr; the figures also to
// bench/results/runs.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runRunsBenchmark } from "./harness.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "1000" }, runners: { type: "string", default: "4" } } });
const runs = Number(values.runs);
const runners = Number(values.runners);
for (const [name, value] of [["--runs", runs], ["--runners", runners]] as const) {
  if (!(Number.isInteger(value) && value >= 1)) {
    console.error(`${name} must be a whole number ≥ 1 (got ${name === "--runs" ? values.runs : values.runners})`);
    process.exit(2);
  }
}
const report = await runRunsBenchmark({ runs, runners });
const results = fileURLToPath(new URL("../results/", import.meta.url));
mkdirSync(results, { recursive: true });
const { table, ...figures } = report;
writeFileSync(`${results}runs.json`, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...figures }, null, 2)}\n`);
process.stdout.write(`${table}\n`);
