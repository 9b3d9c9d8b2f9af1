import { LambdaClient } from "@aws-sdk/client-lambda";
import { awsClientConfig, type AwsClientOptions } from "./awsClients.js";

/**
 * A Lambda client, pointed at `options.endpoint` or the environment's override when one is set.
 * Its own module, so functions that never invoke Lambda don't bundle it.
 *
 * @example
 * ```ts
 * const lambda = makeLambdaClient();
 * ```
 */
export function makeLambdaClient(options: AwsClientOptions = {}): LambdaClient {
  return new LambdaClient(awsClientConfig("lambda", options));
}
