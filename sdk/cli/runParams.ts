import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { AnyFlow } from "../definitions/flow.js";
import { UsageError } from "./usageError.js";

/**
 * Parses one `--param key=value`. The value is JSON when it parses as JSON (`limit=5` → 5,
 * `tags=["a"]` → an array), else the raw string (`day=2026-11-01` → "2026-11-01").
 *
 * @example
 * ```ts
 * parseParam("limit=5"); // ["limit", 5]
 * parseParam("day=2026-11-01"); // ["day", "2026-11-01"]
 * ```
 */
export function parseParam(text: string): [string, unknown] {
  const equals = text.indexOf("=");
  if (equals === -1) throw new UsageError(`--param "${text}" has no "=" (expected key=value)`);
  const key = text.slice(0, equals).trim();
  if (key === "") throw new UsageError(`--param "${text}" has no key before "=" (expected key=value)`);
  const raw = text.slice(equals + 1);
  try {
    return [key, JSON.parse(raw) as unknown];
  } catch {
    return [key, raw];
  }
}

/**
 * The parameters of a run: the `--params-file` JSON object (resolved against `cwd`), with each
 * `--param` set on top.
 *
 * @example
 * ```ts
 * await collectParams(["limit=5"], "params.json"); // { day: "2026-11-01", limit: 5 }
 * ```
 */
export async function collectParams(params: readonly string[], paramsFile: string | undefined, cwd: string = process.cwd()): Promise<Record<string, unknown>> {
  const merged: Record<string, unknown> = paramsFile === undefined ? {} : await readParamsFile(paramsFile, cwd);
  for (const text of params) {
    const [key, value] = parseParam(text);
    merged[key] = value;
  }
  return merged;
}

async function readParamsFile(file: string, cwd: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, file), "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(code === "ENOENT" ? `no such params file: ${file}` : `cannot read params file ${file}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`params file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`params file ${file} must hold a JSON object (got ${Array.isArray(value) ? "an array" : value === null ? "null" : typeof value})`);
  }
  return value as Record<string, unknown>;
}

/**
 * Checks parameters against the flow's zod schema before anything runs; a {@link UsageError} names
 * every invalid field.
 *
 * @example
 * ```ts
 * checkParams(etl, { limit: "many" });
 * // UsageError: invalid params for flow "etl": day: Invalid input: expected string, received undefined; limit: …
 * ```
 */
export function checkParams(flow: AnyFlow, params: Record<string, unknown>): void {
  const schema = flow.options.params;
  if (!schema) return;
  const parsed = schema.safeParse(params);
  if (parsed.success) return;
  const problems = parsed.error.issues.map((issue) => `${formatPath(issue.path) || "(params)"}: ${issue.message}`);
  throw new UsageError(`invalid params for flow "${flow.name}": ${problems.join("; ")}`);
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((part, index) => (typeof part === "number" ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`)).join("");
}
