import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";

let cp: TestControlPlane;
let clock = Date.parse("2026-11-22T10:00:00.000Z");
beforeAll(async () => {
  cp = await startTestControlPlane({ now: () => clock });
});
afterAll(async () => cp.dispose());

async function claimedRun(token: string): Promise<string> {
  const { run } = await cp.services.flowRuns.create({ flowName: "etl" });
  const claim = await cp.services.flowRuns.proposeState(run.id, { state: { type: "PENDING" }, controlPlane: true, claimToken: token });
  expect(claim.decision.status).toBe("ACCEPT");
  return run.id;
}

async function beat(id: string, body: Record<string, unknown>) {
  const response = await cp.call("POST", `/v1/flow-runs/${id}/heartbeat`, body);
  return { status: response.status, body: (await response.json()) as { action?: string; state?: { type: string }; detail?: string } };
}

describe("POST /v1/flow-runs/{id}/heartbeat", () => {
  it("answers continue to the runner holding the run and records when it beat and where it runs", async () => {
    const id = await claimedRun("tok-1");
    await cp.services.flowRuns.proposeState(id, { state: { type: "RUNNING" }, runnerToken: "tok-1", retries: 2 });
    clock += 5_000;
    const answer = await beat(id, { runnerToken: "tok-1", runner: { kind: "process", pid: 4242, host: "laptop" } });
    expect(answer).toEqual({ status: 200, body: { state: expect.objectContaining({ type: "RUNNING" }), action: "continue" } });
    const stored = await cp.store.getFlowRun(id);
    expect(stored).toMatchObject({ heartbeatAt: new Date(clock).toISOString(), runner: { kind: "process", pid: 4242, host: "laptop" }, retries: 2 });
  });

  it("answers cancel when the run is CANCELLING", async () => {
    const id = await claimedRun("tok-2");
    await cp.services.flowRuns.proposeState(id, { state: { type: "RUNNING" }, runnerToken: "tok-2" });
    await cp.call("POST", `/v1/flow-runs/${id}/cancel`, {});
    expect((await beat(id, { runnerToken: "tok-2" })).body).toMatchObject({ action: "cancel", state: { type: "CANCELLING" } });
  });

  it("answers stop, and records nothing, to a runner whose token no longer holds the run", async () => {
    const id = await claimedRun("tok-3");
    await cp.services.flowRuns.proposeState(id, { state: { type: "RUNNING" }, runnerToken: "tok-3" });
    const before = await cp.store.getFlowRun(id);
    expect((await beat(id, { runnerToken: "someone-else" })).body).toMatchObject({ action: "stop", state: { type: "RUNNING" } });
    expect((await cp.store.getFlowRun(id))?.heartbeatAt).toBe(before?.heartbeatAt);
    await cp.services.flowRuns.proposeState(id, { state: { type: "COMPLETED" }, runnerToken: "tok-3" });
    expect((await beat(id, { runnerToken: "tok-3" })).body).toMatchObject({ action: "stop", state: { type: "COMPLETED" } });
  });

  it("answers 404 for a run that does not exist and 400 without a token", async () => {
    expect((await beat("no-such-run", { runnerToken: "tok" })).status).toBe(404);
    const id = await claimedRun("tok-4");
    expect((await beat(id, {})).status).toBe(400);
  });

  it("never shows the runner token in a flow run", async () => {
    const id = await claimedRun("secret-token");
    const response = await cp.call("GET", `/v1/flow-runs/${id}`);
    expect(JSON.stringify(await response.json())).not.toContain("secret-token");
  });

  it("refuses a proposal without the token over HTTP once a runner holds the run, and accepts the holder's", async () => {
    const id = await claimedRun("tok-5");
    const refused = (await (await cp.call("POST", `/v1/flow-runs/${id}/state`, { state: { type: "RUNNING" } })).json()) as { status: string };
    expect(refused.status).toBe("REJECT");
    const accepted = (await (await cp.call("POST", `/v1/flow-runs/${id}/state`, { state: { type: "RUNNING" }, runnerToken: "tok-5", retries: 1 })).json()) as { status: string };
    expect(accepted.status).toBe("ACCEPT");
  });
});
