// Each loader loads its SDK package when called (see awsSdk.ts), not when the function starts. A
// static import would not do: esbuild hoists an external import to the top of the bundle, even from
// a module that is itself imported dynamically.
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { awsClientConfig, s3ClientConfig, type AwsClientOptions } from "./awsClients.js";
import { awsSdk } from "./awsSdk.js";

/**
 * An S3 client made as `makeS3Client` makes it, the S3 SDK package being loaded only now.
 *
 * @example
 * ```ts
 * const payloads = new S3PayloadStore(() => loadS3Client(), bucket);
 * ```
 */
export async function loadS3Client(options: AwsClientOptions = {}): Promise<S3Client> {
  const { S3Client } = awsSdk("@aws-sdk/client-s3");
  return new S3Client(s3ClientConfig(options));
}

/**
 * An SQS client made as `makeSqsClient` makes it, the SQS SDK package being loaded only now.
 *
 * @example
 * ```ts
 * const queue = new SqsWorkQueue(() => loadSqsClient(), queueUrl);
 * ```
 */
export async function loadSqsClient(options: AwsClientOptions = {}): Promise<SQSClient> {
  const { SQSClient } = awsSdk("@aws-sdk/client-sqs");
  return new SQSClient(awsClientConfig("sqs", options));
}

/**
 * A Lambda client made as `makeLambdaClient` makes it, the Lambda SDK package being loaded only now.
 *
 * @example
 * ```ts
 * const launcher = new LambdaComputeLauncher(() => loadLambdaClient(), runnerFunction);
 * ```
 */
export async function loadLambdaClient(options: AwsClientOptions = {}): Promise<LambdaClient> {
  const { LambdaClient } = awsSdk("@aws-sdk/client-lambda");
  return new LambdaClient(awsClientConfig("lambda", options));
}

/**
 * An ECS client made as `makeEcsClient` makes it, the ECS SDK package being loaded only now.
 *
 * @example
 * ```ts
 * const launcher = new EcsComputeLauncher(() => loadEcsClient(), fargateConfig);
 * ```
 */
export async function loadEcsClient(options: AwsClientOptions = {}): Promise<ECSClient> {
  const { ECSClient } = awsSdk("@aws-sdk/client-ecs");
  return new ECSClient(awsClientConfig("ecs", options));
}

/**
 * A Secrets Manager client (endpoint override `AWS_ENDPOINT_URL_SECRETS_MANAGER`), the Secrets
 * Manager SDK package being loaded only now.
 *
 * @example
 * ```ts
 * const secret = cachedSecretString(() => loadSecretsManagerClient(), secretArn);
 * ```
 */
export async function loadSecretsManagerClient(options: AwsClientOptions = {}): Promise<SecretsManagerClient> {
  const { SecretsManagerClient } = awsSdk("@aws-sdk/client-secrets-manager");
  return new SecretsManagerClient(awsClientConfig("secrets-manager", options));
}
