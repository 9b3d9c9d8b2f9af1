import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import type { ComputeLauncher, LaunchRequest } from "../services/ports.js";

/**
 * Runs a flow in the runner Lambda: an asynchronous invoke (`InvocationType: "Event"`) with the
 * payload `{ runId }`. Lambda queues the event and answers 202 at once.
 *
 * @example
 * ```ts
 * const launcher = new LambdaComputeLauncher(makeLambdaClient(), process.env.ALOFT_RUNNER_FUNCTION!);
 * await launcher.launch({ runId });
 * ```
 */
export class LambdaComputeLauncher implements ComputeLauncher {
  constructor(
    private readonly client: LambdaClient,
    private readonly functionName: string,
  ) {}

  async launch(request: LaunchRequest): Promise<void> {
    const output = await this.client.send(
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
