import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { cachedSecretString } from "../../../lambdas/adapters/secretsManagerSecret.js";

const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:WebhookSigningKey-abc";

function mocked(): { client: SecretsManagerClient; mock: ReturnType<typeof mockClient> } {
  const client = new SecretsManagerClient({ region: "eu-west-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } });
  return { client, mock: mockClient(client) };
}

describe("cachedSecretString", () => {
  it("fetches the secret once, on first use, and serves it from memory afterwards", async () => {
    const { client, mock } = mocked();
    mock.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: "k3y" });
    let made = 0;
    const secret = cachedSecretString(async () => (made++, client), ARN);
    expect(made).toBe(0);
    expect(await Promise.all([secret(), secret()])).toEqual(["k3y", "k3y"]);
    expect(await secret()).toBe("k3y");
    expect(made).toBe(1);
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it("fetches again after a failed fetch instead of keeping the failure", async () => {
    const { client, mock } = mocked();
    mock.on(GetSecretValueCommand).rejectsOnce(new Error("throttled")).resolves({ SecretString: "k3y" });
    const secret = cachedSecretString(async () => client, ARN);
    await expect(secret()).rejects.toThrow("throttled");
    expect(await secret()).toBe("k3y");
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it("refuses a secret without a string value, naming the secret", async () => {
    const { client, mock } = mocked();
    mock.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1]) });
    await expect(cachedSecretString(async () => client, ARN)()).rejects.toThrow(`secret ${ARN} has no string value`);
  });
});
