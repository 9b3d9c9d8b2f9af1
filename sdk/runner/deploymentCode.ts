import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { loadFlow, parseTarget } from "../cli/loadFlow.js";
import type { RunnableFlow } from "./claimedRun.js";

/** Where a run's code is: its deployment's entrypoint or bundle, else the run's own entrypoint. */
export interface CodeLocation {
  flowName: string;
  /** `path/file.ts[:export]`, relative to the runner's working directory. */
  entrypoint?: string;
  bundleId?: string;
}

/**
 * Why a run's code could not be loaded; its `name` (the code) is the error name the failed run records.
 *
 * @example
 * ```ts
 * throw new FlowCodeError("FlowNotFound", `bundle b1 exports no flow named "etl"`);
 * ```
 */
export class FlowCodeError extends Error {
  constructor(
    readonly code: "DeploymentNotFound" | "BundleNotFound" | "FlowNotFound" | "EntrypointNotLoaded",
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

/** Loads a registered flow bundle's exports by id (S3 on AWS). */
export type BundleLoader = (bundleId: string) => Promise<Record<string, unknown>>;

/**
 * The flows a long-lived runner process loads, cached: an entrypoint file is compiled (tsx) and
 * evaluated once, and again only when the file changes on disk, so a warm runner starts its
 * thousandth run without recompiling while a developer's edit is still picked up by the next run.
 *
 * @example
 * ```ts
 * const code = new DeploymentCode({ cwd: process.cwd() });
 * const flow = await code.load({ flowName: "etl", entrypoint: "flows/etl.ts:etl" });
 * ```
 */
export class DeploymentCode {
  private readonly entrypoints = new Map<string, { mtimeMs: number; flow: Promise<RunnableFlow> }>();

  constructor(private readonly options: { cwd?: string; bundles?: BundleLoader } = {}) {}

  async load(location: CodeLocation): Promise<RunnableFlow> {
    if (location.entrypoint !== undefined) return this.fromEntrypoint(location.entrypoint, location.flowName);
    if (location.bundleId !== undefined) return this.fromBundle(location.bundleId, location.flowName);
    throw new FlowCodeError("DeploymentNotFound", `flow "${location.flowName}" has no entrypoint and no bundle to load its code from`);
  }

  private async fromEntrypoint(entrypoint: string, flowName: string): Promise<RunnableFlow> {
    const cwd = this.options.cwd ?? process.cwd();
    const path = resolve(cwd, parseTarget(entrypoint).file);
    const mtimeMs = (await stat(path).catch(() => undefined))?.mtimeMs ?? -1;
    const key = `${path}\0${entrypoint}\0${flowName}`;
    const cached = this.entrypoints.get(key);
    if (cached && cached.mtimeMs === mtimeMs) return cached.flow;
    const select = parseTarget(entrypoint).exportName === undefined ? { flowName } : {};
    const flow = loadFlow(entrypoint, cwd, select).then(
      ({ flow }) => flow as unknown as RunnableFlow,
      (error: unknown) => {
        throw new FlowCodeError("EntrypointNotLoaded", error instanceof Error ? error.message : String(error));
      },
    );
    this.entrypoints.set(key, { mtimeMs, flow });
    // A failed load is not cached: the next run tries again (the file may have been fixed).
    flow.catch(() => this.entrypoints.get(key)?.flow === flow && this.entrypoints.delete(key));
    return flow;
  }

  private async fromBundle(bundleId: string, flowName: string): Promise<RunnableFlow> {
    if (!this.options.bundles) throw new FlowCodeError("BundleNotFound", `flow "${flowName}" is deployed as bundle ${bundleId}, and this runner loads only entrypoints (a local runner needs the deployment's --entrypoint)`);
    return bundledFlow(await this.options.bundles(bundleId), bundleId, flowName);
  }
}

/**
 * The flow named `flowName` among a bundle's exports; throws, naming the flows it has, if none.
 *
 * @example
 * ```ts
 * const flow = bundledFlow(await bundles.load("etl-3f2a9c"), "etl-3f2a9c", "etl");
 * ```
 */
export function bundledFlow(exports: Record<string, unknown>, bundleId: string, flowName: string): RunnableFlow {
  const flows = Object.values(exports).filter(isRunnableFlow);
  const flow = flows.find((candidate) => candidate.name === flowName);
  if (!flow) {
    const names = [...new Set(flows.map((candidate) => candidate.name))].join(", ") || "none";
    throw new FlowCodeError("FlowNotFound", `bundle ${bundleId} exports no flow named "${flowName}" (its flows: ${names})`);
  }
  return flow;
}

function isRunnableFlow(value: unknown): value is RunnableFlow {
  return typeof value === "function" && (value as { kind?: unknown }).kind === "flow";
}
