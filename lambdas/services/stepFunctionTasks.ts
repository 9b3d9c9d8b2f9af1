import type { StepFunctionsControlPlane } from "../../sdk/stepfunctions/taskInvocation.js";
import { inProcessCalls } from "./controlPlaneCalls.js";
import type { Services } from "./index.js";

/**
 * The control plane of a Step Functions task invocation, answered by the services in this process:
 * task runs, states and logs are written straight to the table, and an approval's task token is kept
 * on its run (`FlowRunService.awaitApproval`). The task Lambda and the local server use it.
 *
 * @example
 * ```ts
 * await runStepFunctionsInvocation(event, { controlPlane: stepFunctionsControlPlane(services), payloads });
 * ```
 */
export function stepFunctionsControlPlane(services: Services): StepFunctionsControlPlane {
  return {
    ...inProcessCalls(services),
    awaitApproval: (runId, request) => services.flowRuns.awaitApproval(runId, request),
  };
}
