/**
 * Conditions → ASL Choice rules. A comparison first checks that the variable is there and of the
 * literal's type, so a missing or mistyped field is false, as `evaluateCondition` says locally
 * (Step Functions would otherwise fail the execution on a missing field).
 */
import type { Condition } from "../definitions/conditions.js";
import { exprOf } from "./symbolic.js";

/** An ASL Choice rule (without Next). */
export type ChoiceRule = Record<string, unknown>;

/**
 * The Choice rule for a condition whose values are all JSONPath symbolic values.
 *
 * @example
 * ```ts
 * choiceRule(gt(result.count, 10));
 * // { And: [{ Variable: "$.results.count.value.count", IsPresent: true }, { …, IsNumeric: true }, { …, NumericGreaterThan: 10 }] }
 * ```
 */
export function choiceRule(condition: Condition): ChoiceRule {
  switch (condition.op) {
    case "and":
      return { And: condition.conditions.map(choiceRule) };
    case "or":
      return { Or: condition.conditions.map(choiceRule) };
    case "not":
      return { Not: choiceRule(condition.condition) };
    case "isPresent":
      return { Variable: variableOf(condition.value), IsPresent: true };
    case "eq": {
      const Variable = variableOf(condition.value);
      const { literal } = condition;
      if (literal === null) return { And: [{ Variable, IsPresent: true }, { Variable, IsNull: true }] };
      const [typeTest, operator] =
        typeof literal === "string" ? ["IsString", "StringEquals"] : typeof literal === "number" ? ["IsNumeric", "NumericEquals"] : ["IsBoolean", "BooleanEquals"];
      return { And: [{ Variable, IsPresent: true }, { Variable, [typeTest]: true }, { Variable, [operator]: literal }] };
    }
    case "gt":
    case "lt": {
      const Variable = variableOf(condition.value);
      const { literal } = condition;
      const text = typeof literal === "string";
      const operator = `${text ? "String" : "Numeric"}${condition.op === "gt" ? "GreaterThan" : "LessThan"}`;
      return { And: [{ Variable, IsPresent: true }, { Variable, [text ? "IsString" : "IsNumeric"]: true }, { Variable, [operator]: literal }] };
    }
  }
}

function variableOf(value: unknown): string {
  const expr = exprOf(value);
  if (expr?.kind !== "path") throw new Error("a condition's value must be a JSONPath by now (the tracer materializes the others)");
  return expr.path;
}
