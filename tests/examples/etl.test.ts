import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemoryCacheStore, configure } from "aloft";
import { FakeClock, MemoryRecorder } from "aloft/testing";
import etl, { normalizeOrder, parseCsv, type Order, type OrderRecord } from "../../examples/etl.js";

let outputDir: string;
beforeEach(async () => {
  outputDir = await mkdtemp(join(tmpdir(), "aloft-etl-"));
});
afterEach(async () => {
  await rm(outputDir, { recursive: true, force: true });
});

/** Runs the ETL quietly on a fake clock (its retry delay takes no real time) with its own cache. */
async function runEtl(params: Parameters<typeof etl.run>[0], cache = new MemoryCacheStore()) {
  const recorder = new MemoryRecorder();
  const clock = new FakeClock();
  const run = await etl.run(params, { recorder, replaceRecorder: true, cache, clock });
  return { run, recorder, clock };
}

describe("examples/etl.ts", () => {
  it("loads the valid orders, converted to USD, into orders.json and reports the rejected ones", async () => {
    const { run } = await runEtl({ outputDir });

    expect(run.state.name).toBe("Completed");
    const orders = JSON.parse(await readFile(join(outputDir, "orders.json"), "utf8")) as Order[];
    expect(orders).toHaveLength(18);
    expect(orders.find((order) => order.orderId === "1003")).toEqual({
      orderId: "1003",
      customer: "Turing, Alan",
      country: "GB",
      product: "Desk lamp",
      quantity: 1,
      unitPriceUsd: 50.67,
      totalUsd: 50.67,
      orderedAt: "2026-10-02",
    });
    expect(orders.find((order) => order.orderId === "1014")).toMatchObject({ country: "DK", quantity: 6, unitPriceUsd: 5.51, totalUsd: 33.06 });
    expect(run.result).toEqual({
      file: join(outputDir, "orders.json"),
      loaded: 18,
      rejected: [
        { orderId: "1008", reason: 'quantity must be a whole number ≥ 1 (got "0")' },
        { orderId: "1016", reason: 'unit_price is not a price (got "")' },
      ],
      revenueUsd: 758.59,
    });
  });

  it("publishes revenue by country as a table artifact", async () => {
    const { recorder } = await runEtl({ outputDir });

    const table = recorder.artifacts.find((artifact) => artifact.key === "revenue-by-country");
    expect(table?.type).toBe("table");
    expect(table?.data).toEqual([
      { country: "US", orders: 8, revenueUsd: 289.4 },
      { country: "GB", orders: 3, revenueUsd: 179.59 },
      { country: "DK", orders: 2, revenueUsd: 119.78 },
      { country: "NL", orders: 2, revenueUsd: 81.02 },
      { country: "FI", orders: 1, revenueUsd: 52.92 },
      { country: "CH", orders: 1, revenueUsd: 24.64 },
      { country: "AT", orders: 1, revenueUsd: 11.24 },
    ]);
  });

  it("retries the flaky extract after 100 ms and succeeds on its second attempt", async () => {
    const { run, recorder, clock } = await runEtl({ outputDir });

    const extract = run.taskRuns.find((taskRun) => taskRun.taskName === "extract-orders")!;
    expect(extract.attempts).toBe(2);
    expect(recorder.stateNamesOf(extract.id)).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]);
    expect(clock.sleeps).toEqual([100]);
  });

  it("fails without writing anything when the source stays down past the extract's retries", async () => {
    const { run } = await runEtl({ outputDir, failFirstAttempts: 3 });

    expect(run.state.name).toBe("Failed");
    expect(run.error?.message).toContain("order source unavailable (simulated outage on attempt 3)");
    expect(run.taskRuns.map((taskRun) => [taskRun.taskName, taskRun.attempts, taskRun.state.name])).toEqual([["extract-orders", 3, "Failed"]]);
    await expect(stat(join(outputDir, "orders.json"))).rejects.toThrow(/ENOENT/);
  });

  it("takes every normalized order from the cache on a second run with the same input", async () => {
    const cache = new MemoryCacheStore();
    const { run: first } = await runEtl({ outputDir }, cache);
    const firstOutput = await readFile(join(outputDir, "orders.json"), "utf8");
    const { run: second } = await runEtl({ outputDir }, cache);

    const normalizeRuns = (run: typeof first) => run.taskRuns.filter((taskRun) => taskRun.taskName === "normalize-order");
    expect(normalizeRuns(first).map((taskRun) => taskRun.state.name)).toEqual(Array(20).fill("Completed"));
    expect(normalizeRuns(second).map((taskRun) => [taskRun.state.name, taskRun.attempts])).toEqual(Array(20).fill(["Cached", 0]));
    expect(second.state.name).toBe("Completed");
    expect(await readFile(join(outputDir, "orders.json"), "utf8")).toBe(firstOutput);
  });

  it("rejects parameters of the wrong type before any task runs", async () => {
    const { run } = await runEtl({ outputDir, failFirstAttempts: -1 });

    expect(run.state.name).toBe("InvalidParameters");
    expect(run.error?.message).toMatch(/^invalid parameters for flow "etl": failFirstAttempts: /);
    expect(run.taskRuns).toEqual([]);
  });
});

describe("normalize-order", () => {
  const valid: OrderRecord = {
    order_id: "7",
    customer: "Ada",
    country: "gb",
    product: "Notebook",
    quantity: "2",
    unit_price: "10.00",
    currency: "EUR",
    ordered_at: "2026-10-01",
  };

  it("converts a valid order to USD and rejects unknown currencies and dates, saying why", async () => {
    // Standalone task calls use the process defaults: keep them in memory and quiet.
    const restore = configure({ cache: new MemoryCacheStore(), recorder: new MemoryRecorder() });
    try {
      expect(await normalizeOrder(valid)).toEqual({
        ok: true,
        order: { orderId: "7", customer: "Ada", country: "GB", product: "Notebook", quantity: 2, unitPriceUsd: 10.8, totalUsd: 21.6, orderedAt: "2026-10-01" },
      });
      expect(await normalizeOrder({ ...valid, currency: "XYZ" })).toEqual({ ok: false, orderId: "7", reason: 'no exchange rate for currency "XYZ"' });
      expect(await normalizeOrder({ ...valid, ordered_at: "yesterday" })).toEqual({ ok: false, orderId: "7", reason: 'ordered_at is not a date (got "yesterday")' });
    } finally {
      restore();
    }
  });
});

describe("parseCsv", () => {
  it("keeps commas and doubled quotes inside quoted fields and skips blank lines", () => {
    expect(parseCsv('id,name,note\r\n1,"Turing, Alan","said ""hi"""\r\n\r\n2,Ada,\n')).toEqual([
      { id: "1", name: "Turing, Alan", note: 'said "hi"' },
      { id: "2", name: "Ada", note: "" },
    ]);
  });

  it("names the line whose field count does not match the header", () => {
    expect(() => parseCsv("a,b\n1,2\n3\n")).toThrow("CSV line 3 has 1 fields, but the header has 2");
  });
});
