import { ControlPlaneLink } from "../../sdk/api/controlPlaneLink.js";
import type { CacheStore } from "../../sdk/engine/cache.js";
import type { Journal } from "../../sdk/engine/journal.js";
import type { Recorder } from "../../sdk/engine/recorder.js";
import type { FlowRun } from "../../sdk/model/runs.js";
import type { State } from "../../sdk/model/states.js";
import type { FlowRunRecord } from "../store/records.js";
import { inProcessCalls } from "./controlPlaneCalls.js";
import { ServiceError } from "./errors.js";
import type { Services } from "./index.js";
import type { FlowBundles } from "./ports.js";

/** What a runner invocation did. */
export type RunnerOutcome =
  | { action: "ran"; state: State }
  | { action: "skipped"; reason: string }
  | { action: "failed"; reason: string };

/** A flow handle as a bundle exports it (made by the bundle's own copy of the SDK). */
interface BundledFlow {
  readonly kind: "flow";
  readonly name: string;
  run(
    params: unknown,
    options: { runId: string; journal: Journal; recorder: Recorder; tags?: string[]; cache?: CacheStore },
  ): Promise<FlowRun>;
}

/**
 * The runner's use case: executes a claimed (PENDING) deployment run from its deployment's flow
 * bundle, in durable mode. The run's journal and reports go to the services in this process, so
 * calls the journal records as completed (an earlier attempt of the run) return their recorded
 * results instead of running again. A run that is not PENDING is left alone: it was run already,
 * is being run, or was cancelled. A deployment without a usable bundle fails the run with the
 * reason; an infrastructure error (the bundle cannot be downloaded) is thrown, for the invoker to
 * retry.
 *
 * @example
 * ```ts
 * const runner = new BundleRunService({ services, bundles: new S3FlowBundles(s3, bucket, "bundles/", "/tmp/aloft-bundles") });
 * const outcome = await runner.execute(runId); // { action: "ran", state: { type: "COMPLETED", … } }
 * ```
 */
export class BundleRunService {
  constructor(private readonly deps: { services: Services; bundles: FlowBundles; cache?: CacheStore }) {}

  async execute(runId: string): Promise<RunnerOutcome> {
    const { services } = this.deps;
    let run: FlowRunRecord;
    try {
      run = await services.flowRuns.get(runId);
    } catch (error) {
      if (error instanceof ServiceError && error.code === "NOT_FOUND") return { action: "skipped", reason: `flow run ${runId} does not exist` };
      throw error;
    }
    if (run.state.type !== "PENDING") return { action: "skipped", reason: `flow run ${runId} is ${run.state.type}; only a PENDING (claimed) run is executed` };
    const deployment = run.deploymentId === undefined ? undefined : await services.deployments.get(run.deploymentId).catch(() => undefined);
    if (!deployment) return this.fail(run, "DeploymentNotFound", `flow run ${runId} has no deployment to take its code from`);
    if (deployment.bundleId === undefined) {
      return this.fail(run, "BundleNotFound", `deployment "${deployment.name}" has no bundleId; the control plane runs only bundled flows`);
    }
    const exports = await this.deps.bundles.load(deployment.bundleId);
    const flows = Object.values(exports).filter(isBundledFlow);
    const flow = flows.find((candidate) => candidate.name === run.flowName);
    if (!flow) {
      const names = [...new Set(flows.map((candidate) => candidate.name))].join(", ") || "none";
      return this.fail(run, "FlowNotFound", `bundle ${deployment.bundleId} exports no flow named "${run.flowName}" (its flows: ${names})`);
    }
    const link = new ControlPlaneLink(inProcessCalls(services));
    try {
      const finished = await flow.run(run.parameters, {
        runId,
        journal: link.journal,
        recorder: link.recorder,
        ...(run.tags.length > 0 ? { tags: run.tags } : {}),
        ...(this.deps.cache ? { cache: this.deps.cache } : {}),
      });
      return { action: "ran", state: finished.state };
    } finally {
      await link.flush();
    }
  }

  private async fail(run: FlowRunRecord, name: string, reason: string): Promise<RunnerOutcome> {
    const { decision } = await this.deps.services.flowRuns.proposeState(run.id, {
      state: { type: "FAILED", message: reason },
      error: { name, message: reason },
      transitionId: `runner:${run.id}:setup`,
    });
    return decision.status === "ACCEPT" ? { action: "failed", reason } : { action: "skipped", reason: decision.reason };
  }
}

function isBundledFlow(value: unknown): value is BundledFlow {
  return typeof value === "function" && (value as { kind?: unknown }).kind === "flow";
}
