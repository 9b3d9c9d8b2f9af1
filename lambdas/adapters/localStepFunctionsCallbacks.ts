import { completeLocalTaskToken } from "../../sdk/stepfunctions/localTaskTokens.js";
import type { StepFunctionsCallbacks } from "../services/ports.js";

/**
 * Completes approvals of the Step Functions executions running in this process
 * (`runStateMachineLocally`, and the local server's step-functions deployments).
 *
 * @example
 * ```ts
 * const services = createServices(serviceDeps(store, payloads, { stepFunctionsCallbacks: new LocalStepFunctionsCallbacks() }));
 * ```
 */
export class LocalStepFunctionsCallbacks implements StepFunctionsCallbacks {
  async sendTaskSuccess(taskToken: string, output: unknown): Promise<boolean> {
    return completeLocalTaskToken(taskToken, { output });
  }
}
