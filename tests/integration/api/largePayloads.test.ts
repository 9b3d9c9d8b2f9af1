import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalPayloadStore } from "../../../lambdas/adapters/localPayloadStore.js";
import { INLINE_LIMIT_BYTES, keySegment, PayloadRef } from "../../../lambdas/services/payloads.js";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";

let cp: TestControlPlane;
let payloadDir: string;
beforeAll(async () => {
  payloadDir = await mkdtemp(join(tmpdir(), "aloft-payloads-"));
  cp = await startTestControlPlane({ payloads: new LocalPayloadStore(payloadDir) });
});
afterAll(async () => cp.dispose());

const rows = (label: string) => ({ rows: Array.from({ length: 5_000 }, (_, i) => ({ id: i, name: `${label} row number ${i}` })) });
const big = rows("first");

/** Every payload file stored for a run, relative to its folder. */
async function payloadFilesOf(runId: string): Promise<string[]> {
  const folder = join(payloadDir, "runs", keySegment(runId));
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(folder.length + 1)).sort();
}

async function completedRun(parameters: unknown, result: unknown, id?: string): Promise<string> {
  const created = await cp.call("POST", "/v1/flow-runs", { flowName: "big", parameters, initialState: "PENDING", ...(id ? { id } : {}) });
  expect(created.status).toBe(201);
  const run = (await created.json()) as { id: string };
  await cp.call("POST", `/v1/flow-runs/${run.id}/state`, { state: { type: "RUNNING" } });
  expect((await (await cp.call("POST", `/v1/flow-runs/${run.id}/state`, { state: { type: "COMPLETED" }, result })).json()) as { status: string }).toMatchObject({ status: "ACCEPT" });
  return run.id;
}

describe("values over 64 KB", () => {
  it("keeps large parameters, results, journal values and artifact data out of the table, and returns them whole", async () => {
    expect(JSON.stringify(big).length).toBeGreaterThan(INLINE_LIMIT_BYTES);
    const id = await completedRun(big, big);
    await cp.call("PUT", `/v1/flow-runs/${id}/journal/k1`, { value: big });
    await cp.call("POST", "/v1/artifacts", { flowRunId: id, key: "rows", type: "table", data: big.rows });

    const stored = await cp.store.getFlowRun(id);
    expect(stored?.parameters).toBeInstanceOf(PayloadRef);
    expect(stored?.parameters).toMatchObject({ key: expect.stringMatching(new RegExp(`^runs/${keySegment(id)}/parameters/`)), bytes: JSON.stringify(big).length });
    expect(stored?.result).toMatchObject({ key: expect.stringMatching(new RegExp(`^runs/${keySegment(id)}/result/`)), bytes: JSON.stringify(big).length });
    expect((await cp.store.listJournal(id, { limit: 10 })).items[0]?.value).toBeInstanceOf(PayloadRef);

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

describe("a refused write of a large value", () => {
  it("leaves the run's result as the accepted write left it, and no payload behind", async () => {
    const id = await completedRun({}, big);
    const before = await payloadFilesOf(id);
    expect(before).toHaveLength(1);
    // A stale runner's COMPLETED, with another result: refused, and nothing changes.
    const stale = (await (await cp.call("POST", `/v1/flow-runs/${id}/state`, { state: { type: "COMPLETED" }, result: rows("stale") })).json()) as { status: string };
    expect(stale.status).toBe("REJECT");
    expect(((await (await cp.call("GET", `/v1/flow-runs/${id}`)).json()) as { result: unknown }).result).toEqual(big);
    expect(await payloadFilesOf(id)).toEqual(before);
  });

  it("refused for a stale runner token leaves the result unset and no payload behind", async () => {
    const created = (await (await cp.call("POST", "/v1/flow-runs", { flowName: "big" })).json()) as { id: string };
    const claim = await cp.services.flowRuns.proposeState(created.id, { state: { type: "PENDING" }, controlPlane: true, claimToken: "runner-2" });
    expect(claim.decision.status).toBe("ACCEPT");
    const stale = await cp.call("POST", `/v1/flow-runs/${created.id}/state`, { state: { type: "COMPLETED" }, result: rows("stale"), runnerToken: "runner-1" });
    expect(((await stale.json()) as { status: string }).status).toBe("REJECT");
    expect((await cp.store.getFlowRun(created.id))?.result).toBeUndefined();
    expect(await payloadFilesOf(created.id)).toEqual([]);
  });

  it("of a journal entry keeps the first value of the key, and no payload of the second", async () => {
    const id = await completedRun({}, null);
    expect((await cp.call("PUT", `/v1/flow-runs/${id}/journal/step-1`, { value: rows("first") })).status).toBeLessThan(300);
    const files = await payloadFilesOf(id);
    await cp.call("PUT", `/v1/flow-runs/${id}/journal/step-1`, { value: rows("second") });
    const journal = (await (await cp.call("GET", `/v1/flow-runs/${id}/journal`)).json()) as { items: Array<{ key: string; value: unknown }> };
    expect(journal.items).toEqual([expect.objectContaining({ key: "step-1", value: rows("first") })]);
    expect(await payloadFilesOf(id)).toEqual(files);
  });

  it("of a create that finds its run (same id) keeps the stored parameters, and no payload of the resend", async () => {
    const id = "resent-create";
    const first = await cp.call("POST", "/v1/flow-runs", { id, flowName: "big", parameters: rows("first") });
    expect(first.status).toBe(201);
    const files = await payloadFilesOf(id);
    const resent = await cp.call("POST", "/v1/flow-runs", { id, flowName: "big", parameters: rows("resent") });
    expect(resent.status).toBe(200);
    expect(((await resent.json()) as { parameters: unknown }).parameters).toEqual(rows("first"));
    expect(await payloadFilesOf(id)).toEqual(files);
  });
});

describe("payload keys", () => {
  it("never let two runs share a value: nightly:42 and nightly_42 each read back their own parameters and result", async () => {
    const colon = await completedRun(rows("colon"), rows("colon result"), "nightly:42");
    const underscore = await completedRun(rows("underscore"), rows("underscore result"), "nightly_42");
    const read = async (id: string) => (await (await cp.call("GET", `/v1/flow-runs/${encodeURIComponent(id)}`)).json()) as { parameters: unknown; result: unknown };
    expect(await read(colon)).toMatchObject({ parameters: rows("colon"), result: rows("colon result") });
    expect(await read(underscore)).toMatchObject({ parameters: rows("underscore"), result: rows("underscore result") });
  });

  it("keep journal values of long call keys apart, however long the task name", async () => {
    const id = await completedRun({}, null);
    // Two calls of one task whose name is long: the keys differ only at their end (the call counter).
    const task = "t".repeat(200);
    for (const call of [0, 1]) {
      const response = await cp.call("PUT", `/v1/flow-runs/${id}/journal/${encodeURIComponent(`${task}:${call}`)}`, { value: rows(`call ${call}`) });
      expect(response.status).toBeLessThan(300);
    }
    const journal = (await (await cp.call("GET", `/v1/flow-runs/${id}/journal`)).json()) as { items: Array<{ key: string; value: unknown }> };
    expect(Object.fromEntries(journal.items.map((entry) => [entry.key, entry.value]))).toEqual({ [`${task}:0`]: rows("call 0"), [`${task}:1`]: rows("call 1") });
  });

  it("are never read from a user's value that looks like a reference", async () => {
    const victim = await completedRun(rows("secret"), null);
    const [file] = await payloadFilesOf(victim);
    const forged = { $ref: `runs/${keySegment(victim)}/${file}`, bytes: 10 };
    const created = await cp.call("POST", "/v1/flow-runs", { flowName: "forger", parameters: forged });
    const { id } = (await created.json()) as { id: string };
    expect(((await (await cp.call("GET", `/v1/flow-runs/${id}`)).json()) as { parameters: unknown }).parameters).toEqual(forged);
  });
});
