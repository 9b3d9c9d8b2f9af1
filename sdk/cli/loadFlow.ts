import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { AnyFlow } from "../definitions/flow.js";
import { oneLine, UsageError } from "./usageError.js";

/**
 * A `<file>[:export]` argument, split.
 *
 * @example
 * ```ts
 * const target: FlowTarget = { file: "flows/etl.ts", exportName: "etl" };
 * ```
 */
export interface FlowTarget {
  file: string;
  exportName?: string;
}

/**
 * Splits `flows/etl.ts:etl` into the file and the export name. The part after the last `:` is an
 * export only if it is a JavaScript identifier, so `C:\flows\etl.ts` stays a path.
 *
 * @example
 * ```ts
 * parseTarget("flows/etl.ts:nightly"); // { file: "flows/etl.ts", exportName: "nightly" }
 * parseTarget("flows/etl.ts"); // { file: "flows/etl.ts" }
 * ```
 */
export function parseTarget(target: string): FlowTarget {
  const colon = target.lastIndexOf(":");
  if (colon > 0) {
    const file = target.slice(0, colon);
    const exportName = target.slice(colon + 1);
    const isDriveLetter = /^[A-Za-z]$/.test(file) && /^[\\/]/.test(exportName);
    if (!isDriveLetter) {
      if (!/^[A-Za-z_$][\w$]*$/.test(exportName)) {
        throw new UsageError(`"${exportName}" in ${target} is not an export name (expected <file>[:export])`);
      }
      return { file, exportName };
    }
  }
  return { file: target };
}

/**
 * Whether a value is a flow handle made by `flow()`.
 *
 * @example
 * ```ts
 * isFlowHandle(etl); // true
 * isFlowHandle(extract); // false: a task
 * ```
 */
export function isFlowHandle(value: unknown): value is AnyFlow {
  return typeof value === "function" && (value as { kind?: unknown }).kind === "flow";
}

/**
 * A flow loaded from a file, and the export it came from.
 *
 * @example
 * ```ts
 * const { flow, exportName }: LoadedFlow = await loadFlow("flows/etl.ts");
 * ```
 */
export interface LoadedFlow {
  flow: AnyFlow;
  exportName: string;
  /** The absolute path of the file. */
  path: string;
}

/**
 * Loads a TypeScript (or JavaScript) file, resolved against `cwd`, and picks its flow: the named
 * export with `:export`; else the default export if it is a flow; else the only exported flow.
 * Every way this can go wrong is a {@link UsageError} with a one-line message.
 *
 * @example
 * ```ts
 * const { flow } = await loadFlow("flows/etl.ts:etl");
 * const run = await flow.run({ day: "2026-11-01" });
 * ```
 */
export async function loadFlow(target: string, cwd: string = process.cwd(), select: { flowName?: string } = {}): Promise<LoadedFlow> {
  const { file, exportName } = parseTarget(target);
  const path = resolve(cwd, file);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UsageError(`no such file: ${file}`);
  if (!info.isFile()) throw new UsageError(`not a file: ${file}`);

  let moduleExports: Record<string, unknown>;
  try {
    moduleExports = exportsOf((await importSource(path)) as Record<string, unknown>);
  } catch (error) {
    throw new UsageError(`cannot load ${file}: ${oneLine(error instanceof Error ? error.message : String(error))}`);
  }

  if (exportName !== undefined) {
    if (!(exportName in moduleExports)) throw new UsageError(`${file} has no export named "${exportName}"${listFlows(moduleExports)}`);
    const value = moduleExports[exportName];
    if (!isFlowHandle(value)) throw new UsageError(`export "${exportName}" of ${file} is not a flow${listFlows(moduleExports)}`);
    return { flow: value, exportName, path };
  }
  const flows = flowExports(moduleExports);
  if (select.flowName !== undefined) {
    const named = flows.find(([, flow]) => flow.name === select.flowName);
    if (!named) throw new UsageError(`${file} exports no flow named "${select.flowName}"${listFlows(moduleExports)}`);
    return { flow: named[1], exportName: named[0], path };
  }
  if (isFlowHandle(moduleExports.default)) return { flow: moduleExports.default, exportName: "default", path };
  const only = flows[0];
  if (flows.length === 1 && only) return { flow: only[1], exportName: only[0], path };
  if (flows.length === 0) throw new UsageError(`${file} exports no flow (export one made with flow())`);
  throw new UsageError(`${file} exports ${flows.length} flows (${flows.map(([name]) => name).join(", ")}); pick one with ${file}:<export>`);
}

/**
 * Imports a flow file: an `.mjs` file (always an ES module) natively, anything else through tsx,
 * which compiles TypeScript and bridges CommonJS. tsx is loaded only when needed: a runner process
 * that loads plain ES modules starts ~0.4 s sooner.
 */
async function importSource(path: string): Promise<unknown> {
  const url = pathToFileURL(path).href;
  if (path.endsWith(".mjs")) return import(url);
  const { tsImport } = await import("tsx/esm/api");
  return tsImport(url, import.meta.url);
}

/**
 * A file outside a `"type": "module"` package is compiled to CommonJS; its namespace's `default`
 * is then the whole exports object, which holds the real default and named exports.
 */
function exportsOf(namespace: Record<string, unknown>): Record<string, unknown> {
  const inner = namespace.default;
  if (typeof inner === "object" && inner !== null && (inner as { __esModule?: unknown }).__esModule === true) {
    const { __esModule: _, ...exports } = inner as Record<string, unknown>;
    return exports;
  }
  return namespace;
}

function flowExports(moduleExports: Record<string, unknown>): Array<[string, AnyFlow]> {
  return Object.entries(moduleExports).filter((entry): entry is [string, AnyFlow] => isFlowHandle(entry[1]));
}

function listFlows(moduleExports: Record<string, unknown>): string {
  const names = flowExports(moduleExports).map(([name]) => name);
  return names.length === 0 ? " (it exports no flow)" : ` (its flows: ${names.join(", ")})`;
}
