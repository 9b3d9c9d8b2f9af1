/**
 * Extract → transform → load on a small CSV of orders.
 *
 * - `extract-orders` reads and parses the CSV. The source is made flaky on purpose
 *   (`failFirstAttempts`, 1 by default) so you can watch the task fail once and succeed on its retry.
 * - `normalize-order` is mapped over the rows: it validates each order and converts it to USD. It is
 *   cached on its inputs, so a second run finds every row in the cache (state "Cached").
 * - `load-orders` writes the clean orders as JSON into `outputDir`, and the flow publishes a table
 *   artifact of revenue by country.
 *
 * Run it: `npx aloft run examples/etl.ts` (run it twice to see the cache at work).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { dataDir, flow, getRunContext, log, task } from "aloft";
import { z } from "zod";

/** One CSV record, by column name. */
export type OrderRecord = Record<string, string>;

/** An order that passed validation, with its amounts in US dollars. */
export interface Order {
  orderId: string;
  customer: string;
  country: string;
  product: string;
  quantity: number;
  unitPriceUsd: number;
  totalUsd: number;
  orderedAt: string;
}

/** What `normalize-order` makes of one record: an order, or the reason it was rejected. */
export type NormalizedOrder = { ok: true; order: Order } | { ok: false; orderId: string; reason: string };

/** Fixed exchange rates to USD, so the example gives the same totals every time. */
export const USD_PER_UNIT: Readonly<Record<string, number>> = { USD: 1, EUR: 1.08, GBP: 1.27, CHF: 1.12, DKK: 0.145 };

/** The CSV shipped with the examples: 20 orders, two of them invalid. */
export const SAMPLE_ORDERS = fileURLToPath(new URL("./data/orders.csv", import.meta.url));

/**
 * Parses CSV text (RFC 4180: quoted fields may hold commas, doubled quotes and newlines) into records
 * keyed by the header row.
 *
 * @example
 * ```ts
 * parseCsv('id,name\n1,"Turing, Alan"\n'); // [{ id: "1", name: "Turing, Alan" }]
 * ```
 */
export function parseCsv(text: string): OrderRecord[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      row.push(field);
      field = "";
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += char;
  }
  if (field !== "" || row.length > 0) rows.push([...row, field]);

  const [header, ...records] = rows.filter((cells) => cells.some((cell) => cell.trim() !== ""));
  if (!header) return [];
  return records.map((cells, index) => {
    if (cells.length !== header.length) {
      throw new Error(`CSV line ${index + 2} has ${cells.length} fields, but the header has ${header.length}`);
    }
    return Object.fromEntries(header.map((name, column) => [name.trim(), cells[column]!.trim()]));
  });
}

/** Reads the orders CSV; fails its first `failFirstAttempts` attempts, like a flaky source would. */
export const extractOrders = task({
  name: "extract-orders",
  retries: 2,
  retryDelay: "100ms",
  run: async (source: string, failFirstAttempts: number): Promise<OrderRecord[]> => {
    const attempt = getRunContext()?.attempt ?? 1;
    if (attempt <= failFirstAttempts) {
      // Stands in for the timeouts and 503s a real source throws now and then.
      throw new Error(`order source unavailable (simulated outage on attempt ${attempt})`);
    }
    const records = parseCsv(await readFile(source, "utf8"));
    log.info(`read ${records.length} orders`, { source });
    return records;
  },
});

/** Validates one order and converts it to USD; cached on its inputs for a day. */
export const normalizeOrder = task({
  name: "normalize-order",
  cache: { key: "inputs", expiresIn: "1d" },
  runName: (record: OrderRecord) => `normalize-order-${record.order_id ?? "?"}`,
  run: async (record: OrderRecord): Promise<NormalizedOrder> => {
    const orderId = record.order_id ?? "";
    const reject = (reason: string): NormalizedOrder => {
      log.warn(`rejected order ${orderId}: ${reason}`);
      return { ok: false, orderId, reason };
    };
    if (!orderId) return reject("no order_id");
    const quantity = Number(record.quantity);
    if (!(Number.isInteger(quantity) && quantity > 0)) return reject(`quantity must be a whole number ≥ 1 (got "${record.quantity ?? ""}")`);
    const unitPrice = record.unit_price ? Number(record.unit_price) : NaN;
    if (!(Number.isFinite(unitPrice) && unitPrice >= 0)) return reject(`unit_price is not a price (got "${record.unit_price ?? ""}")`);
    const rate = USD_PER_UNIT[(record.currency ?? "").toUpperCase()];
    if (rate === undefined) return reject(`no exchange rate for currency "${record.currency ?? ""}"`);
    const orderedAt = new Date(`${record.ordered_at ?? ""}T00:00:00Z`);
    if (Number.isNaN(orderedAt.getTime())) return reject(`ordered_at is not a date (got "${record.ordered_at ?? ""}")`);

    const unitPriceUsd = roundCents(unitPrice * rate);
    return {
      ok: true,
      order: {
        orderId,
        customer: record.customer ?? "",
        country: (record.country ?? "").toUpperCase(),
        product: record.product ?? "",
        quantity,
        unitPriceUsd,
        totalUsd: roundCents(unitPriceUsd * quantity),
        orderedAt: orderedAt.toISOString().slice(0, 10),
      },
    };
  },
});

/** Writes the orders to `<outputDir>/orders.json`. */
export const loadOrders = task({
  name: "load-orders",
  run: async (orders: Order[], outputDir: string): Promise<{ file: string; rows: number }> => {
    await mkdir(outputDir, { recursive: true });
    const file = join(outputDir, "orders.json");
    await writeFile(file, `${JSON.stringify(orders, null, 2)}\n`);
    log.info(`wrote ${orders.length} orders`, { file });
    return { file, rows: orders.length };
  },
});

const etl = flow({
  name: "etl",
  description: "Loads the day's orders, normalized to USD, into a JSON file.",
  params: z.object({
    source: z.string().default(SAMPLE_ORDERS),
    outputDir: z.string().default(() => join(dataDir(), "output", "etl")),
    failFirstAttempts: z.coerce.number().int().min(0).default(1),
  }),
  run: async ({ source, outputDir, failFirstAttempts }, ctx) => {
    const records = await extractOrders(source, failFirstAttempts);
    const normalized = await normalizeOrder.map(records, { concurrency: 8 });
    const orders = normalized.flatMap((item) => (item.ok ? [item.order] : []));
    const rejected = normalized.flatMap((item) => (item.ok ? [] : [{ orderId: item.orderId, reason: item.reason }]));
    const { file } = await loadOrders(orders, outputDir);

    const byCountry = new Map<string, { country: string; orders: number; revenueUsd: number }>();
    for (const order of orders) {
      const entry = byCountry.get(order.country) ?? { country: order.country, orders: 0, revenueUsd: 0 };
      entry.orders += 1;
      entry.revenueUsd = roundCents(entry.revenueUsd + order.totalUsd);
      byCountry.set(order.country, entry);
    }
    const revenue = [...byCountry.values()].sort((a, b) => b.revenueUsd - a.revenueUsd);
    ctx.artifact.table("revenue-by-country", revenue, "Revenue in USD per country, from the loaded orders");
    ctx.log.info(`loaded ${orders.length} orders, rejected ${rejected.length}`, { file });

    return {
      file,
      loaded: orders.length,
      rejected,
      revenueUsd: roundCents(orders.reduce((sum, order) => sum + order.totalUsd, 0)),
    };
  },
});

export default etl;

function roundCents(amount: number): number {
  return Math.round(amount * 100) / 100;
}
