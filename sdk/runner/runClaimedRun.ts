import { hostname } from "node:os";
import { AloftClient } from "../api/client.js";
import { clientCalls } from "../api/connect.js";
import type { DeploymentResponse, FlowRunResponse, ProposeStateRequest } from "../api/types.js";
import type { CacheStore } from "../engine/cache.js";
import { executeClaimedRun, type RunnerCalls, type RunnerInfo, type RunnerOutcome } from "./claimedRun.js";
import { DeploymentCode, type CodeLocation } from "./deploymentCode.js";
import { codeLocationOf } from "./runnerMessages.js";

/**
 * The runner's calls over the control-plane API: reports and journal through the client's routes,
 * proposals with the claim token, heartbeats on `POST /v1/flow-runs/{id}/heartbeat`.
 *
 * @example
 * ```ts
 * const calls = clientRunnerCalls(new AloftClient());
 * ```
 */
export function clientRunnerCalls(client: AloftClient): RunnerCalls {
  return {
    link: clientCalls(client),
    propose: async (runId, body) => {
      // The claim token and the flow's retries ride along with the proposal.
      const answer = await client.flowRuns.proposeState(runId, body as ProposeStateRequest);
      return answer;
    },
    heartbeat: (runId, body) => client.flowRuns.heartbeat(runId, body),
  };
}

/** Options of {@link runClaimedRun}. */
export interface RunClaimedRunOptions {
  client?: AloftClient;
  runId: string;
  /** The token the claim returned. */
  runnerToken: string;
  /** Default: `ALOFT_HEARTBEAT_SECONDS`, else 10. */
  heartbeatSeconds?: number;
  /** Aborting it cancels the flow. */
  signal?: AbortSignal;
  /** Entrypoints are resolved against it; default the process's working directory. */
  cwd?: string;
  /** The run and its deployment when the caller has them already (a claim returns both): saves two reads. */
  flowRun?: FlowRunResponse;
  deployment?: DeploymentResponse;
  /** Reused across runs by a long-lived runner, so each flow file is compiled once. */
  code?: DeploymentCode;
  runner?: RunnerInfo;
  cache?: CacheStore;
  /** The work pool's job timeout: the run is aborted after it and ends FAILED (TimedOut). */
  timeoutSeconds?: number;
  /** Called once the run's code has loaded, before the flow starts (a runner process tells its pool). */
  onCodeLoaded?: (location: CodeLocation) => void;
}

/**
 * Runs one claimed run in this process, over the control-plane API: loads the deployment's code
 * (its `entrypoint`, compiled by tsx), proposes RUNNING with the claim token, heartbeats, and runs
 * the flow in durable mode on the run's journal (calls an earlier attempt completed are not run
 * again). A "cancel" heartbeat aborts the flow, which ends CANCELLED; a "stop" heartbeat (another
 * runner holds the run now) aborts it and nothing more is written. This is what a local runner
 * process does with each run its worker hands it.
 *
 * @example
 * ```ts
 * const [claim] = (await client.workPools.claim("local", { workerId: "w1", limit: 1 })).items;
 * if (claim) await runClaimedRun({ client, runId: claim.runId, runnerToken: claim.runnerToken });
 * ```
 */
export async function runClaimedRun(options: RunClaimedRunOptions): Promise<RunnerOutcome> {
  const client = options.client ?? new AloftClient();
  const flowRun = options.flowRun ?? (await client.flowRuns.get(options.runId));
  const deploymentId = flowRun.deploymentId;
  const code = options.code ?? new DeploymentCode(options.cwd === undefined ? {} : { cwd: options.cwd });
  return executeClaimedRun({
    calls: clientRunnerCalls(client),
    run: flowRun,
    runnerToken: options.runnerToken,
    loadFlow: async () => {
      const deployment = options.deployment ?? (deploymentId === undefined ? undefined : await client.deployments.get(deploymentId));
      const location = codeLocationOf(flowRun, deployment);
      const flow = await code.load(location);
      options.onCodeLoaded?.(location);
      return flow;
    },
    runner: options.runner ?? { kind: "process", pid: process.pid, host: hostname() },
    ...(options.heartbeatSeconds === undefined ? {} : { heartbeatSeconds: options.heartbeatSeconds }),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.cache ? { cache: options.cache } : {}),
    ...(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds }),
  });
}
