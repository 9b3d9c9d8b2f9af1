import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsSdk } from "./awsSdk.js";

/**
 * A Secrets Manager secret's string value, fetched on the first call and kept for the life of the
 * execution environment (one GetSecretValue per cold start). A failed fetch is not kept: the next
 * call fetches again. The client comes from `client()`, called once, on the first fetch, so the SDK
 * package is loaded only by the first request that needs the secret.
 *
 * @example
 * ```ts
 * const webhookSecret = cachedSecretString(() => loadSecretsManagerClient(), process.env.ALOFT_WEBHOOK_SECRET_ARN!);
 * const key = await webhookSecret();
 * ```
 */
export function cachedSecretString(client: () => Promise<SecretsManagerClient>, secretId: string): () => Promise<string> {
  let made: Promise<SecretsManagerClient> | undefined;
  let value: Promise<string> | undefined;
  const fetchSecret = async (): Promise<string> => {
    made ??= client().catch((error: unknown) => {
      made = undefined;
      throw error;
    });
    const sdk = await made;
    const { GetSecretValueCommand } = awsSdk("@aws-sdk/client-secrets-manager");
    const output = await sdk.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (typeof output.SecretString !== "string" || output.SecretString === "") {
      throw new Error(`secret ${secretId} has no string value: store the webhook signing key as a SecretString`);
    }
    return output.SecretString;
  };
  return () => {
    value ??= fetchSecret().catch((error: unknown) => {
      value = undefined;
      throw error;
    });
    return value;
  };
}
