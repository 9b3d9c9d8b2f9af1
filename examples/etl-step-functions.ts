/**
 * The ETL example shaped for AWS Step Functions. It reuses the tasks of `etl.ts`; what `etl.ts`
 * computes in its flow body (splitting valid from rejected orders, revenue totals) is the
 * `summarize-orders` task here, because a state machine can only pass task results along, not run
 * JavaScript between states. The rejected orders are reported through `when`, a Choice state.
 *
 * Compile it: `npx aloft compile examples/etl-step-functions.ts --graph`
 * Run it locally: `npx aloft run examples/etl-step-functions.ts`
 */
import { join } from "node:path";
import { dataDir, flow, gt, log, task, when } from "aloft";
import { z } from "zod";
import { extractOrders, loadOrders, normalizeOrder, SAMPLE_ORDERS, type NormalizedOrder, type Order } from "./etl.js";

/** Revenue of one country. */
export interface CountryRevenue {
  country: string;
  orders: number;
  revenueUsd: number;
}

/** What `summarize-orders` makes of the normalized orders. */
export interface OrderSummary {
  orders: Order[];
  rejected: { orderId: string; reason: string }[];
  loaded: number;
  rejectedCount: number;
  revenueUsd: number;
  revenueByCountry: CountryRevenue[];
}

/** Splits valid from rejected orders and totals the revenue, overall and by country. */
export const summarizeOrders = task({
  name: "summarize-orders",
  run: async (normalized: NormalizedOrder[]): Promise<OrderSummary> => {
    const orders = normalized.flatMap((item) => (item.ok ? [item.order] : []));
    const rejected = normalized.flatMap((item) => (item.ok ? [] : [{ orderId: item.orderId, reason: item.reason }]));
    const byCountry = new Map<string, CountryRevenue>();
    for (const order of orders) {
      const entry = byCountry.get(order.country) ?? { country: order.country, orders: 0, revenueUsd: 0 };
      entry.orders += 1;
      entry.revenueUsd = roundCents(entry.revenueUsd + order.totalUsd);
      byCountry.set(order.country, entry);
    }
    return {
      orders,
      rejected,
      loaded: orders.length,
      rejectedCount: rejected.length,
      revenueUsd: roundCents(orders.reduce((sum, order) => sum + order.totalUsd, 0)),
      revenueByCountry: [...byCountry.values()].sort((a, b) => b.revenueUsd - a.revenueUsd),
    };
  },
});

/** Logs the rejected orders and says how many there were. */
export const reportRejections = task({
  name: "report-rejections",
  run: async (rejected: { orderId: string; reason: string }[]): Promise<string> => {
    for (const { orderId, reason } of rejected) log.warn(`rejected order ${orderId}: ${reason}`);
    return `${rejected.length} order(s) rejected`;
  },
});

export default flow({
  name: "etl-step-functions",
  description: "Loads the day's orders, normalized to USD, into a JSON file; compiles to a Step Functions state machine.",
  params: z.object({
    source: z.string().default(SAMPLE_ORDERS),
    outputDir: z.string().default(() => join(dataDir(), "output", "etl")),
    failFirstAttempts: z.coerce.number().int().min(0).default(1),
  }),
  run: async ({ source, outputDir, failFirstAttempts }) => {
    const records = await extractOrders(source, failFirstAttempts);
    const normalized = await normalizeOrder.map(records, { concurrency: 8 });
    const summary = await summarizeOrders(normalized);
    const { file } = await loadOrders(summary.orders, outputDir);
    const note = await when(gt(summary.rejectedCount, 0), () => reportRejections(summary.rejected), () => "every order was valid");
    return { file, loaded: summary.loaded, rejected: summary.rejected, revenueUsd: summary.revenueUsd, revenueByCountry: summary.revenueByCountry, note };
  },
});

function roundCents(amount: number): number {
  return Math.round(amount * 100) / 100;
}
