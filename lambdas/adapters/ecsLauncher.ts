import type { ECSClient } from "@aws-sdk/client-ecs";
import { lazyClient, type ClientSource } from "./awsClients.js";
import { awsSdk } from "./awsSdk.js";
import type { ComputeLauncher, LaunchRequest } from "../services/ports.js";

/** The runner task definition's container that receives `ALOFT_RUN_ID`. */
export const RUNNER_CONTAINER_NAME = "runner";

/** Where Fargate runner tasks start. */
export interface FargateRunnerConfig {
  clusterArn: string;
  /** Family, family:revision or ARN; its runtime platform (ARM64) and image come with it. */
  taskDefinition: string;
  subnets: string[];
  securityGroup: string;
  /** `ENABLED` only for public subnets without a NAT gateway; `DISABLED` by default. */
  assignPublicIp?: "ENABLED" | "DISABLED";
}

/**
 * Runs a flow in a Fargate task: `RunTask` of the runner task definition in the cluster's awsvpc
 * subnets, with `ALOFT_RUN_ID` set on the {@link RUNNER_CONTAINER_NAME} container. A task ECS
 * could not place (a `failures` entry) is a launch failure. Given a client factory, it loads the ECS
 * SDK on its first launch.
 *
 * @example
 * ```ts
 * const launcher = new EcsComputeLauncher(() => loadEcsClient(), { clusterArn, taskDefinition, subnets, securityGroup });
 * await launcher.launch({ runId, workPool: "fargate" });
 * ```
 */
export class EcsComputeLauncher implements ComputeLauncher {
  private readonly client: () => Promise<ECSClient>;

  constructor(
    client: ClientSource<ECSClient>,
    private readonly config: FargateRunnerConfig,
  ) {
    this.client = lazyClient(client);
  }

  async launch(request: LaunchRequest): Promise<void> {
    const { clusterArn, taskDefinition, subnets, securityGroup, assignPublicIp = "DISABLED" } = this.config;
    const client = await this.client();
    const { RunTaskCommand } = awsSdk("@aws-sdk/client-ecs");
    const output = await client.send(
      new RunTaskCommand({
        cluster: clusterArn,
        taskDefinition,
        launchType: "FARGATE",
        count: 1,
        startedBy: "aloft-dispatcher",
        networkConfiguration: { awsvpcConfiguration: { subnets, securityGroups: [securityGroup], assignPublicIp } },
        overrides: { containerOverrides: [{ name: RUNNER_CONTAINER_NAME, environment: [{ name: "ALOFT_RUN_ID", value: request.runId }] }] },
      }),
    );
    const failure = output.failures?.[0];
    if (failure || (output.tasks ?? []).length === 0) {
      const why = failure ? `${failure.reason ?? "unknown reason"}${failure.detail ? ` (${failure.detail})` : ""}` : "no task was started";
      throw new Error(`ECS did not start the runner task for flow run ${request.runId}: ${why}`);
    }
  }
}
