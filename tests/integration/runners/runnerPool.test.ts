import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { FlowRunResponse } from "../../../sdk/api/types.js";
import type { RunJob } from "../../../sdk/runner/runnerMessages.js";
import { RunnerPool } from "../../../sdk/runner/runnerPool.js";

const ECHO_RUNNER = { path: fileURLToPath(new URL("./fixtures/echoRunner.mjs", import.meta.url)), execArgv: [] };
const pools: RunnerPool[] = [];

function pool(size: number): RunnerPool {
  const created = new RunnerPool({ size, script: ECHO_RUNNER, stdio: "ignore" });
  pools.push(created);
  return created;
}

/** A claimed run of a flow whose code is `<the echo runner's file>:<flowName>` (the echo runner looks only at the name). */
function jobOf(runId: string, flowName: string): RunJob {
  return { runId, runnerToken: "t", flowRun: { flowName, entrypoint: `${ECHO_RUNNER.path}:${flowName}` } as FlowRunResponse };
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((created) => created.close({ kill: true })));
});

describe("a pool of warm runner processes", () => {
  it("runs many jobs on the same few processes", async () => {
    const runners = pool(2);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => runners.run({ runId: `run-${i}`, runnerToken: "t" })));
    expect(results.every((result) => result.action === "ran")).toBe(true);
    expect(runners.started).toBe(2);
  });

  it("reports the run of a killed runner as lost and replaces the runner", async () => {
    const runners = pool(1);
    const { pid, result } = await runners.start({ runId: "slow-1", runnerToken: "t" });
    expect(runners.free).toBe(0);
    // Past the loading of its code (the echo runner reports it at once): the death is not the code's.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(runners.stop(pid!)).toBe(true);
    expect(await result).toEqual({ action: "lost", reason: `runner process ${pid} was killed (SIGKILL)` });
    expect(await runners.run({ runId: "after", runnerToken: "t" })).toMatchObject({ action: "ran" });
    expect(runners.started).toBe(2);
    expect(runners.pids()).not.toContain(pid);
  });

  it("hands a run only to a free runner, waiting for one", async () => {
    const runners = pool(1);
    const slow = await runners.start({ runId: "slow-2", runnerToken: "t" });
    let second: Promise<unknown> | undefined;
    const handed = runners.start({ runId: "quick", runnerToken: "t" }).then((started) => (second = started.result));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(second).toBeUndefined();
    runners.stop(slow.pid!);
    await handed;
    expect(await second).toMatchObject({ action: "ran" });
  });

  it("lets the runs in hand finish when closed without kill", async () => {
    const runners = pool(2);
    const { result } = await runners.start({ runId: "short-1", runnerToken: "t" });
    await runners.close();
    expect(await result).toMatchObject({ action: "ran" });
    expect(runners.pids()).toEqual([]);
  });

  it("reports a run whose runner died loading its code as lost while loading it, and its replacement does not load that code", async () => {
    const runners = pool(1);
    expect(await runners.run(jobOf("healthy-1", "healthy"))).toMatchObject({ action: "ran" });
    const [pid] = runners.pids();
    expect(await runners.run(jobOf("poison-1", "poison"))).toEqual({ action: "lost", reason: `runner process ${pid} exited with code 1 while loading ${ECHO_RUNNER.path}:poison` });
    // The replacement warms up on the healthy flow only, and takes the next run.
    expect(await runners.run(jobOf("healthy-2", "healthy"))).toMatchObject({ action: "ran" });
    expect(runners.started).toBe(2);
  });

  it("drops code whose warming killed a runner from what new runners warm up on", async () => {
    const runners = pool(1);
    expect(await runners.run(jobOf("dies-warming-1", "dies-warming"))).toMatchObject({ action: "ran" });
    runners.stop(runners.pids()[0]!);
    while (runners.started < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    // The first replacement dies warming up; the next one warms up on nothing and takes the run.
    expect(await runners.run(jobOf("after", "other"))).toMatchObject({ action: "ran" });
    expect(runners.started).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(runners.started).toBe(3);
    expect(runners.pids()).toHaveLength(1);
  });

  it("refuses a size below one", () => {
    expect(() => new RunnerPool({ size: 0, script: ECHO_RUNNER })).toThrow("a runner pool needs at least 1 runner, got 0");
  });
});
