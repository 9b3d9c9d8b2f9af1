import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AloftClient } from "aloft";
import { startLocalServer, type LocalServer } from "../../../lambdas/local/server.js";

let server: LocalServer;
let client: AloftClient;

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "aloft-lifecycle-"));
  // No worker of its own: the test plays the runners.
  server = await startLocalServer({ port: 0, dataDir, runners: 0, heartbeatSeconds: 0.2, cancelGraceSeconds: 0.5, launchTimeoutSeconds: 5 });
  client = new AloftClient({ apiUrl: server.url, dataDir });
  await client.deployments.create({ name: "etl", flowName: "etl", entrypoint: "flows/etl.ts:etl", workPool: "local" });
});

afterAll(async () => server?.close());

/** Polls the run until `done` holds (the monitor works on its own clock); fails after 200 reads. */
async function until(id: string, done: (run: Awaited<ReturnType<AloftClient["flowRuns"]["get"]>>) => boolean) {
  for (let read = 0; read < 200; read++) {
    const run = await client.flowRuns.get(id);
    if (done(run)) return run;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`flow run ${id} never reached the expected state; it is ${(await client.flowRuns.get(id)).state.name}`);
}

describe("startLocalServer", () => {
  it("refuses an empty data dir instead of taking the working directory", async () => {
    await expect(startLocalServer({ port: 0, dataDir: "", runners: 0 })).rejects.toThrow("the data dir is an empty string: name a directory");
  });
});

describe("the local server's run lifecycle", () => {
  it("queues a deployment run for the local pool's workers, crashes it when its runner goes silent, and hands it to the next runner", async () => {
    const run = await client.deployments.run("etl", {});
    const [first] = (await client.workPools.claim("local", { workerId: "w1", waitSeconds: 5 })).items;
    expect(first?.runId).toBe(run.id);

    const started = await client.flowRuns.proposeState(run.id, { state: { type: "RUNNING" }, runnerToken: first!.runnerToken, retries: 1 });
    expect(started.status).toBe("ACCEPT");
    expect((await client.flowRuns.heartbeat(run.id, { runnerToken: first!.runnerToken })).action).toBe("continue");

    // The runner stops beating: the monitor crashes the run and, with a retry left, queues it again.
    const crashed = await until(run.id, (current) => current.state.name === "AwaitingRetry");
    expect(crashed.runCount).toBe(1);
    const history = (await client.flowRuns.history(run.id)).map((entry) => entry.state.type);
    expect(history).toContain("CRASHED");

    const [second] = (await client.workPools.claim("local", { workerId: "w2", waitSeconds: 5 })).items;
    expect(second?.runId).toBe(run.id);
    expect(second?.runnerToken).not.toBe(first!.runnerToken);
    expect((await client.flowRuns.heartbeat(run.id, { runnerToken: first!.runnerToken })).action).toBe("stop");
    expect((await client.flowRuns.proposeState(run.id, { state: { type: "COMPLETED" }, runnerToken: first!.runnerToken })).status).toBe("REJECT");
  });

  it("queues a run again at once when a user retries it", async () => {
    const run = await client.deployments.run("etl", {});
    const [item] = (await client.workPools.claim("local", { workerId: "w4", waitSeconds: 5 })).items;
    await client.flowRuns.proposeState(run.id, { state: { type: "RUNNING" }, runnerToken: item!.runnerToken });
    await client.flowRuns.proposeState(run.id, { state: { type: "FAILED" }, runnerToken: item!.runnerToken });

    await client.flowRuns.retry(run.id);

    const [again] = (await client.workPools.claim("local", { workerId: "w4", waitSeconds: 5 })).items;
    expect(again?.runId).toBe(run.id);
  });

  it("crashes a run at once when its worker reports the runner died, with the reason, and hands it out again; a stale token's report is refused", async () => {
    const run = await client.deployments.run("etl", {});
    const [item] = (await client.workPools.claim("local", { workerId: "w5", waitSeconds: 5 })).items;
    const reason = "runner process 4242 exited with code 1 while loading flows/etl.ts:etl";
    const answer = await client.flowRuns.reportCrash(run.id, { runnerToken: item!.runnerToken, reason });
    expect(answer).toMatchObject({ status: "ACCEPT", state: { type: "SCHEDULED", name: "AwaitingRetry" } });
    const crash = (await client.flowRuns.history(run.id)).find((entry) => entry.state.type === "CRASHED");
    expect(crash?.state.message).toBe(`the run never started: ${reason}`);

    // Reported again (a resent request): nothing more happens.
    expect((await client.flowRuns.reportCrash(run.id, { runnerToken: item!.runnerToken, reason })).status).toBe("REJECT");
    const [again] = (await client.workPools.claim("local", { workerId: "w5", waitSeconds: 5 })).items;
    expect(again?.runId).toBe(run.id);
    expect((await client.flowRuns.reportCrash(run.id, { runnerToken: item!.runnerToken, reason })).rule).toBe("claimed-by-another-runner");
    expect((await client.flowRuns.get(run.id)).state.type).toBe("PENDING");
  });

  it("cancels a run whose runner ignores the cancel request once the grace period is over", async () => {
    const run = await client.deployments.run("etl", {});
    const [item] = (await client.workPools.claim("local", { workerId: "w3", waitSeconds: 5 })).items;
    await client.flowRuns.proposeState(run.id, { state: { type: "RUNNING" }, runnerToken: item!.runnerToken });
    await client.flowRuns.cancel(run.id);
    // Keep beating (the runner is alive but ignores the answer) so that only the grace period applies.
    const beating = setInterval(() => void client.flowRuns.heartbeat(run.id, { runnerToken: item!.runnerToken }).catch(() => {}), 100);
    try {
      const cancelled = await until(run.id, (current) => current.state.type === "CANCELLED");
      expect(cancelled.state.message).toContain("the runner did not stop within 0.5s of the cancel request");
    } finally {
      clearInterval(beating);
    }
  });
});
