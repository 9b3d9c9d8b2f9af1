import { createHash } from "node:crypto";
import type { ECSClient, KeyValuePair, RegisterTaskDefinitionCommandInput, TaskDefinition, TaskOverride } from "@aws-sdk/client-ecs";
import { lazyClient, type ClientSource } from "./awsClients.js";
import { awsSdk } from "./awsSdk.js";
import type { ComputeLauncher, LaunchRequest } from "../services/ports.js";
import type { RunnerInfo } from "../store/records.js";

/** The runner task definition's container that receives `ALOFT_RUN_ID`. */
export const RUNNER_CONTAINER_NAME = "runner";

/** ECS keeps at most this much of a stop reason. */
const MAX_STOP_REASON = 255;

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
 * subnets. The {@link RUNNER_CONTAINER_NAME} container gets `ALOFT_RUN_ID`, `ALOFT_RUNNER_TOKEN`,
 * `ALOFT_JOB_TIMEOUT_SECONDS` (the pool's timeout) and the pool's environment; the pool's cpu and
 * memory override the task's (and the container's). ECS cannot override an image per task, so a
 * pool with its own `image` runs a copy of the runner task definition with that image, registered
 * once under the family `<runner family>-<hash of the image>` and reused after. A task ECS could
 * not place (a `failures` entry) is a launch failure. Given a client factory, it loads the ECS SDK
 * on its first launch.
 *
 * @example
 * ```ts
 * const launcher = new EcsComputeLauncher(() => loadEcsClient(), { clusterArn, taskDefinition, subnets, securityGroup });
 * const runner = await launcher.launch({ runId, runnerToken, workPool: "fargate", job: { cpu: 1024, memory: 4096 } });
 * await launcher.stop(runner, "cancelled by the user");
 * ```
 */
export class EcsComputeLauncher implements ComputeLauncher {
  private readonly client: () => Promise<ECSClient>;
  /** Task definition ARN by image, as registered (or found) by this launcher. */
  private readonly imageTaskDefinitions = new Map<string, Promise<string>>();

  constructor(
    client: ClientSource<ECSClient>,
    private readonly config: FargateRunnerConfig,
  ) {
    this.client = lazyClient(client);
  }

  async launch(request: LaunchRequest): Promise<RunnerInfo> {
    const { clusterArn, subnets, securityGroup, assignPublicIp = "DISABLED" } = this.config;
    const job = request.job ?? {};
    const client = await this.client();
    const { RunTaskCommand } = awsSdk("@aws-sdk/client-ecs");
    const taskDefinition = job.image === undefined ? this.config.taskDefinition : await this.taskDefinitionWithImage(job.image);
    const environment: KeyValuePair[] = [{ name: "ALOFT_RUN_ID", value: request.runId }];
    if (request.runnerToken !== undefined) environment.push({ name: "ALOFT_RUNNER_TOKEN", value: request.runnerToken });
    if (job.timeout !== undefined) environment.push({ name: "ALOFT_JOB_TIMEOUT_SECONDS", value: String(job.timeout) });
    for (const [name, value] of Object.entries(job.environment ?? {})) environment.push({ name, value });
    const overrides: TaskOverride = {
      ...(job.cpu === undefined ? {} : { cpu: String(job.cpu) }),
      ...(job.memory === undefined ? {} : { memory: String(job.memory) }),
      containerOverrides: [
        {
          name: RUNNER_CONTAINER_NAME,
          environment,
          ...(job.cpu === undefined ? {} : { cpu: job.cpu }),
          ...(job.memory === undefined ? {} : { memory: job.memory }),
        },
      ],
    };
    const output = await client.send(
      new RunTaskCommand({
        cluster: clusterArn,
        taskDefinition,
        launchType: "FARGATE",
        count: 1,
        startedBy: "aloft-dispatcher",
        networkConfiguration: { awsvpcConfiguration: { subnets, securityGroups: [securityGroup], assignPublicIp } },
        overrides,
      }),
    );
    const failure = output.failures?.[0];
    const taskArn = output.tasks?.[0]?.taskArn;
    if (failure || taskArn === undefined) {
      const why = failure ? `${failure.reason ?? "unknown reason"}${failure.detail ? ` (${failure.detail})` : ""}` : "no task was started";
      throw new Error(`ECS did not start the runner task for flow run ${request.runId}: ${why}`);
    }
    return { kind: "ecs", taskArn, clusterArn };
  }

  /**
   * Stops a runner's Fargate task (`StopTask`, with the reason ECS records on the task). False for a
   * runner that is not an ECS task, or a task ECS does not know.
   */
  async stop(runner: RunnerInfo, reason: string): Promise<boolean> {
    if (runner.kind !== "ecs" || runner.taskArn === undefined) return false;
    const client = await this.client();
    const { StopTaskCommand } = awsSdk("@aws-sdk/client-ecs");
    try {
      await client.send(new StopTaskCommand({ cluster: runner.clusterArn ?? this.config.clusterArn, task: runner.taskArn, reason: reason.slice(0, MAX_STOP_REASON) }));
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === "InvalidParameterException") return false;
      throw error;
    }
  }

  /** The runner task definition with `image` in its runner container: found, or registered once. */
  private taskDefinitionWithImage(image: string): Promise<string> {
    let pending = this.imageTaskDefinitions.get(image);
    if (!pending) {
      pending = this.findOrRegister(image);
      // A failure is not remembered: the next launch tries again.
      pending.catch(() => this.imageTaskDefinitions.delete(image));
      this.imageTaskDefinitions.set(image, pending);
    }
    return pending;
  }

  private async findOrRegister(image: string): Promise<string> {
    const client = await this.client();
    const { DescribeTaskDefinitionCommand, RegisterTaskDefinitionCommand } = awsSdk("@aws-sdk/client-ecs");
    const base = (await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: this.config.taskDefinition }))).taskDefinition;
    if (!base?.family || !base.containerDefinitions?.some((container) => container.name === RUNNER_CONTAINER_NAME)) {
      throw new Error(`task definition ${this.config.taskDefinition} has no "${RUNNER_CONTAINER_NAME}" container to run image ${image} in`);
    }
    const family = `${base.family}-${createHash("sha256").update(image).digest("hex").slice(0, 12)}`;
    const existing = await this.describeFamily(client, family);
    if (existing?.taskDefinitionArn && runnerImageOf(existing) === image && sameShape(existing, base)) return existing.taskDefinitionArn;
    const registered = await client.send(new RegisterTaskDefinitionCommand(copyWithImage(base, family, image)));
    const arn = registered.taskDefinition?.taskDefinitionArn;
    if (arn === undefined) throw new Error(`ECS registered no task definition for image ${image}`);
    return arn;
  }

  private async describeFamily(client: ECSClient, family: string): Promise<TaskDefinition | undefined> {
    const { DescribeTaskDefinitionCommand } = awsSdk("@aws-sdk/client-ecs");
    try {
      return (await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: family }))).taskDefinition;
    } catch (error) {
      // ECS answers a family it has never seen with ClientException.
      if (error instanceof Error && error.name === "ClientException") return undefined;
      throw error;
    }
  }
}

function runnerImageOf(definition: TaskDefinition): string | undefined {
  return definition.containerDefinitions?.find((container) => container.name === RUNNER_CONTAINER_NAME)?.image;
}

/** Whether a registered copy still matches the runner task definition it was made from (roles, size, platform). */
function sameShape(copy: TaskDefinition, base: TaskDefinition): boolean {
  return (
    copy.taskRoleArn === base.taskRoleArn &&
    copy.executionRoleArn === base.executionRoleArn &&
    copy.cpu === base.cpu &&
    copy.memory === base.memory &&
    JSON.stringify(copy.runtimePlatform) === JSON.stringify(base.runtimePlatform)
  );
}

/** The registration of `base` under `family` with the runner container's image replaced. */
function copyWithImage(base: TaskDefinition, family: string, image: string): RegisterTaskDefinitionCommandInput {
  const input: RegisterTaskDefinitionCommandInput = {
    family,
    containerDefinitions: (base.containerDefinitions ?? []).map((container) => (container.name === RUNNER_CONTAINER_NAME ? { ...container, image } : container)),
  };
  const copied = ["taskRoleArn", "executionRoleArn", "networkMode", "volumes", "placementConstraints", "requiresCompatibilities", "cpu", "memory", "pidMode", "ipcMode", "proxyConfiguration", "inferenceAccelerators", "ephemeralStorage", "runtimePlatform", "enableFaultInjection"] as const;
  for (const key of copied) {
    if (base[key] !== undefined) (input as unknown as Record<string, unknown>)[key] = base[key];
  }
  return input;
}
