// Each loader imports its SDK module with a dynamic import(): a bundled function keeps the module
// external, and Node loads it on the first call rather than when the function starts. (A static
// import, even in a module imported dynamically, would be hoisted to the bundle's top.)
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { awsClientConfig, s3ClientConfig, type AwsClientOptions } from "./awsClients.js";

/**
 * An S3 client made as `makeS3Client` makes it, the S3 SDK module being imported only now.
 *
 * @example
 * ```ts
 * const payloads = new S3PayloadStore(() => loadS3Client(), bucket);
 * ```
 */
export async function loadS3Client(options: AwsClientOptions = {}): Promise<S3Client> {
  const { S3Client } = await import("@aws-sdk/client-s3");
  return new S3Client(s3ClientConfig(options));
}

/**
 * An SQS client made as `makeSqsClient` makes it, the SQS SDK module being imported only now.
 *
 * @example
 * ```ts
 * const queue = new SqsWorkQueue(() => loadSqsClient(), queueUrl);
 * ```
 */
export async function loadSqsClient(options: AwsClientOptions = {}): Promise<SQSClient> {
  const { SQSClient } = await import("@aws-sdk/client-sqs");
  return new SQSClient(awsClientConfig("sqs", options));
}

/**
 * A Lambda client made as `makeLambdaClient` makes it, the Lambda SDK module being imported only now.
 *
 * @example
 * ```ts
 * const launcher = new LambdaComputeLauncher(() => loadLambdaClient(), runnerFunction);
 * ```
 */
export async function loadLambdaClient(options: AwsClientOptions = {}): Promise<LambdaClient> {
  const { LambdaClient } = await import("@aws-sdk/client-lambda");
  return new LambdaClient(awsClientConfig("lambda", options));
}

/**
 * An ECS client made as `makeEcsClient` makes it, the ECS SDK module being imported only now.
 *
 * @example
 * ```ts
 * const launcher = new EcsComputeLauncher(() => loadEcsClient(), fargateConfig);
 * ```
 */
export async function loadEcsClient(options: AwsClientOptions = {}): Promise<ECSClient> {
  const { ECSClient } = await import("@aws-sdk/client-ecs");
  return new ECSClient(awsClientConfig("ecs", options));
}
