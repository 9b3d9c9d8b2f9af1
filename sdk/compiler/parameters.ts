/**
 * JSONPath payload templates: a JS value made of literals and symbolic values becomes the
 * `Parameters` form where a field holding a path or an intrinsic ends in ".$".
 */
import { exprOf, type Expr, type TokenTable } from "./symbolic.js";

/** Thrown when a value cannot be written as a template; the caller turns it into a CompileError. */
export class TemplateError extends Error {}

/**
 * The template field for `key`: `[key, literal]` or `[key + ".$", expression]`; undefined for `undefined`.
 *
 * @example
 * ```ts
 * templateField("0", params.day, tokens); // ["0.$", "$.params.day"]
 * templateField("n", 3, tokens); // ["n", 3]
 * ```
 */
export function templateField(key: string, value: unknown, tokens: TokenTable): [string, unknown] | undefined {
  if (value === undefined) return undefined;
  const dynamic = expressionOf(value, tokens);
  if (dynamic !== undefined) return [`${key}.$`, dynamic];
  return [key, template(value, tokens)];
}

/**
 * An object template from fields (undefined values left out).
 *
 * @example
 * ```ts
 * templateObject({ day: params.day, limit: 10 }, tokens); // { "day.$": "$.params.day", limit: 10 }
 * ```
 */
export function templateObject(fields: Record<string, unknown>, tokens: TokenTable): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    const field = templateField(key, value, tokens);
    if (field) out[field[0]] = field[1];
  }
  return out;
}

/** A value with no symbolic part at its top: objects recurse, arrays of literals stay literal. */
function template(value: unknown, tokens: TokenTable): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : template(item, tokens)));
  if (typeof value === "object" && value !== null) return templateObject(value as Record<string, unknown>, tokens);
  return value;
}

/**
 * The JSONPath or intrinsic expression for a value that needs one (a symbolic value, a string with
 * embedded ones, an array holding some); undefined for plain data and objects (which recurse).
 *
 * @example
 * ```ts
 * expressionOf(`day ${params.day}`, tokens); // "States.Format('day {}', $.params.day)"
 * ```
 */
export function expressionOf(value: unknown, tokens: TokenTable): string | undefined {
  const expr = exprOf(value);
  if (expr) return exprText(expr);
  if (typeof value === "string") {
    const split = tokens.split(value);
    return split ? `States.Format('${split.parts.map(escape).join("{}")}', ${split.exprs.map(exprText).join(", ")})` : undefined;
  }
  if (Array.isArray(value) && value.some((item) => holdsSymbolic(item, tokens))) {
    return `States.Array(${value.map((item) => intrinsicArgument(item, tokens)).join(", ")})`;
  }
  return undefined;
}

/**
 * Whether a value holds a symbolic value anywhere.
 *
 * @example
 * ```ts
 * holdsSymbolic({ a: [params.day] }, tokens); // true
 * ```
 */
export function holdsSymbolic(value: unknown, tokens: TokenTable): boolean {
  if (exprOf(value)) return true;
  if (typeof value === "string") return tokens.split(value) !== undefined;
  if (Array.isArray(value)) return value.some((item) => holdsSymbolic(item, tokens));
  if (typeof value === "object" && value !== null) return Object.values(value).some((item) => holdsSymbolic(item, tokens));
  return false;
}

function intrinsicArgument(value: unknown, tokens: TokenTable): string {
  const expression = expressionOf(value, tokens);
  if (expression !== undefined) return expression;
  if (value === undefined || value === null) return "null";
  if (typeof value === "string") return quote(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (holdsSymbolic(value, tokens)) {
    throw new TemplateError("an array holds an object that holds a task's result; Step Functions cannot build that in one step");
  }
  return `States.StringToJson(${quote(JSON.stringify(value))})`;
}

function exprText(expr: Expr): string {
  return expr.kind === "path" ? expr.path : expr.text;
}

/** A string literal of an intrinsic function: single quotes; ', {, } and \ escaped with a backslash. */
function quote(text: string): string {
  return `'${escape(text)}'`;
}

function escape(text: string): string {
  return text.replace(/[\\'{}]/g, (char) => `\\${char}`);
}
