import type { SFNClient } from "@aws-sdk/client-sfn";
import { lazyClient, type ClientSource } from "./awsClients.js";
import { awsSdk } from "./awsSdk.js";
import type { StepFunctionsCallbacks } from "../services/ports.js";

/** What Step Functions answers for a token that can no longer be completed. */
const GONE = new Set(["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"]);

/**
 * Completes approvals with `SendTaskSuccess` (the client, from `loadSfnClient`, is made on the first
 * resume). A token whose state timed out or whose execution ended answers false.
 *
 * @example
 * ```ts
 * const callbacks = new SfnStepFunctionsCallbacks(() => loadSfnClient());
 * await callbacks.sendTaskSuccess(token, { approved: true, input: null });
 * ```
 */
export class SfnStepFunctionsCallbacks implements StepFunctionsCallbacks {
  private readonly client: () => Promise<SFNClient>;

  constructor(client: ClientSource<SFNClient>) {
    this.client = lazyClient(client);
  }

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<boolean> {
    const client = await this.client();
    const { SendTaskSuccessCommand } = awsSdk("@aws-sdk/client-sfn");
    try {
      await client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output ?? null) }));
      return true;
    } catch (error) {
      if (GONE.has(String((error as { name?: unknown }).name))) return false;
      throw error;
    }
  }
}
