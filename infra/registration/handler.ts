import { CopyObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { makeDynamoDbClient } from "../../lambdas/adapters/awsClients.js";
import { requireEnv } from "../../lambdas/adapters/environment.js";
import { makeS3Client } from "../../lambdas/adapters/s3Client.js";
import { serviceDeps } from "../../lambdas/services/context.js";
import { createServices } from "../../lambdas/services/index.js";
import { DynamoDbStore } from "../../lambdas/store/dynamoDbStore.js";
import { bundleRegistration, type RegistrationResponse } from "./bundleRegistration.js";

/**
 * Copies a staged bundle to `s3://<bucket>/<prefix><bundleId>/index.mjs` with one CopyObject (the
 * bucket's default encryption, its KMS key, applies to the copy).
 *
 * @example
 * ```ts
 * await copyBundleTo(s3, "aloft-payloads", "bundles/")({ bucket: "cdk-assets", key: "ab12….mjs" }, "flows-3f2a…");
 * ```
 */
export function copyBundleTo(client: S3Client, bucket: string, prefix: string) {
  return async (source: { bucket: string; key: string }, bundleId: string): Promise<void> => {
    await client.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: `${prefix}${bundleId}/index.mjs`,
        CopySource: `${source.bucket}/${source.key.split("/").map(encodeURIComponent).join("/")}`,
        ContentType: "text/javascript",
        MetadataDirective: "REPLACE",
      }),
    );
  };
}

/**
 * Composes the registration from the function's environment: `ALOFT_TABLE_NAME` (the control
 * plane's table), `ALOFT_PAYLOAD_BUCKET` and `ALOFT_BUNDLE_PREFIX` (where bundles go).
 *
 * @example
 * ```ts
 * const onEvent = registrationFromEnvironment({ ALOFT_TABLE_NAME: "aloft", ALOFT_PAYLOAD_BUCKET: "aloft-payloads", ALOFT_BUNDLE_PREFIX: "bundles/" });
 * ```
 */
export function registrationFromEnvironment(env: NodeJS.ProcessEnv = process.env): (event: unknown) => Promise<RegistrationResponse> {
  const tableName = requireEnv(env, "ALOFT_TABLE_NAME", "the name of the control plane's DynamoDB table");
  const bucket = requireEnv(env, "ALOFT_PAYLOAD_BUCKET", "the bucket flow bundles are copied into");
  const prefix = requireEnv(env, "ALOFT_BUNDLE_PREFIX", 'the key prefix of flow bundles (e.g. "bundles/")');
  const store = new DynamoDbStore({ client: makeDynamoDbClient(), tableName });
  return bundleRegistration({ deployments: createServices(serviceDeps(store)).deployments, copyBundle: copyBundleTo(makeS3Client(), bucket, prefix) });
}

let onEvent: ((event: unknown) => Promise<RegistrationResponse>) | undefined;

/**
 * The onEvent function of a `FlowBundle`'s custom resource (aws-cdk-lib/custom-resources Provider).
 *
 * @example
 * ```ts
 * // infra: new NodejsFunction(this, "Registration", { entry: "infra/registration/handler.ts", handler: "handler" })
 * ```
 */
export async function handler(event: unknown): Promise<RegistrationResponse> {
  onEvent ??= registrationFromEnvironment();
  return onEvent(event);
}
