// One Aloft workload in a fresh process, run by bench/engine/run.ts. Plain JavaScript on purpose:
// it imports the built package ("aloft" → dist/) so the child carries no TypeScript loader.
// Usage: node bench/engine/aloftWorkload.mjs <W1|W2|W3> <tasks>
// Prints one JSON line: { workload, tasks, seconds, maxRssKb }.
import { flow, task } from "aloft";

const ARRAY_LENGTH = 10_000;
const MAP_CONCURRENCY = 64;

const noop = task({ name: "noop", run: async (i) => i });
const makeArray = task({ name: "make-array", run: async (i) => Array.from({ length: ARRAY_LENGTH }, (_, k) => i + k) });

/** Each workload's flow body; it returns how many task results it checked. */
const bodies = {
  // W1: tasks awaited one after another.
  W1: async (n) => {
    let done = 0;
    for (let i = 0; i < n; i++) if ((await noop(i)) === i) done++;
    return done;
  },
  // W2: one map over all items, at most 64 in flight.
  W2: async (n) => {
    const results = await noop.map(Array.from({ length: n }, (_, i) => i), { concurrency: MAP_CONCURRENCY });
    return results.filter((value, i) => value === i).length;
  },
  // W3: sequential calls, each returning a 10,000-element number array; the flow checks each array
  // and keeps none of them, so what stays in memory is what the engine itself keeps.
  W3: async (n) => {
    let done = 0;
    for (let i = 0; i < n; i++) if ((await makeArray(i)).length === ARRAY_LENGTH) done++;
    return done;
  },
};

const [workload, countText] = process.argv.slice(2);
const body = bodies[workload ?? ""];
const count = Number(countText);
if (!body || !(Number.isInteger(count) && count > 0)) {
  console.error(`usage: aloftWorkload.mjs <${Object.keys(bodies).join("|")}> <tasks ≥ 1> (got ${workload} ${countText})`);
  process.exit(2);
}

const measured = flow({ name: `bench-${workload}`, run: async ({ n }) => body(n) });

async function runChecked(n) {
  const run = await measured.run({ n });
  if (run.state.name !== "Completed" || run.result !== n) {
    throw new Error(`flow run of ${workload} ended ${run.state.name} with ${String(run.result)} of ${n} task results checked: ${run.error?.message ?? "no error"}`);
  }
}

// A small warm-up run (same as the Prefect side) so the timed run measures steady-state task
// throughput rather than first-call set-up.
await runChecked(Math.min(10, count));
const started = process.hrtime.bigint();
await runChecked(count);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(`${JSON.stringify({ workload, tasks: count, seconds, maxRssKb: process.resourceUsage().maxRSS })}\n`);
