import { createHmac, randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../../../sdk/model/serializable.js";
import { bodyOf, startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";
import { hostileJson, hostileJsonObject } from "../../support/hostileJson.js";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => cp.dispose());

const read = bodyOf;

/** `JSON.stringify` of what was read back: equal to the sent text exactly when nothing was lost, added or reordered. */
const same = (read: unknown, text: string) => expect(JSON.stringify(read)).toBe(text);

describe("any JSON a user sends", () => {
  it("round-trips through parameters, results, journal entries, artifacts, log fields and deployment defaults", async () => {
    await fc.assert(
      fc.asyncProperty(hostileJsonObject(), hostileJson(), async (object, value) => {
        // Bodies are sent as text, so that keys like "__proto__" reach the server as the user wrote them.
        const created = await read<{ id: string; parameters: unknown }>(
          await cp.call("POST", "/v1/flow-runs", `{"flowName":"values","initialState":"PENDING","parameters":${object.text}}`),
          201,
        );
        same(created.parameters, object.text);
        const id = created.id;
        await read(await cp.call("POST", `/v1/flow-runs/${id}/state`, { state: { type: "RUNNING" } }), 200);
        await read(await cp.call("POST", `/v1/flow-runs/${id}/state`, `{"state":{"type":"COMPLETED"},"result":${value.text}}`), 200);
        const run = await read<{ parameters: unknown; result: unknown }>(await cp.call("GET", `/v1/flow-runs/${id}`), 200);
        same(run.parameters, object.text);
        same(run.result, value.text);

        await read(await cp.call("PUT", `/v1/flow-runs/${id}/journal/call%3A0`, `{"value":${value.text}}`), 201);
        const journal = await read<{ items: Array<{ value: unknown }> }>(await cp.call("GET", `/v1/flow-runs/${id}/journal`), 200);
        same(journal.items[0]?.value, value.text);

        await read(await cp.call("POST", "/v1/artifacts", `{"flowRunId":"${id}","key":"values","type":"table","data":${value.text}}`), 201);
        const artifacts = await read<{ items: Array<{ data: unknown }> }>(await cp.call("GET", `/v1/flow-runs/${id}/artifacts`), 200);
        same(artifacts.items[0]?.data, value.text);

        const timestamp = new Date().toISOString();
        await read(await cp.call("POST", "/v1/logs", `{"logs":[{"flowRunId":"${id}","timestamp":"${timestamp}","level":"info","message":"m","fields":${object.text}}]}`), 202);
        const logs = await read<{ items: Array<{ fields: unknown }> }>(await cp.call("GET", `/v1/flow-runs/${id}/logs`), 200);
        same(logs.items[0]?.fields, object.text);

        const name = `values-${randomUUID().slice(0, 8)}`;
        await read(await cp.call("POST", "/v1/deployments", `{"name":"${name}","flowName":"values","entrypoint":"flows/values.ts","parameters":${object.text},"parameterSchema":${object.text}}`), 201);
        const deployment = await read<{ parameters: unknown; parameterSchema: unknown }>(await cp.call("GET", `/v1/deployments/${name}`), 200);
        same(deployment.parameters, object.text);
        same(deployment.parameterSchema, object.text);
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  it("round-trips through a webhook's payload", async () => {
    const name = `hook-${randomUUID().slice(0, 8)}`;
    await read(await cp.call("POST", "/v1/deployments", { name, flowName: "values", entrypoint: "flows/values.ts" }), 201);
    await fc.assert(
      fc.asyncProperty(hostileJson(), async (payload) => {
        const signature = `sha256=${createHmac("sha256", cp.webhookSecret).update(payload.text).digest("hex")}`;
        const request = cp.app.request(`/v1/webhooks/${name}`, { method: "POST", headers: { "content-type": "application/json", "x-aloft-signature-256": signature }, body: payload.text });
        const response = await Promise.resolve(request);
        if (payload.text.startsWith("[".repeat(MAX_JSON_DEPTH)) || payload.text.startsWith('{"__proto__":'.repeat(MAX_JSON_DEPTH - 1))) {
          // A payload of the full depth becomes parameters one level deeper: refused, naming the body.
          const problem = await read<{ errors: Array<{ field: string }> }>(response, 400);
          expect(problem.errors.map((error) => error.field)).toEqual(["body"]);
          return;
        }
        const { runId } = await read<{ runId: string }>(response, 202);
        const run = await read<{ parameters: { payload: unknown } }>(await cp.call("GET", `/v1/flow-runs/${runId}`), 200);
        same(run.parameters.payload, payload.text);
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it("keeps a top-level __proto__ key of parameters as a parameter", async () => {
    const created = await read<{ id: string }>(await cp.call("POST", "/v1/flow-runs", '{"flowName":"values","parameters":{"__proto__":{"admin":true},"day":"mon"}}'), 201);
    const run = await read<{ parameters: Record<string, unknown> }>(await cp.call("GET", `/v1/flow-runs/${created.id}`), 200);
    expect(Object.keys(run.parameters)).toEqual(["__proto__", "day"]);
    expect(JSON.stringify(run.parameters)).toBe('{"__proto__":{"admin":true},"day":"mon"}');
    // Nothing was set on the prototype of anything.
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it("is refused with a 400 naming the field when nested deeper than the limit, in every route that takes a value", async () => {
    const tooDeep = `${"[".repeat(MAX_JSON_DEPTH + 1)}${"]".repeat(MAX_JSON_DEPTH + 1)}`;
    const run = await read<{ id: string }>(await cp.call("POST", "/v1/flow-runs", { flowName: "values", initialState: "PENDING" }), 201);
    const fields = async (method: string, path: string, body: string) => (await read<{ errors: Array<{ field: string }> }>(await cp.call(method, path, body), 400)).errors.map((error) => error.field);
    expect(await fields("POST", "/v1/flow-runs", `{"flowName":"values","parameters":{"a":${tooDeep}}}`)).toEqual(["body.parameters"]);
    expect(await fields("POST", `/v1/flow-runs/${run.id}/state`, `{"state":{"type":"COMPLETED"},"result":${tooDeep}}`)).toEqual(["body.result"]);
    expect(await fields("PUT", `/v1/flow-runs/${run.id}/journal/k`, `{"value":${tooDeep}}`)).toEqual(["body.value"]);
    expect(await fields("POST", "/v1/artifacts", `{"flowRunId":"${run.id}","key":"k","type":"table","data":${tooDeep}}`)).toEqual(["body.data"]);
    expect(await fields("POST", "/v1/logs", `{"logs":[{"flowRunId":"${run.id}","timestamp":"${new Date().toISOString()}","level":"info","message":"m","fields":{"a":${tooDeep}}}]}`)).toEqual([
      "body.logs[0].fields",
    ]);
    expect(await fields("POST", "/v1/deployments", `{"name":"deep","flowName":"values","entrypoint":"flows/values.ts","parameters":{"a":${tooDeep}}}`)).toEqual(["body.parameters"]);
  });
});
