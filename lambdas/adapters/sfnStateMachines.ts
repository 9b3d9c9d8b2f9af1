import type { SFNClient } from "@aws-sdk/client-sfn";
import { awsClientConfig, lazyClient, type AwsClientOptions, type ClientSource } from "./awsClients.js";
import { awsSdk } from "./awsSdk.js";
import type { StartExecutionRequest, StateMachines, StopExecutionRequest } from "../services/ports.js";

/**
 * A Step Functions client (endpoint override `AWS_ENDPOINT_URL_SFN`), the SDK package being loaded
 * only now: only the deliveries of step-functions deployments need it.
 *
 * @example
 * ```ts
 * const stateMachines = new SfnStateMachines(() => loadSfnClient());
 * ```
 */
export async function loadSfnClient(options: AwsClientOptions = {}): Promise<SFNClient> {
  const { SFNClient } = awsSdk("@aws-sdk/client-sfn");
  return new SFNClient(awsClientConfig("sfn", options));
}

/**
 * Starts flow runs as Step Functions executions: `StartExecution` named after the run id, with the
 * input `{"params": …}` the compiled definitions read. Step Functions refuses a second execution of
 * one name in a state machine (`ExecutionAlreadyExists`, for 90 days on Standard workflows): the
 * run's execution was started by an earlier delivery, so its ARN is returned and nothing else
 * starts. A stop is `StopExecution` of that execution with the error `Aloft.Cancelled` and the reason
 * as its cause.
 *
 * @example
 * ```ts
 * const stateMachines = new SfnStateMachines(() => loadSfnClient());
 * await stateMachines.start({ stateMachineArn, runId, input: { params: {} } });
 * ```
 */
export class SfnStateMachines implements StateMachines {
  private readonly client: () => Promise<SFNClient>;

  constructor(client: ClientSource<SFNClient>) {
    this.client = lazyClient(client);
  }

  async start(request: StartExecutionRequest): Promise<{ executionArn: string }> {
    const client = await this.client();
    const { StartExecutionCommand } = awsSdk("@aws-sdk/client-sfn");
    try {
      const output = await client.send(
        new StartExecutionCommand({ stateMachineArn: request.stateMachineArn, name: request.runId, input: JSON.stringify(request.input) }),
      );
      if (output.executionArn === undefined) throw new Error(`Step Functions answered StartExecution for flow run ${request.runId} without an execution ARN`);
      return { executionArn: output.executionArn };
    } catch (error) {
      if ((error as { name?: unknown }).name === "ExecutionAlreadyExists") return { executionArn: executionArnOf(request) };
      throw error;
    }
  }

  async stop(request: StopExecutionRequest): Promise<boolean> {
    const client = await this.client();
    const { StopExecutionCommand } = awsSdk("@aws-sdk/client-sfn");
    try {
      await client.send(new StopExecutionCommand({ executionArn: executionArnOf(request), error: "Aloft.Cancelled", cause: request.reason.slice(0, 32_768) }));
      return true;
    } catch (error) {
      // No execution of that name: never started, or an Express machine (whose executions have other ARNs and cannot be stopped).
      if ((error as { name?: unknown }).name === "ExecutionDoesNotExist") return false;
      throw error;
    }
  }
}

/** `arn:…:execution:<state machine>:<name>`: a Standard execution's ARN is its machine's ARN, re-typed, plus its name. */
function executionArnOf(request: { stateMachineArn: string; runId: string }): string {
  return `${request.stateMachineArn.replace(":stateMachine:", ":execution:")}:${request.runId}`;
}
