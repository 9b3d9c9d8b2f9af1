import { activeTrace } from "../compiler/traceContext.js";
import { evaluateCondition, isCondition, type Condition } from "./conditions.js";

/**
 * Branches a flow on a condition built with `eq`, `gt`, `lt`, `isPresent`, `and`, `or`, `not`:
 * runs `then` when it holds, else `otherwise` (if given), and resolves to what the branch returns.
 * Unlike a plain `if`, it compiles into a Step Functions Choice state, so the flow behaves the same
 * in both engines.
 *
 * @example
 * ```ts
 * import { eq, flow, task, when } from "aloft";
 *
 * export const payout = flow({
 *   name: "payout",
 *   run: async ({ orderId }: { orderId: string }) => {
 *     const order = await fetchOrder(orderId);
 *     return when(eq(order.status, "paid"), () => ship(order), () => remind(order));
 *   },
 * });
 * ```
 */
export function when<T, U = undefined>(condition: Condition, then: () => T | Promise<T>, otherwise?: () => U | Promise<U>): Promise<Awaited<T> | Awaited<U>> {
  const trace = activeTrace();
  if (trace) return trace.when(condition, then, otherwise) as Promise<Awaited<T> | Awaited<U>>;
  return runWhen(condition, then, otherwise);
}

async function runWhen<T, U>(condition: Condition, then: () => T | Promise<T>, otherwise?: () => U | Promise<U>): Promise<Awaited<T> | Awaited<U>> {
  if (!isCondition(condition)) throw new TypeError("when(condition, then, otherwise): build the condition with eq, gt, lt, isPresent, and, or, not");
  if (typeof then !== "function" || (otherwise !== undefined && typeof otherwise !== "function")) {
    throw new TypeError("when(condition, then, otherwise): then and otherwise must be functions");
  }
  if (evaluateCondition(condition)) return await then();
  return (otherwise === undefined ? undefined : await otherwise()) as Awaited<U>;
}
