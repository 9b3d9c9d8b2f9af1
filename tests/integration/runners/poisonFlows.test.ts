import { fileURLToPath } from "node:url";
import { mkdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_LAUNCH_CRASHES } from "../../../lambdas/services/monitoring.js";
import { startWorker } from "../../../sdk/runner/worker.js";
import { startRunnersPlane, type RunnersPlane } from "./runnersPlane.js";

const POISON = fileURLToPath(new URL("./fixtures/poison.mjs", import.meta.url));
const RUNNERS = 2;
const HEALTHY_RUNS = 12;
/** A run whose runner dies before starting it is claimed at most this many times in all. */
const POISON_ATTEMPTS = MAX_LAUNCH_CRASHES;

let plane: RunnersPlane;

beforeAll(async () => {
  plane = await startRunnersPlane({ heartbeatSeconds: 0.5 });
  await mkdir(plane.effects, { recursive: true });
});
afterAll(() => plane?.dispose());

describe("a local pool given a flow module that exits its process at import", () => {
  it("crashes that run's attempts with the reason until they run out, and keeps running every other deployment's runs at full size", { timeout: 90_000 }, async () => {
    const [first] = await plane.queueRuns("healthy-first", "fiveSteps", 1, "mjs");
    const launcher = plane.launcher(RUNNERS);
    const worker = startWorker({ pool: "local", runners: launcher, client: plane.client, claimWaitSeconds: 1 });
    try {
      // The healthy flow has loaded in a runner: a replacement runner warms it.
      expect((await plane.waitForRuns([first!], 20_000)).get(first!)).toBe("COMPLETED");

      await plane.client.deployments.create({ name: "poison", flowName: "poison", entrypoint: `${POISON}:poison`, workPool: "local" });
      const poison = await plane.client.deployments.run("poison", {});
      const healthy = await plane.queueRuns("healthy", "fiveSteps", HEALTHY_RUNS, "mjs");

      const states = await plane.waitForRuns(healthy, 40_000);
      expect([...states.values()]).toEqual(healthy.map(() => "COMPLETED"));

      // The poison run: every attempt crashed at once, with why, until its launches ran out.
      let run = await plane.client.flowRuns.get(poison.id);
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; run = await plane.client.flowRuns.get(poison.id)) {
        const crashes = (await plane.client.flowRuns.history(poison.id)).filter((entry) => entry.state.type === "CRASHED").length;
        if (run.state.type === "CRASHED" && crashes >= POISON_ATTEMPTS) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(run.state.type).toBe("CRASHED");
      expect(run.state.message).toMatch(new RegExp(`^the run never started: runner process \\d+ exited with code 1 while loading ${POISON.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:poison$`));
      expect(run.error?.name).toBe("RunnerLost");
      const history = (await plane.client.flowRuns.history(poison.id)).map((entry) => entry.state.type);
      expect(history.filter((type) => type === "CRASHED")).toHaveLength(POISON_ATTEMPTS);
      expect(history.at(-1)).toBe("CRASHED");

      // The pool is still its size, and started a runner for each one the poison killed, no more.
      expect(launcher.pool.started).toBeLessThanOrEqual(RUNNERS + POISON_ATTEMPTS);
      const after = await plane.queueRuns("healthy-after", "fiveSteps", 8, "mjs");
      expect([...(await plane.waitForRuns(after, 30_000)).values()]).toEqual(after.map(() => "COMPLETED"));
      const pids = new Set<number>();
      for (const id of after) for (const ran of (await plane.executions(id)).values()) for (const pid of ran) pids.add(pid);
      expect(pids.size).toBe(RUNNERS);
      expect(launcher.pool.pids()).toHaveLength(RUNNERS);
      expect(launcher.pool.started).toBeLessThanOrEqual(RUNNERS + POISON_ATTEMPTS);
    } finally {
      await worker.stop();
    }
  });
});
