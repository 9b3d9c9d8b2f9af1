import { SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, test } from "vitest";
import { LocalStepFunctionsCallbacks } from "../../../lambdas/adapters/localStepFunctionsCallbacks.js";
import { SfnStepFunctionsCallbacks } from "../../../lambdas/adapters/sfnStepFunctionsCallbacks.js";
import { waitForLocalTaskToken } from "../../../sdk/stepfunctions/localTaskTokens.js";

function mocked(): { client: SFNClient; mock: ReturnType<typeof mockClient> } {
  const client = new SFNClient({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
  return { client, mock: mockClient(client) };
}

describe("SfnStepFunctionsCallbacks", () => {
  test("sends SendTaskSuccess with the token and the output as JSON", async () => {
    const { client, mock } = mocked();
    mock.on(SendTaskSuccessCommand).resolves({});

    expect(await new SfnStepFunctionsCallbacks(client).sendTaskSuccess("AQB-token", { approved: true, input: { by: "ada" } })).toBe(true);

    expect(mock.commandCalls(SendTaskSuccessCommand).map((call) => call.args[0].input)).toEqual([
      { taskToken: "AQB-token", output: '{"approved":true,"input":{"by":"ada"}}' },
    ]);
  });

  test("answers false for a token that timed out or whose execution ended, and throws other errors", async () => {
    const { client, mock } = mocked();
    const named = (name: string) => Object.assign(new Error(name), { name });
    mock.on(SendTaskSuccessCommand).rejectsOnce(named("TaskTimedOut")).rejectsOnce(named("TaskDoesNotExist")).rejectsOnce(named("ThrottlingException"));
    const callbacks = new SfnStepFunctionsCallbacks(client);

    expect(await callbacks.sendTaskSuccess("t1", null)).toBe(false);
    expect(await callbacks.sendTaskSuccess("t2", null)).toBe(false);
    await expect(callbacks.sendTaskSuccess("t3", null)).rejects.toThrow("ThrottlingException");
  });
});

describe("LocalStepFunctionsCallbacks", () => {
  test("completes the waiting local execution once, and answers false for an unknown token", async () => {
    const { token, outcome } = waitForLocalTaskToken();
    const callbacks = new LocalStepFunctionsCallbacks();

    expect(await callbacks.sendTaskSuccess(token, { approved: true, input: null })).toBe(true);
    expect(await outcome).toEqual({ output: { approved: true, input: null } });
    expect(await callbacks.sendTaskSuccess(token, { approved: true, input: null })).toBe(false);
  });
});
