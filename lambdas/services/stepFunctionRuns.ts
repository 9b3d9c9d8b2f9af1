import type { AnyFlow } from "../../sdk/definitions/flow.js";
import { messageOf } from "../../sdk/model/errors.js";
import { runStateMachineLocally, type LocalRunResult, type ResultPayloads } from "../../sdk/stepfunctions/index.js";
import type { DeploymentRecord, FlowRunRecord } from "../store/records.js";
import type { Services } from "./index.js";
import { stepFunctionsControlPlane } from "./stepFunctionTasks.js";

/** What became of a run handed to {@link LocalStepFunctionRuns}. */
export type LocalStepFunctionOutcome = { action: "ran"; result: LocalRunResult } | { action: "failed"; reason: string } | { action: "skipped"; reason: string };

/**
 * The local server's Step Functions mode: a run of a deployment with engine "step-functions" is
 * executed in this process by `runStateMachineLocally` (its compiled state machine on
 * aws-local-stepfunctions, tasks run here), recorded as the control plane records any run:
 * SCHEDULED → PENDING → RUNNING → COMPLETED / FAILED with the output as result, task runs and
 * logs, PAUSED while it waits for approval. The flow is loaded from the deployment's entrypoint.
 *
 * @example
 * ```ts
 * const runs = new LocalStepFunctionRuns({ services, loadFlow: async (entrypoint, flowName) => (await loadFlow(entrypoint, cwd, { flowName })).flow });
 * deps.onDeploymentRunCreated = async (run, deployment) => runs.start(run, deployment);
 * ```
 */
export class LocalStepFunctionRuns {
  /**
   * Entrypoint and flow → the loaded flow. A file is loaded once per server: its tasks are found by
   * name in the process's registry, which a second copy of the file would make ambiguous.
   */
  private readonly flows = new Map<string, Promise<AnyFlow>>();

  constructor(
    private readonly deps: {
      services: Services;
      loadFlow: (entrypoint: string, flowName: string) => Promise<AnyFlow>;
      payloads?: ResultPayloads;
      now?: () => number;
      /** Where a run that could not be executed is reported besides its FAILED state; stderr by default. */
      logError?: (message: string) => void;
    },
  ) {}

  /** Starts the run in the background, once it is due; resolves at once. */
  async start(run: FlowRunRecord, deployment: DeploymentRecord): Promise<void> {
    const due = run.scheduledTime === undefined ? 0 : Date.parse(run.scheduledTime) - (this.deps.now ?? Date.now)();
    void new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, due)).unref())
      .then(() => this.execute(run.id, deployment))
      .catch((error: unknown) => (this.deps.logError ?? defaultLogError)(`aloft: Step Functions run ${run.id} failed to execute: ${messageOf(error)}`));
  }

  /** Runs a SCHEDULED run of a "step-functions" deployment to its end; any other run is left alone. */
  async execute(runId: string, deployment: DeploymentRecord): Promise<LocalStepFunctionOutcome> {
    const { flowRuns } = this.deps.services;
    if (deployment.engine !== "step-functions") return { action: "skipped", reason: `deployment ${deployment.name} runs in durable mode` };
    const claim = await flowRuns.proposeState(runId, { state: { type: "PENDING" }, controlPlane: true });
    if (claim.decision.status !== "ACCEPT") return { action: "skipped", reason: `flow run ${runId} was not claimed: ${claim.decision.reason ?? claim.run?.state.type}` };
    const run = claim.run!;
    let result: LocalRunResult;
    try {
      if (deployment.entrypoint === undefined) throw new Error(`deployment "${deployment.name}" has no entrypoint; the local server runs flows from files`);
      const flow = await this.flowOf(deployment.entrypoint, run.flowName);
      result = await runStateMachineLocally(flow, run.parameters as never, {
        runId,
        controlPlane: stepFunctionsControlPlane(this.deps.services),
        ...(this.deps.payloads ? { payloads: this.deps.payloads } : {}),
      });
    } catch (error) {
      // The flow could not be loaded or compiled (or the control plane refused the run): no execution started.
      const reason = messageOf(error);
      await flowRuns.proposeState(runId, { state: { type: "FAILED", message: reason }, error: { name: "StateMachineUnavailable", message: reason }, controlPlane: true });
      return { action: "failed", reason };
    }
    return { action: "ran", result };
  }

  private flowOf(entrypoint: string, flowName: string): Promise<AnyFlow> {
    const key = `${entrypoint}\u0000${flowName}`;
    let loading = this.flows.get(key);
    if (!loading) {
      loading = this.deps.loadFlow(entrypoint, flowName);
      // A file that failed to load is tried again by the next run (it may have been fixed).
      loading.catch(() => this.flows.delete(key));
      this.flows.set(key, loading);
    }
    return loading;
  }
}

function defaultLogError(message: string): void {
  process.stderr.write(`${message}\n`);
}
