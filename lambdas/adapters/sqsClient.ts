import { SQSClient } from "@aws-sdk/client-sqs";
import { awsClientConfig, type AwsClientOptions } from "./awsClients.js";

/**
 * An SQS client, pointed at `options.endpoint` or the environment's override when one is set. Its
 * own module, so functions that never touch SQS don't bundle it.
 *
 * @example
 * ```ts
 * const sqs = makeSqsClient({ endpoint: "http://127.0.0.1:5000" });
 * ```
 */
export function makeSqsClient(options: AwsClientOptions = {}): SQSClient {
  return new SQSClient(awsClientConfig("sqs", options));
}
