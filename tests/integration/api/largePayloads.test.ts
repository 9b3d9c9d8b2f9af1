import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalPayloadStore } from "../../../lambdas/adapters/localPayloadStore.js";
import { INLINE_LIMIT_BYTES } from "../../../lambdas/services/payloads.js";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane({ payloads: new LocalPayloadStore(await mkdtemp(join(tmpdir(), "aloft-payloads-"))) });
});
afterAll(async () => cp.dispose());

const big = { rows: Array.from({ length: 5_000 }, (_, i) => ({ id: i, name: `row number ${i}` })) };

describe("values over 64 KB", () => {
  it("keeps large parameters, results, journal values and artifact data out of the table, and returns them whole", async () => {
    expect(JSON.stringify(big).length).toBeGreaterThan(INLINE_LIMIT_BYTES);
    const created = await cp.call("POST", "/v1/flow-runs", { flowName: "big", parameters: big, initialState: "PENDING" });
    const { id } = (await created.json()) as { id: string };
    await cp.call("POST", `/v1/flow-runs/${id}/state`, { state: { type: "RUNNING" } });
    await cp.call("POST", `/v1/flow-runs/${id}/state`, { state: { type: "COMPLETED" }, result: big });
    await cp.call("PUT", `/v1/flow-runs/${id}/journal/k1`, { value: big });
    await cp.call("POST", "/v1/artifacts", { flowRunId: id, key: "rows", type: "table", data: big.rows });

    const stored = await cp.store.getFlowRun(id);
    expect(stored?.parameters).toEqual({ $ref: expect.stringContaining(`runs/${id}/`), bytes: JSON.stringify(big).length });
    expect(stored?.result).toEqual({ $ref: expect.stringContaining(`runs/${id}/`), bytes: JSON.stringify(big).length });
    expect((await cp.store.listJournal(id, { limit: 10 })).items[0]?.value).toMatchObject({ $ref: expect.any(String) });

    const read = (await (await cp.call("GET", `/v1/flow-runs/${id}`)).json()) as { parameters: unknown; result: unknown };
    expect(read.parameters).toEqual(big);
    expect(read.result).toEqual(big);
    const journal = (await (await cp.call("GET", `/v1/flow-runs/${id}/journal`)).json()) as { items: Array<{ value: unknown }> };
    expect(journal.items[0]?.value).toEqual(big);
    const artifacts = (await (await cp.call("GET", `/v1/flow-runs/${id}/artifacts`)).json()) as { items: Array<{ data: unknown }> };
    expect(artifacts.items[0]?.data).toEqual(big.rows);
  });

  it("keeps values under the limit inline", async () => {
    const created = await cp.call("POST", "/v1/flow-runs", { flowName: "small", parameters: { day: "mon" } });
    const { id } = (await created.json()) as { id: string };
    expect((await cp.store.getFlowRun(id))?.parameters).toEqual({ day: "mon" });
  });
});
