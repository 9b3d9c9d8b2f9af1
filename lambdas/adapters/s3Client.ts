import { S3Client } from "@aws-sdk/client-s3";
import { awsClientConfig, type AwsClientOptions } from "./awsClients.js";

/**
 * An S3 client, pointed at `options.endpoint` or the environment's override when one is set (path-style
 * addressing for emulators). Its own module, so functions that never touch S3 don't bundle it.
 *
 * @example
 * ```ts
 * const s3 = makeS3Client({ endpoint: "http://127.0.0.1:5000" });
 * ```
 */
export function makeS3Client(options: AwsClientOptions = {}): S3Client {
  const config = awsClientConfig("s3", options);
  return new S3Client({ ...config, forcePathStyle: config.endpoint !== undefined });
}
