import type { CacheStore } from "../../sdk/engine/cache.js";
import { executeClaimedRun, type RunnerCalls, type RunnerInfo, type RunnerOutcome } from "../../sdk/runner/claimedRun.js";
import { bundledFlow, FlowCodeError } from "../../sdk/runner/deploymentCode.js";
import { inProcessCalls } from "./controlPlaneCalls.js";
import { ServiceError } from "./errors.js";
import type { Services } from "./index.js";
import type { FlowBundles } from "./ports.js";

export type { RunnerOutcome } from "../../sdk/runner/claimedRun.js";

/**
 * The runner's calls answered by the services in this process: the runner functions report runs,
 * propose states with their claim token, heartbeat, and read and write the journal straight to the
 * table (one hop fewer, no signing, no API Gateway).
 *
 * @example
 * ```ts
 * const outcome = await executeClaimedRun({ calls: inProcessRunnerCalls(services), run, runnerToken, loadFlow });
 * ```
 */
export function inProcessRunnerCalls(services: Services): RunnerCalls {
  return {
    link: inProcessCalls(services),
    propose: async (runId, body) => {
      const { decision } = await services.flowRuns.proposeState(runId, body);
      return {
        status: decision.status,
        rule: decision.rule,
        reason: decision.reason,
        ...(decision.status === "WAIT" ? { delaySeconds: decision.delaySeconds } : {}),
      };
    },
    heartbeat: (runId, body) => services.flowRuns.heartbeat(runId, body),
  };
}

/**
 * The runner's use case on Lambda and Fargate: executes a claimed (PENDING) deployment run from its
 * deployment's flow bundle with the runner core every runner shares ({@link executeClaimedRun}):
 * RUNNING proposed with the claim token, heartbeats, the flow in durable mode on the run's journal
 * (calls an earlier attempt completed return their recorded results instead of running again),
 * cancellation and lost claims obeyed. A run that does not exist is skipped; a deployment without a
 * usable bundle fails the run with the reason; an infrastructure error (the bundle cannot be
 * downloaded) is thrown, for the invoker to retry.
 *
 * @example
 * ```ts
 * const runner = new BundleRunService({ services, bundles: new S3FlowBundles(s3, bucket, "bundles/", "/tmp/aloft-bundles") });
 * const outcome = await runner.execute(runId, runnerToken, { kind: "lambda", requestId }); // { action: "ran", state: { type: "COMPLETED", … } }
 * ```
 */
export class BundleRunService {
  constructor(private readonly deps: { services: Services; bundles: FlowBundles; cache?: CacheStore; heartbeatSeconds?: number }) {}

  /**
   * Imports the flow bundle of a run's deployment, registering its tasks in this process: a Fargate
   * task of a compiled (Step Functions) flow runs one of them by name. Throws, naming what is
   * missing, when the run has no deployment or the deployment no bundle.
   */
  async loadBundleOf(runId: string): Promise<void> {
    const { services } = this.deps;
    const run = await services.flowRuns.get(runId);
    const deployment = run.deploymentId === undefined ? undefined : await services.deployments.get(run.deploymentId);
    if (deployment?.bundleId === undefined) throw new FlowCodeError("BundleNotFound", `flow run ${runId} has no deployment with a bundle to load its tasks from`);
    await this.deps.bundles.load(deployment.bundleId);
  }

  async execute(runId: string, runnerToken: string, runner?: RunnerInfo, job: { timeoutSeconds?: number } = {}): Promise<RunnerOutcome> {
    const { services } = this.deps;
    let run;
    try {
      run = await services.flowRuns.get(runId);
    } catch (error) {
      if (error instanceof ServiceError && error.code === "NOT_FOUND") return { action: "skipped", reason: `flow run ${runId} does not exist` };
      throw error;
    }
    // A second delivery of the same launch finds the run started (or finished) by the first.
    if (run.state.type !== "PENDING") return { action: "skipped", reason: `flow run ${runId} is ${run.state.type}; only a PENDING (claimed) run is executed` };
    const deployment = run.deploymentId === undefined ? undefined : await services.deployments.get(run.deploymentId).catch(() => undefined);
    // Downloading the bundle can fail for a while (S3); that is thrown for the invoker to retry, not a failed run.
    const exports = deployment?.bundleId === undefined ? undefined : await this.deps.bundles.load(deployment.bundleId);
    const flowName = run.flowName;
    return executeClaimedRun({
      calls: inProcessRunnerCalls(services),
      run,
      runnerToken,
      loadFlow: async () => {
        if (!deployment) throw new FlowCodeError("DeploymentNotFound", `flow run ${runId} has no deployment to take its code from`);
        if (deployment.bundleId === undefined || exports === undefined) {
          throw new FlowCodeError("BundleNotFound", `deployment "${deployment.name}" has no bundleId; the control plane runs only bundled flows`);
        }
        return bundledFlow(exports, deployment.bundleId, flowName);
      },
      ...(runner ? { runner } : {}),
      ...(this.deps.heartbeatSeconds === undefined ? {} : { heartbeatSeconds: this.deps.heartbeatSeconds }),
      ...(this.deps.cache ? { cache: this.deps.cache } : {}),
      ...(job.timeoutSeconds === undefined ? {} : { timeoutSeconds: job.timeoutSeconds }),
    });
  }
}
