import type { DeploymentResponse, FlowRunResponse } from "../api/types.js";
import type { RunnerOutcome } from "./claimedRun.js";
import type { CodeLocation } from "./deploymentCode.js";

/**
 * The environment variable a supervisor sets to the umask (octal) its runner processes take at start:
 * the local server runs with a private umask (its data dir is its owner's only), and gives its
 * runners the user's own back, for the files their flows write.
 *
 * @example
 * ```ts
 * fork(script, [], { env: { ...process.env, [RUNNER_UMASK_VARIABLE]: "22" } });
 * ```
 */
export const RUNNER_UMASK_VARIABLE = "ALOFT_RUNNER_UMASK";

/**
 * A claimed run handed to a runner process: what `POST /v1/work-pools/{pool}/claims` returned
 * for it.
 *
 * @example
 * ```ts
 * const job: RunJob = { runId: claim.runId, runnerToken: claim.runnerToken, flowRun: claim.flowRun, deployment: claim.deployment };
 * ```
 */
export interface RunJob {
  runId: string;
  runnerToken: string;
  flowRun?: FlowRunResponse;
  deployment?: DeploymentResponse;
  /** The work pool's job timeout, in seconds. */
  timeoutSeconds?: number;
}

/**
 * Messages from a supervisor to a runner process (over the IPC channel).
 *
 * @example
 * ```ts
 * child.send({ type: "run", job } satisfies ToRunner);
 * ```
 */
export type ToRunner = { type: "run"; job: RunJob } | { type: "warm"; code: CodeLocation } | { type: "exit" };

/**
 * Messages from a runner process to its supervisor.
 *
 * @example
 * ```ts
 * process.send?.({ type: "done", runId, outcome } satisfies FromRunner);
 * ```
 */
export type FromRunner =
  | { type: "ready" }
  /** The answer to one `warm`: whether that code loaded. */
  | { type: "warmed"; loaded: boolean }
  /** The run's code has loaded (the flow starts next): a death from now on is not the code's import. */
  | { type: "loaded"; runId: string; code: CodeLocation }
  | { type: "done"; runId: string; outcome: RunnerOutcome }
  | { type: "error"; runId: string; message: string };

/**
 * Where a claimed run's code is, as a runner loads it: the deployment's entrypoint or bundle, else
 * the run's own entrypoint.
 *
 * @example
 * ```ts
 * const location = codeLocationOf(claim.flowRun, claim.deployment); // { flowName: "etl", entrypoint: "flows/etl.ts:etl" }
 * ```
 */
export function codeLocationOf(
  flowRun: Pick<FlowRunResponse, "flowName" | "entrypoint">,
  deployment: Pick<DeploymentResponse, "entrypoint" | "bundleId"> | undefined,
): CodeLocation {
  const entrypoint = deployment?.entrypoint ?? flowRun.entrypoint;
  return {
    flowName: flowRun.flowName,
    ...(entrypoint === undefined ? {} : { entrypoint }),
    ...(deployment?.bundleId === undefined ? {} : { bundleId: deployment.bundleId }),
  };
}
