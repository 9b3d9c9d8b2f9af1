import { mkdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type Worker } from "../../../sdk/runner/worker.js";
import { effectFiles, startRunnersPlane, type RunnersPlane } from "./runnersPlane.js";

const RUNS = Number(process.env.RACE_RUNS ?? 1_000);
const WORKERS = 8;

let plane: RunnersPlane;

beforeAll(async () => {
  plane = await startRunnersPlane({ heartbeatSeconds: 2 });
  await mkdir(plane.effects, { recursive: true });
});
afterAll(() => plane?.dispose());

describe("workers racing for the runs of one pool", () => {
  it(`execute each of ${RUNS} queued runs exactly once with ${WORKERS} workers`, { timeout: 170_000 }, async () => {
    const ids = await plane.queueRuns("race", "oneStep", RUNS);
    const claimedBy = new Map<string, string[]>();
    const workers: Worker[] = [];
    for (let i = 0; i < WORKERS; i++) {
      const workerId = `racer-${i}`;
      workers.push(
        startWorker({
          pool: "local",
          runners: plane.launcher(1),
          client: plane.client,
          workerId,
          claimWaitSeconds: 1,
          // "<worker> <what the runner did>", for a failure message that explains itself.
          onRun: (job, result) => claimedBy.set(job.runId, [...(claimedBy.get(job.runId) ?? []), `${workerId} ${JSON.stringify(result).slice(0, 300)}`]),
        }),
      );
    }
    const started = Date.now();
    let states: Map<string, string>;
    try {
      states = await plane.waitForRuns(ids, 150_000);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
    }
    process.stdout.write(`race: ${RUNS} runs, ${WORKERS} workers, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    expect([...states.values()].filter((type) => type !== "COMPLETED")).toEqual([]);
    expect(await effectFiles(plane.effects)).toHaveLength(RUNS);
    const executedTwice: string[] = [];
    for (const id of ids) {
      const executions = await plane.executions(id);
      if (executions.get(0)?.length !== 1) executedTwice.push(`${id}: ${executions.get(0)?.length ?? 0} executions`);
    }
    expect(executedTwice).toEqual([]);
    // A run is handed to a second runner only when the first lost it (crashed, then claimed again).
    const handedTwice = [...claimedBy].filter(([, claimers]) => claimers.length !== 1);
    const explained = await Promise.all(
      handedTwice.map(async ([id, claimers]) => ({ id, claimers, history: (await plane.client.flowRuns.history(id)).map((entry) => `${entry.state.name} ${entry.state.message ?? ""}`) })),
    );
    expect(explained).toEqual([]);
    // Every worker took part: the claims really raced.
    expect(new Set([...claimedBy.values()].flat().map((claim) => claim.split(" ")[0])).size).toBe(WORKERS);
  });
});
