// `npm run bench:soak [-- --requests 50000] [--runs 2000] [--clients 16] [--runners 2] [--warmup 0.1]`:
// soaks the local server (from dist/) with mixed API requests and deployment runs through its own
// local pool, reading the server's RSS every second; prints the table on stdout (progress on stderr)
// and writes every figure and sample to bench/results/soak.json. Exits 1 when a request failed or a
// run did not complete (the table still prints); the growth target's PASS/FAIL is in the table.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SOAK_FULL_SIZE, runSoakBenchmark } from "./harness.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: String(SOAK_FULL_SIZE.requests) },
    runs: { type: "string", default: String(SOAK_FULL_SIZE.runs) },
    clients: { type: "string", default: "16" },
    runners: { type: "string", default: "2" },
    warmup: { type: "string", default: "0.1" },
  },
});
const sizes = { requests: Number(values.requests), runs: Number(values.runs), clients: Number(values.clients), runners: Number(values.runners) };
const problems = Object.entries(sizes)
  .filter(([name, value]) => !(Number.isInteger(value) && value >= (name === "runs" ? 0 : 1)))
  .map(([name]) => `--${name} must be a whole number ≥ ${name === "runs" ? 0 : 1} (got ${values[name as keyof typeof sizes]})`);
const warmupFraction = Number(values.warmup);
if (!(warmupFraction > 0 && warmupFraction < 1)) problems.push(`--warmup must be a fraction between 0 and 1 (got ${values.warmup})`);
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(2);
}

try {
  const report = await runSoakBenchmark({ ...sizes, warmupFraction });
  const results = fileURLToPath(new URL("../results/", import.meta.url));
  mkdirSync(results, { recursive: true });
  const { table, ...figures } = report;
  writeFileSync(`${results}soak.json`, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: cpus().length, ...figures }, null, 2)}\n`);
  process.stdout.write(`${table}\n`);
  if (report.errors > 0 || report.runs.completed < report.runs.submitted) {
    console.error(`bench:soak: ${report.errors} requests failed, ${report.runs.submitted - report.runs.completed} runs did not complete: ${report.firstErrors.join("; ")}`);
    process.exit(1);
  }
} catch (error) {
  console.error(`bench:soak failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
