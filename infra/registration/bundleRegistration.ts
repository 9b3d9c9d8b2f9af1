import { z } from "zod";
import type { DeploymentService } from "../../lambdas/services/deployments.js";
import { NotFoundError } from "../../lambdas/store/store.js";
import { ServiceError } from "../../lambdas/services/errors.js";

/** One deployment a `FlowBundle` keeps pointed at its bundle. */
export const RegisteredDeploymentSchema = z
  .object({
    name: z.string(),
    flow: z.string(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    tags: z.array(z.string()).optional(),
    workPool: z.string().optional(),
    description: z.string().optional(),
    engine: z.enum(["durable", "step-functions"]).optional(),
    /** The deployment's state machine, for engine "step-functions". */
    stateMachineArn: z.string().optional(),
  })
  .strict();
/** One deployment a `FlowBundle` keeps pointed at its bundle. */
export type RegisteredDeployment = z.infer<typeof RegisteredDeploymentSchema>;

/** The custom resource's properties, as CloudFormation passes them (every scalar a string). */
const PropertiesSchema = z.object({
  BundleId: z.string().min(1),
  SourceBucket: z.string().min(1),
  SourceKey: z.string().min(1),
  /** JSON: CloudFormation would turn the numbers and booleans in parameters into strings. */
  Deployments: z.string(),
  RemoveDeploymentsOnDelete: z.enum(["true", "false"]),
});

/** The CloudFormation custom resource event, as the `custom-resources` Provider passes it to onEvent. */
export const RegistrationEventSchema = z.discriminatedUnion("RequestType", [
  z.object({ RequestType: z.literal("Create"), LogicalResourceId: z.string(), ResourceProperties: PropertiesSchema }),
  z.object({
    RequestType: z.literal("Update"),
    LogicalResourceId: z.string(),
    PhysicalResourceId: z.string(),
    ResourceProperties: PropertiesSchema,
    OldResourceProperties: PropertiesSchema,
  }),
  z.object({ RequestType: z.literal("Delete"), LogicalResourceId: z.string(), PhysicalResourceId: z.string(), ResourceProperties: PropertiesSchema }),
]);
/** The CloudFormation custom resource event of a `FlowBundle`'s registration. */
export type RegistrationEvent = z.infer<typeof RegistrationEventSchema>;

/** What onEvent answers the Provider: a physical id that never changes, and the bundle id for `Fn::GetAtt`. */
export interface RegistrationResponse {
  PhysicalResourceId: string;
  Data: { BundleId: string; Deployments: string };
}

/** What a registration needs: the deployments service and a way to copy the staged bundle into place. */
export interface BundleRegistrationDeps {
  deployments: DeploymentService;
  /** Copies `s3://<sourceBucket>/<sourceKey>` to the bundle's place in the payload bucket. */
  copyBundle: (source: { bucket: string; key: string }, bundleId: string) => Promise<void>;
}

/**
 * Handles one custom resource event of a `FlowBundle`. Create and Update copy the bundle to
 * `bundles/<bundleId>/index.mjs`, then create each listed deployment or move it to the bundle (a
 * new revision), so a deployment only ever points at an uploaded bundle. Delete leaves bundles and
 * deployments in place unless `RemoveDeploymentsOnDelete` is "true"; with it, deployments dropped
 * from the list by an Update are removed too. Bundles are never deleted: runs in flight use them.
 *
 * @example
 * ```ts
 * const onEvent = bundleRegistration({ deployments: services.deployments, copyBundle });
 * await onEvent({ RequestType: "Create", LogicalResourceId: "EtlRegistration", ResourceProperties: { … } });
 * ```
 */
export function bundleRegistration(deps: BundleRegistrationDeps): (event: unknown) => Promise<RegistrationResponse> {
  return async (input) => {
    const parsed = RegistrationEventSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`FlowBundle registration: invalid event at ${issue?.path.join(".") ?? "(root)"}: ${issue?.message ?? "unknown"}`);
    }
    const event = parsed.data;
    const properties = event.ResourceProperties;
    const listed = deploymentsOf(properties.Deployments);
    const physicalId = event.RequestType === "Create" ? `aloft-flow-bundle/${event.LogicalResourceId}` : event.PhysicalResourceId;
    const removing = properties.RemoveDeploymentsOnDelete === "true";

    if (event.RequestType === "Delete") {
      if (removing) for (const deployment of listed) await removeIfPresent(deps.deployments, deployment.name);
    } else {
      await deps.copyBundle({ bucket: properties.SourceBucket, key: properties.SourceKey }, properties.BundleId);
      for (const deployment of listed) await upsert(deps.deployments, deployment, properties.BundleId);
      if (event.RequestType === "Update" && removing) {
        const kept = new Set(listed.map((deployment) => deployment.name));
        for (const old of deploymentsOf(event.OldResourceProperties.Deployments)) {
          if (!kept.has(old.name)) await removeIfPresent(deps.deployments, old.name);
        }
      }
    }
    return { PhysicalResourceId: physicalId, Data: { BundleId: properties.BundleId, Deployments: listed.map((deployment) => deployment.name).join(",") } };
  };
}

function deploymentsOf(json: string): RegisteredDeployment[] {
  const parsed = z.array(RegisteredDeploymentSchema).safeParse(JSON.parse(json));
  if (!parsed.success) throw new Error(`FlowBundle registration: invalid Deployments property: ${parsed.error.issues[0]?.message ?? "unknown"}`);
  return parsed.data;
}

/** Creates the deployment on the bundle, or moves an existing one (made by this stack or by hand) to it. */
async function upsert(deployments: DeploymentService, deployment: RegisteredDeployment, bundleId: string): Promise<void> {
  const fields = {
    flowName: deployment.flow,
    bundleId,
    parameters: deployment.parameters ?? {},
    tags: deployment.tags ?? [],
    ...(deployment.workPool === undefined ? {} : { workPool: deployment.workPool }),
    ...(deployment.description === undefined ? {} : { description: deployment.description }),
    engine: deployment.engine ?? "durable",
    ...(deployment.stateMachineArn === undefined ? {} : { stateMachineArn: deployment.stateMachineArn }),
  };
  if ((await exists(deployments, deployment.name)) === false) {
    try {
      await deployments.create({ name: deployment.name, ...fields });
      return;
    } catch (error) {
      // Created meanwhile (by hand, or another stack): it is moved to this bundle below.
      if (!(error instanceof ServiceError && error.code === "ALREADY_EXISTS")) throw error;
    }
  }
  await deployments.update(deployment.name, fields);
}

async function exists(deployments: DeploymentService, name: string): Promise<boolean> {
  try {
    await deployments.get(name);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

async function removeIfPresent(deployments: DeploymentService, name: string): Promise<void> {
  try {
    await deployments.remove(name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof NotFoundError || (error instanceof ServiceError && error.code === "NOT_FOUND");
}
