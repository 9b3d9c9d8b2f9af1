import type { LambdaClient } from "@aws-sdk/client-lambda";
import { lazyClient, type ClientSource } from "./awsClients.js";
import { awsSdk } from "./awsSdk.js";
import type { ComputeLauncher, LaunchRequest } from "../services/ports.js";

/**
 * Runs a flow in the runner Lambda: an asynchronous invoke (`InvocationType: "Event"`) with the
 * payload `{ runId }`. Lambda queues the event and answers 202 at once. Given a client factory, it
 * loads the Lambda SDK on its first launch.
 *
 * @example
 * ```ts
 * const launcher = new LambdaComputeLauncher(() => loadLambdaClient(), process.env.ALOFT_RUNNER_FUNCTION!);
 * await launcher.launch({ runId });
 * ```
 */
export class LambdaComputeLauncher implements ComputeLauncher {
  private readonly client: () => Promise<LambdaClient>;

  constructor(
    client: ClientSource<LambdaClient>,
    private readonly functionName: string,
  ) {
    this.client = lazyClient(client);
  }

  async launch(request: LaunchRequest): Promise<void> {
    const client = await this.client();
    const { InvokeCommand } = awsSdk("@aws-sdk/client-lambda");
    const output = await client.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: "Event",
        Payload: new TextEncoder().encode(JSON.stringify({ runId: request.runId })),
      }),
    );
    if (output.StatusCode !== undefined && output.StatusCode !== 202) {
      throw new Error(`Lambda did not queue the runner for flow run ${request.runId}: status ${output.StatusCode}${output.FunctionError ? ` (${output.FunctionError})` : ""}`);
    }
  }
}
