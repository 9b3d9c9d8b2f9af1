import { createHmac, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeploymentDto, FlowRunDto, Problem } from "../../../sdk/api/schemas.js";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => cp.dispose());

async function read<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

function sign(body: string, secret = cp.webhookSecret): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** A webhook request as a sender makes it: no bearer token, only the given headers. */
function deliver(name: string, body: string, headers: Record<string, string>): Promise<Response> {
  return Promise.resolve(cp.app.request(`/v1/webhooks/${encodeURIComponent(name)}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body }));
}

async function createDeployment(): Promise<DeploymentDto> {
  const name = `hook-${randomUUID().slice(0, 8)}`;
  return read<DeploymentDto>(await cp.call("POST", "/v1/deployments", { name, flowName: "etl", entrypoint: "flows/etl.ts:etl", parameters: { day: "today", payload: "default" } }), 201);
}

async function runsOf(deployment: DeploymentDto): Promise<FlowRunDto[]> {
  const page = await read<{ items: FlowRunDto[] }>(await cp.call("GET", `/v1/flow-runs?deployment=${deployment.id}`), 200);
  return page.items;
}

describe("webhooks API", () => {
  it("creates a run of the deployment from a GitHub-signed request, its JSON body as parameters.payload over the defaults, with no bearer token", async () => {
    const deployment = await createDeployment();
    const body = JSON.stringify({ action: "opened", number: 7 });
    const accepted = await read<{ runId: string; state: string }>(await deliver(deployment.name, body, { "x-hub-signature-256": sign(body), "x-github-event": "pull_request" }), 202);
    expect(accepted.state).toBe("SCHEDULED");
    const run = await read<FlowRunDto>(await cp.call("GET", `/v1/flow-runs/${accepted.runId}`), 200);
    expect(run).toMatchObject({ flowName: "etl", deploymentId: deployment.id, parameters: { day: "today", payload: { action: "opened", number: 7 } } });
  });

  it("accepts the X-Aloft-Signature-256 header and a deployment id in the path", async () => {
    const deployment = await createDeployment();
    const body = JSON.stringify([1, 2, 3]);
    const accepted = await read<{ runId: string }>(await deliver(deployment.id, body, { "x-aloft-signature-256": sign(body) }), 202);
    expect((await runsOf(deployment)).map((run) => [run.id, run.parameters])).toEqual([[accepted.runId, { day: "today", payload: [1, 2, 3] }]]);
  });

  it("refuses a wrong, missing or other-body signature with 401 problem+json that reveals nothing, and creates no run", async () => {
    const deployment = await createDeployment();
    const body = JSON.stringify({ ref: "main" });
    const attempts: Array<Record<string, string>> = [
      {},
      { "x-hub-signature-256": sign(body, "not-the-secret") },
      { "x-aloft-signature-256": sign(JSON.stringify({ ref: "other" })) },
      { "x-hub-signature-256": "sha256=" },
      { "x-hub-signature-256": sign(body).slice(0, -1) },
      { "x-hub-signature-256": `sha1=${createHmac("sha1", cp.webhookSecret).update(body).digest("hex")}` },
      { authorization: `Bearer ${cp.token}` },
    ];
    for (const headers of attempts) {
      const response = await deliver(deployment.name, body, headers);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      const refused = await read<Problem>(response, 401);
      expect(JSON.stringify(refused)).not.toContain(sign(body).slice(7));
      expect(JSON.stringify(refused)).not.toContain(cp.webhookSecret);
    }
    expect(await runsOf(deployment)).toEqual([]);
  });

  it("creates one run per delivery id: a redelivery answers 200 with the same run", async () => {
    const deployment = await createDeployment();
    const body = JSON.stringify({ push: 1 });
    const headers = { "x-hub-signature-256": sign(body), "x-github-delivery": randomUUID() };
    const first = await read<{ runId: string }>(await deliver(deployment.name, body, headers), 202);
    const again = await read<{ runId: string }>(await deliver(deployment.name, body, headers), 200);
    expect(again.runId).toBe(first.runId);
    const other = await read<{ runId: string }>(await deliver(deployment.name, body, { ...headers, "x-github-delivery": randomUUID() }), 202);
    expect(other.runId).not.toBe(first.runId);
    expect(await runsOf(deployment)).toHaveLength(2);
  });

  it("answers 404 for an unknown deployment with a valid signature", async () => {
    const body = JSON.stringify({});
    const refused = await read<Problem>(await deliver(`missing-${randomUUID()}`, body, { "x-hub-signature-256": sign(body) }), 404);
    expect(refused.status).toBe(404);
  });

  it("answers 400 naming body for a validly signed body that is not JSON, and creates no run", async () => {
    const deployment = await createDeployment();
    const body = "payload=not-json";
    const refused = await read<Problem>(await deliver(deployment.name, body, { "x-hub-signature-256": sign(body) }), 400);
    expect(refused.errors).toEqual([{ field: "body", message: "not valid JSON" }]);
    expect(await runsOf(deployment)).toEqual([]);
  });

  it("refuses a body over 1 MB with 413 before anything else", async () => {
    const deployment = await createDeployment();
    const body = JSON.stringify({ blob: "x".repeat(1024 * 1024) });
    await read<Problem>(await deliver(deployment.name, body, { "x-hub-signature-256": sign(body) }), 413);
    expect(await runsOf(deployment)).toEqual([]);
  });
});
