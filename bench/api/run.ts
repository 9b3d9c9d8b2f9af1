// `npm run bench:api [-- --only aloft|prefect] [--scale <factor>] [--cpu-prof <dir>]`: the API
// benchmark (the local Aloft server against `prefect server start`, 16 concurrent clients). Prints
// its table on stdout; progress goes to stderr, and the full figures to bench/results/api.json.
// With --cpu-prof, the Aloft server runs under `node --cpu-prof` and a summary of where its time went
// is printed to stderr. Exits 1 when any request got an unexpected answer (the table still prints).
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { renderProfileSummary, summarizeCpuProfile } from "./cpuProfile.js";
import { runApiBenchmark, type System } from "./harness.js";

const SYSTEMS: readonly System[] = ["aloft", "prefect"];

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    scale: { type: "string", default: "1" },
    "cpu-prof": { type: "string" },
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
const cpuProfileDir = values["cpu-prof"] === undefined ? undefined : resolve(values["cpu-prof"]);

try {
  if (cpuProfileDir) mkdirSync(cpuProfileDir, { recursive: true });
  const report = await runApiBenchmark({ scale, ...(values.only ? { only: values.only as System } : {}), ...(cpuProfileDir ? { cpuProfileDir } : {}) });
  const results = fileURLToPath(new URL("../results/", import.meta.url));
  mkdirSync(results, { recursive: true });
  writeFileSync(`${results}api.json`, `${JSON.stringify({ date: new Date().toISOString(), scale, prefectVersion: report.prefectVersion, ...report.results }, null, 2)}\n`);
  process.stdout.write(`${report.table}\n`);
  if (cpuProfileDir && report.results.aloft) {
    const newest = readdirSync(cpuProfileDir).filter((name) => name.endsWith(".cpuprofile")).sort().at(-1);
    if (newest) process.stderr.write(`\nAloft server CPU profile (${cpuProfileDir}/${newest}):\n${renderProfileSummary(summarizeCpuProfile(`${cpuProfileDir}/${newest}`))}`);
    else process.stderr.write(`no .cpuprofile was written to ${cpuProfileDir}\n`);
  }
  if (report.hasErrors) {
    console.error("bench:api: some requests did not get the expected answer; see the errors column and bench/results/api.json");
    process.exit(1);
  }
} catch (error) {
  console.error(`bench:api failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
