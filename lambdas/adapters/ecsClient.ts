import { ECSClient } from "@aws-sdk/client-ecs";
import { awsClientConfig, type AwsClientOptions } from "./awsClients.js";

/**
 * An ECS client, pointed at `options.endpoint` or the environment's override when one is set. Its
 * own module, so functions that never start tasks don't bundle it.
 *
 * @example
 * ```ts
 * const ecs = makeEcsClient();
 * ```
 */
export function makeEcsClient(options: AwsClientOptions = {}): ECSClient {
  return new ECSClient(awsClientConfig("ecs", options));
}
