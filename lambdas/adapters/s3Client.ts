import { S3Client } from "@aws-sdk/client-s3";
import { s3ClientConfig, type AwsClientOptions } from "./awsClients.js";

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
  return new S3Client(s3ClientConfig(options));
}
