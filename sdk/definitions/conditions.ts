import { activeTrace } from "../compiler/traceContext.js";

/**
 * The conditions `when()` branches on. They are data, not functions, so the same condition is
 * evaluated by the local engine and compiled into a Step Functions Choice rule.
 */

/**
 * A value a condition compares with: a literal the Choice rule can hold.
 *
 * @example
 * ```ts
 * const literal: Comparable = "paid";
 * ```
 */
export type Comparable = string | number | boolean | null;

/**
 * A condition built by {@link eq}, {@link gt}, {@link lt}, {@link isPresent}, {@link and},
 * {@link or} and {@link not}.
 *
 * @example
 * ```ts
 * const big: Condition = and(isPresent(order.total), gt(order.total, 100));
 * ```
 */
export type Condition =
  | { readonly op: "eq"; readonly value: unknown; readonly literal: Comparable }
  | { readonly op: "gt" | "lt"; readonly value: unknown; readonly literal: number | string }
  | { readonly op: "isPresent"; readonly value: unknown }
  | { readonly op: "and" | "or"; readonly conditions: readonly Condition[] }
  | { readonly op: "not"; readonly condition: Condition };

/**
 * True when `value` is exactly `literal` (same type and value; `null` matches only `null`).
 *
 * @example
 * ```ts
 * await when(eq(order.status, "paid"), () => ship(order), () => remind(order));
 * ```
 */
export function eq<T>(value: T, literal: T & Comparable): Condition {
  checkLiteral("eq", literal, ["string", "number", "boolean", "null"]);
  return { op: "eq", value, literal };
}

/**
 * True when `value` is a number greater than the number `literal` (or a string after it, for string literals).
 *
 * @example
 * ```ts
 * await when(gt(stats.errors, 0), () => alert(stats));
 * ```
 */
export function gt<T extends number | string>(value: T, literal: T): Condition {
  checkLiteral("gt", literal, ["string", "number"]);
  return { op: "gt", value, literal };
}

/**
 * True when `value` is a number less than the number `literal` (or a string before it, for string literals).
 *
 * @example
 * ```ts
 * await when(lt(score.value, 0.5), () => retrain(model));
 * ```
 */
export function lt<T extends number | string>(value: T, literal: T): Condition {
  checkLiteral("lt", literal, ["string", "number"]);
  return { op: "lt", value, literal };
}

/**
 * True when `value` is not `undefined` (a field that is there, even if `null`).
 *
 * @example
 * ```ts
 * await when(isPresent(user.email), () => sendEmail(user.email));
 * ```
 */
export function isPresent(value: unknown): Condition {
  return { op: "isPresent", value };
}

/**
 * True when every condition is.
 *
 * @example
 * ```ts
 * and(isPresent(order.total), gt(order.total, 100));
 * ```
 */
export function and(...conditions: [Condition, ...Condition[]]): Condition {
  checkConditions("and", conditions);
  return { op: "and", conditions };
}

/**
 * True when at least one condition is.
 *
 * @example
 * ```ts
 * or(eq(order.country, "DK"), eq(order.country, "SE"));
 * ```
 */
export function or(...conditions: [Condition, ...Condition[]]): Condition {
  checkConditions("or", conditions);
  return { op: "or", conditions };
}

/**
 * True when `condition` is false.
 *
 * @example
 * ```ts
 * not(eq(order.status, "cancelled"));
 * ```
 */
export function not(condition: Condition): Condition {
  checkConditions("not", [condition]);
  return { op: "not", condition };
}

/**
 * Evaluates a condition on concrete values: what the local engine does, and what the compiled Choice
 * rule does in Step Functions.
 *
 * @example
 * ```ts
 * evaluateCondition(gt(3, 2)); // true
 * ```
 */
export function evaluateCondition(condition: Condition): boolean {
  switch (condition.op) {
    case "eq":
      return condition.value === condition.literal;
    case "gt":
      return order(condition.value, condition.literal) > 0;
    case "lt":
      return order(condition.value, condition.literal) < 0;
    case "isPresent":
      return condition.value !== undefined;
    case "and":
      return condition.conditions.every(evaluateCondition);
    case "or":
      return condition.conditions.some(evaluateCondition);
    case "not":
      return !evaluateCondition(condition.condition);
  }
}

/**
 * Whether `value` was built by one of the condition builders.
 *
 * @example
 * ```ts
 * isCondition(eq(1, 1)); // true
 * ```
 */
export function isCondition(value: unknown): value is Condition {
  return typeof value === "object" && value !== null && OPS.has((value as { op?: unknown }).op as string);
}

/** 1, -1 or 0 for two numbers or two strings; NaN (never greater, never less) for anything else. */
function order(value: unknown, literal: number | string): number {
  if (typeof value !== typeof literal) return NaN;
  const a = value as number | string;
  return a > literal ? 1 : a < literal ? -1 : 0;
}

const OPS = new Set(["eq", "gt", "lt", "isPresent", "and", "or", "not"]);

function checkLiteral(builder: string, literal: unknown, types: readonly string[]): void {
  const type = literal === null ? "null" : typeof literal;
  // While compiling, a literal that is a task's result (a symbolic value) is a comparison Choice rules cannot make.
  if (type === "function" || type === "object") activeTrace()?.refuse(`compares two runtime values in one ${builder}() condition`, "compare a value with a literal");
  if (!types.includes(type) || (typeof literal === "number" && !Number.isFinite(literal))) {
    throw new TypeError(`${builder}(value, literal): literal must be a ${types.join(", ")} (got ${String(literal)})`);
  }
}

function checkConditions(builder: string, conditions: readonly unknown[]): void {
  if (conditions.length === 0) throw new TypeError(`${builder}() needs at least one condition`);
  conditions.forEach((condition, index) => {
    if (!isCondition(condition)) throw new TypeError(`${builder}(): argument ${index + 1} is not a condition (build it with eq, gt, lt, isPresent, and, or, not)`);
  });
}
