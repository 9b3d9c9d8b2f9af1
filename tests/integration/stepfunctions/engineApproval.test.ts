import { afterAll, beforeAll, expect, test } from "vitest";
import { AloftClient, flow, setApprovalRuntime, task, waitForApproval, type Duration } from "aloft";
import { ControlPlaneLink } from "../../../sdk/api/controlPlaneLink.js";
import { clientCalls } from "../../../sdk/api/connect.js";
import { controlPlaneApprovals } from "../../../sdk/api/approvals.js";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";

let cp: TestControlPlane;
let client: AloftClient;
beforeAll(async () => {
  cp = await startTestControlPlane();
  client = new AloftClient({ apiUrl: "http://control-plane.test", token: cp.token, retries: 0, fetch: (input, init) => Promise.resolve(cp.app.request(String(input), init as RequestInit)) });
});
afterAll(async () => {
  await cp.dispose();
});

const prepare = task({ name: "engine-prepare", run: async (what: string) => `prepared ${what}` });
const release = flow({
  name: "engine-release",
  run: async ({ what, timeout }: { what: string; timeout?: Duration }) => {
    const prepared = await prepare(what);
    const approval = await waitForApproval<{ by: string }>(timeout === undefined ? {} : { timeout });
    return { prepared, by: approval.input.by };
  },
});

async function untilPaused(runId: string, running: Promise<unknown>): Promise<void> {
  let ended = false;
  void running.finally(() => (ended = true));
  while (!ended && (await cp.services.flowRuns.get(runId).catch(() => undefined))?.state.type !== "PAUSED") await new Promise((resolve) => setTimeout(resolve, 20));
}

test("in a run recorded by a control plane, waitForApproval suspends the run until it is resumed with input", async () => {
  const link = new ControlPlaneLink(clientCalls(client));
  const restore = setApprovalRuntime(controlPlaneApprovals(client, { pollMs: 20, flush: () => link.flush() }));
  try {
    const runId = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d";
    const running = release.run({ what: "v2" }, { runId, recorder: link.recorder, replaceRecorder: true });
    await untilPaused(runId, running);
    expect((await cp.services.flowRuns.get(runId)).state).toMatchObject({ type: "PAUSED", name: "Suspended", message: "waiting for approval" });

    const resumed = await cp.call("POST", `/v1/flow-runs/${runId}/resume`, { input: { by: "grace" } });
    expect(resumed.status).toBe(200);

    const run = await running;
    await link.flush();
    expect(run.state.type).toBe("COMPLETED");
    expect(run.result).toEqual({ prepared: "prepared v2", by: "grace" });
    expect((await cp.services.flowRuns.get(runId)).state.type).toBe("COMPLETED");
  } finally {
    restore();
  }
});

test("an approval past its timeout fails the run TimedOut", async () => {
  const link = new ControlPlaneLink(clientCalls(client));
  const restore = setApprovalRuntime(controlPlaneApprovals(client, { pollMs: 20, flush: () => link.flush() }));
  try {
    const run = await release.run({ what: "v3", timeout: "100ms" }, { recorder: link.recorder, replaceRecorder: true });
    await link.flush();
    expect(run.state).toMatchObject({ type: "FAILED", name: "TimedOut", message: `flow run ${run.id} was not approved within 100ms` });
    expect((await cp.services.flowRuns.get(run.id)).state).toMatchObject({ type: "FAILED", name: "TimedOut" });
  } finally {
    restore();
  }
});

test("without a control plane waitForApproval fails with APPROVAL_UNAVAILABLE", async () => {
  const restore = setApprovalRuntime(undefined);
  try {
    const run = await release.run({ what: "v4" }, { recorder: {}, replaceRecorder: true });
    expect(run.state.type).toBe("FAILED");
    expect(run.error).toMatchObject({ code: "APPROVAL_UNAVAILABLE" });
  } finally {
    restore();
  }
});
