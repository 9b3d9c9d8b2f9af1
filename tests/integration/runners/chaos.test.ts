import { mkdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker } from "../../../sdk/runner/worker.js";
import { startRunnersPlane, type RunnersPlane } from "./runnersPlane.js";

const RUNS = Number(process.env.CHAOS_RUNS ?? 200);
const RUNNERS = 4;
const KILL_EVERY_MS = 300;
const HEARTBEAT_SECONDS = 0.5;

let plane: RunnersPlane;

beforeAll(async () => {
  plane = await startRunnersPlane({ heartbeatSeconds: HEARTBEAT_SECONDS });
  await mkdir(plane.effects, { recursive: true });
});
afterAll(() => plane?.dispose());

describe("a local pool whose runners are killed at random (chaos)", () => {
  it(`completes ${RUNS} durable runs of a 5-task flow with 0 stuck, never re-running a journaled task call`, { timeout: 170_000 }, async () => {
    const ids = await plane.queueRuns("chaos", "fiveSteps", RUNS, "mjs");
    const launcher = plane.launcher(RUNNERS);
    const worker = startWorker({ pool: "local", runners: launcher, client: plane.client, claimWaitSeconds: 1 });

    // The killer: every ~300 ms, SIGKILL a random runner process that holds a run, noting when. A
    // tick is skipped while the replacement of the last victim is still starting: starting a runner
    // costs ~0.5 CPU-second, and 3 starts a second would leave 2 cores nothing to run flows with.
    const killedAt = new Map<number, number>();
    let ticks = 0;
    const killer = setInterval(() => {
      ticks++;
      if (launcher.pool.free + launcher.pool.busy < RUNNERS) return;
      const pids = launcher.pool.busyPids();
      const victim = pids[Math.floor(Math.random() * pids.length)];
      if (victim === undefined) return;
      try {
        process.kill(victim, "SIGKILL");
        killedAt.set(victim, Date.now());
      } catch {
        // it died on its own meanwhile
      }
    }, KILL_EVERY_MS);

    const started = Date.now();
    let states: Map<string, string>;
    try {
      states = await plane.waitForRuns(ids, 150_000);
    } finally {
      clearInterval(killer);
      await worker.stop();
    }
    const seconds = (Date.now() - started) / 1000;

    const byState = new Map<string, number>();
    for (const type of states.values()) byState.set(type, (byState.get(type) ?? 0) + 1);
    const notCompleted = await Promise.all(
      ids.filter((id) => states.get(id) !== "COMPLETED").map(async (id) => ({ id, history: (await plane.client.flowRuns.history(id)).map((entry) => `${entry.state.name} ${entry.state.message ?? ""}`) })),
    );
    expect(notCompleted).toEqual([]);
    expect(Object.fromEntries(byState)).toEqual({ COMPLETED: RUNS });
    // Every call whose completion was journaled ran once; a call ran again only when the process
    // that ran it before was killed (before its journal write was acknowledged).
    let reExecutions = 0;
    const unexplained: string[] = [];
    for (const id of ids) {
      const executions = await plane.executions(id);
      expect([...executions.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
      for (const [step, pids] of executions) {
        reExecutions += pids.length - 1;
        for (const pid of pids.slice(0, -1)) if (!killedAt.has(pid)) unexplained.push(`run ${id} step ${step} ran again after process ${pid}, which was not killed`);
      }
      expect((await plane.client.flowRuns.journal(id)).length).toBe(5);
    }
    process.stdout.write(
      `chaos: ${RUNS} runs, ${RUNNERS} runners, ${killedAt.size} runner processes killed in ${ticks} ticks of ${KILL_EVERY_MS} ms, ${reExecutions} task re-executions (all in killed attempts), ${seconds.toFixed(1)} s\n`,
    );
    expect(unexplained).toEqual([]);
    expect(killedAt.size).toBeGreaterThan(10);
  });
});
