import { afterAll, beforeAll, expect, test } from "vitest";
import { flow, MemoryCacheStore, task, waitForApproval } from "aloft";
import { runStateMachineLocally, runStepFunctionsInvocation } from "aloft/stepfunctions";
import { ExecutionMirror } from "../../../lambdas/services/mirroring.js";
import { stepFunctionsControlPlane } from "../../../lambdas/services/stepFunctionTasks.js";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp.dispose();
});

const build = task({ name: "sfn-build", run: async (version: string) => `image:${version}` });
const ship = task({ name: "sfn-ship", run: async (image: string, approval: unknown) => ({ shipped: image, approval }) });
const release = flow({
  name: "sfn-release",
  run: async ({ version }: { version: string }) => {
    const image = await build(version);
    const approval = await waitForApproval({ timeout: "1h" });
    return ship(image, approval);
  },
});

async function untilState(runId: string, type: string): Promise<Record<string, unknown>> {
  for (;;) {
    const response = await cp.call("GET", `/v1/flow-runs/${runId}`);
    if (response.status === 200) {
      const run = (await response.json()) as { state: { type: string } };
      if (run.state.type === type) return run;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("an approval suspends the run until it is resumed through the API, and the flow gets the resume's input", async () => {
  const runId = "3b2f6a52-6f55-4c3e-9d61-0d4f2d3c9a10";
  const execution = runStateMachineLocally(release, { version: "1.2.3" }, { runId, controlPlane: stepFunctionsControlPlane(cp.services), cache: new MemoryCacheStore(), recorder: {} });

  const paused = await untilState(runId, "PAUSED");
  expect(paused.state).toMatchObject({ type: "PAUSED", name: "Suspended", message: "waiting for approval at Approval 1 (times out after 3600s)" });
  const resumed = await cp.call("POST", `/v1/flow-runs/${runId}/resume`, { input: { approvedBy: "ada" } });
  expect(resumed.status).toBe(200);
  expect(await resumed.json()).toMatchObject({ status: "ACCEPT", state: { type: "RUNNING" } });

  const result = await execution;
  expect(result).toMatchObject({ status: "Completed", output: { shipped: "image:1.2.3", approval: { approved: true, input: { approvedBy: "ada" } } } });
  const stored = await cp.services.flowRuns.get(runId);
  expect(stored.state.type).toBe("COMPLETED");
  expect(stored.approvalToken).toBeUndefined();
  const history = (await cp.services.flowRuns.history(runId)).map((entry) => `${entry.state.type}/${entry.state.name}`);
  expect(history).toEqual(["PENDING/Pending", "RUNNING/Running", "PAUSED/Suspended", "RUNNING/Running", "COMPLETED/Completed"]);
});

test("resuming a run that is not waiting is refused with 409, and a second resume of an approved run too", async () => {
  const runId = "9c1d2e3f-4a5b-4c6d-8e7f-001122334455";
  const execution = runStateMachineLocally(release, { version: "2.0.0" }, { runId, controlPlane: stepFunctionsControlPlane(cp.services), cache: new MemoryCacheStore(), recorder: {} });
  await untilState(runId, "PAUSED");
  expect((await cp.call("POST", `/v1/flow-runs/${runId}/resume`, {})).status).toBe(200);
  await execution;

  const again = await cp.call("POST", `/v1/flow-runs/${runId}/resume`, {});
  expect(again.status).toBe(409);
  expect(((await again.json()) as { detail: string }).detail).toBe(`flow run ${runId} is COMPLETED, not PAUSED; only a paused run can be resumed`);
});

test("without a control plane an approval fails the execution, naming why", async () => {
  const result = await runStateMachineLocally(release, { version: "3.0.0" }, { cache: new MemoryCacheStore(), recorder: {} });
  expect(result.status).toBe("Failed");
  expect(result.error?.error).toBe("Aloft.Abort");
  expect(JSON.parse(result.error!.cause).errorMessage).toBe(`flow run ${result.runId} waits for approval, but no control plane is configured to keep its task token until a resume`);
});

test("an approval reached before the mirror saw the execution start records RUNNING itself, so the late event changes nothing", async () => {
  const { run } = await cp.services.flowRuns.create({ flowName: "sfn-release", initialState: "PENDING" });
  const executionArn = `arn:aws:states:us-east-1:123456789012:execution:release:${run.id}`;
  const payload = { kind: "aloft.approval", flowName: "sfn-release", flowRunId: run.id, executionArn, taskToken: "AQB-token", stateName: "Approval 1" };

  expect(await runStepFunctionsInvocation(payload, { controlPlane: stepFunctionsControlPlane(cp.services), recorder: {} })).toBeNull();
  const late = await new ExecutionMirror({ store: cp.store, flowRuns: cp.services.flowRuns }).apply({ executionArn, name: run.id, status: "RUNNING" });

  expect(late.action).toBe("duplicate");
  const stored = await cp.services.flowRuns.get(run.id);
  expect(stored.state).toMatchObject({ type: "PAUSED", name: "Suspended", message: "waiting for approval at Approval 1" });
  expect(stored.approvalToken).toBe("AQB-token");
  expect((await cp.services.flowRuns.history(run.id)).map((entry) => entry.state.type)).toEqual(["PENDING", "RUNNING", "PAUSED"]);
});
