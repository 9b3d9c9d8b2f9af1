import type { LambdaClient } from "@aws-sdk/client-lambda";
import { lazyClient, type ClientSource } from "./awsClients.js";
import { awsSdk } from "./awsSdk.js";
import type { ComputeLauncher, LaunchRequest } from "../services/ports.js";
import type { RunnerInfo } from "../store/records.js";

/** The event the runner Lambda receives: the run, the claim token, and the pool's job settings that apply to a Lambda. */
export interface LambdaRunnerEvent {
  runId: string;
  runnerToken?: string;
  /** The pool's timeout: the runner gives up on the run after this many seconds. */
  timeoutSeconds?: number;
  /** The pool's environment, set for the flow while it runs. */
  environment?: Record<string, string>;
}

/**
 * Runs a flow in the runner Lambda: an asynchronous invoke (`InvocationType: "Event"`) with a
 * {@link LambdaRunnerEvent} payload. Lambda queues the event and answers 202 at once. Memory, CPU
 * and image are the runner function's own configuration (set in the CDK), so a lambda pool's job
 * settings carry only a timeout and environment. Given a client factory, it loads the Lambda SDK
 * on its first launch.
 *
 * @example
 * ```ts
 * const launcher = new LambdaComputeLauncher(() => loadLambdaClient(), process.env.ALOFT_RUNNER_FUNCTION!);
 * const runner = await launcher.launch({ runId, runnerToken, job: { timeout: 600 } }); // { kind: "lambda", requestId }
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

  async launch(request: LaunchRequest): Promise<RunnerInfo> {
    const client = await this.client();
    const { InvokeCommand } = awsSdk("@aws-sdk/client-lambda");
    const event: LambdaRunnerEvent = { runId: request.runId };
    if (request.runnerToken !== undefined) event.runnerToken = request.runnerToken;
    if (request.job?.timeout !== undefined) event.timeoutSeconds = request.job.timeout;
    if (request.job?.environment && Object.keys(request.job.environment).length > 0) event.environment = request.job.environment;
    const output = await client.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: "Event",
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
    if (output.StatusCode !== undefined && output.StatusCode !== 202) {
      throw new Error(`Lambda did not queue the runner for flow run ${request.runId}: status ${output.StatusCode}${output.FunctionError ? ` (${output.FunctionError})` : ""}`);
    }
    const requestId = output.$metadata?.requestId;
    return { kind: "lambda", ...(requestId === undefined ? {} : { requestId }) };
  }

  /**
   * Lambda has no way to stop one invocation, so this always answers false: a runner on Lambda
   * stops by itself when its heartbeat answers `cancel` or `stop`, and at the latest at the
   * function's timeout.
   */
  async stop(_runner: RunnerInfo, _reason: string): Promise<boolean> {
    return false;
  }
}
