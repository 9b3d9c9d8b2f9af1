import type { DeploymentRecord, FlowRunRecord, Page } from "../store/records.js";
import type { PageRequest } from "../store/store.js";
import { AlreadyExistsError, VersionConflictError } from "../store/store.js";
import type { ServiceDeps } from "./context.js";
import { notFound, ServiceError } from "./errors.js";
import type { FlowRunService } from "./flowRuns.js";
import { deploymentPoolProblems } from "./workPools.js";

/** `POST /v1/deployments`, validated: a deployment's own fields, most of them optional. */
export type CreateDeploymentInput = Pick<DeploymentRecord, "name" | "flowName"> &
  Partial<Pick<DeploymentRecord, "entrypoint" | "bundleId" | "version" | "description" | "parameters" | "parameterSchema" | "tags" | "workPool" | "workQueue" | "engine" | "stateMachineArn" | "paused">>;

/** `PATCH /v1/deployments/{id}`, validated. */
export type UpdateDeploymentInput = Partial<Omit<CreateDeploymentInput, "name">>;

/**
 * Deployments: a flow made runnable by the control plane, by name or id.
 *
 * @example
 * ```ts
 * const deployments = new DeploymentService(deps, flowRuns);
 * await deployments.create({ name: "nightly-etl", flowName: "etl", entrypoint: "flows/etl.ts:etl" });
 * const { run } = await deployments.run("nightly-etl", { parameters: { day: "2026-11-01" } });
 * ```
 */
export class DeploymentService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly flowRuns: FlowRunService,
  ) {}

  async create(input: CreateDeploymentInput): Promise<DeploymentRecord> {
    const at = new Date(this.deps.now()).toISOString();
    const deployment: DeploymentRecord = {
      id: this.deps.newId(),
      name: input.name,
      flowName: input.flowName,
      parameters: input.parameters ?? {},
      tags: [...new Set(input.tags ?? [])],
      engine: input.engine ?? "durable",
      paused: input.paused ?? false,
      revision: 1,
      createdAt: at,
      updatedAt: at,
    };
    for (const key of ["entrypoint", "bundleId", "version", "description", "parameterSchema", "workPool", "workQueue", "stateMachineArn"] as const) {
      if (input[key] !== undefined) (deployment as unknown as Record<string, unknown>)[key] = input[key];
    }
    await this.checkPool(input.workPool, input.workQueue);
    try {
      return await this.deps.store.createDeployment(deployment);
    } catch (error) {
      if (error instanceof AlreadyExistsError) {
        throw new ServiceError("ALREADY_EXISTS", `a deployment named "${input.name}" already exists`, [
          { field: "body.name", message: "already taken" },
        ]);
      }
      throw error;
    }
  }

  /** By id or by name. */
  async get(idOrName: string): Promise<DeploymentRecord> {
    const { store } = this.deps;
    return (await store.getDeploymentById(idOrName)) ?? (await store.getDeploymentByName(idOrName)) ?? notFound("deployment", idOrName);
  }

  list(page: PageRequest): Promise<Page<DeploymentRecord>> {
    return this.deps.store.listDeployments(page);
  }

  async update(idOrName: string, patch: UpdateDeploymentInput): Promise<DeploymentRecord> {
    for (let round = 0; round < 5; round++) {
      const current = await this.get(idOrName);
      const next: DeploymentRecord = { ...current, updatedAt: new Date(this.deps.now()).toISOString(), revision: current.revision + 1 };
      for (const [key, value] of Object.entries(patch)) {
        if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = key === "tags" ? [...new Set(value as string[])] : value;
      }
      if ((next.entrypoint === undefined) === (next.bundleId === undefined)) {
        throw new ServiceError("VALIDATION", "a deployment needs exactly one of entrypoint and bundleId", [
          { field: "body.entrypoint", message: "give exactly one of entrypoint and bundleId" },
        ]);
      }
      if (patch.workPool !== undefined || patch.workQueue !== undefined) await this.checkPool(next.workPool, next.workQueue);
      try {
        return await this.deps.store.updateDeployment(next, current.revision);
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
      }
    }
    throw new ServiceError("CONFLICT", `deployment ${idOrName} is changing too fast; try again`);
  }

  /** A deployment's work pool must exist and have its queue: a 400 naming the field otherwise. */
  private async checkPool(workPool: string | undefined, workQueue: string | undefined): Promise<void> {
    const problems = await deploymentPoolProblems(this.deps.store, workPool, workQueue);
    if (problems.length > 0) throw new ServiceError("VALIDATION", problems.map((problem) => `${problem.field}: ${problem.message}`).join("; "), problems);
  }

  async remove(idOrName: string): Promise<void> {
    const deployment = await this.get(idOrName);
    if (!(await this.deps.store.deleteDeployment(deployment.name))) notFound("deployment", idOrName);
  }

  /**
   * Creates a run of the deployment: its default parameters overlaid with the given ones, its tags
   * plus the given ones, SCHEDULED for `scheduledTime` (now by default). A paused deployment refuses.
   */
  async run(
    idOrName: string,
    input: { parameters?: Record<string, unknown>; idempotencyKey?: string; tags?: string[]; scheduledTime?: string },
  ): Promise<{ run: FlowRunRecord; created: boolean }> {
    const deployment = await this.get(idOrName);
    if (deployment.paused) throw new ServiceError("CONFLICT", `deployment "${deployment.name}" is paused; resume it to create runs`);
    const outcome = await this.flowRuns.create({
      flowName: deployment.flowName,
      deploymentId: deployment.id,
      parameters: { ...deployment.parameters, ...input.parameters },
      tags: [...deployment.tags, ...(input.tags ?? [])],
      initialState: "SCHEDULED",
      ...(deployment.entrypoint === undefined ? {} : { entrypoint: deployment.entrypoint }),
      ...(input.idempotencyKey === undefined ? {} : { idempotencyKey: input.idempotencyKey }),
      ...(input.scheduledTime === undefined ? {} : { scheduledTime: input.scheduledTime }),
    });
    if (outcome.created && this.deps.onDeploymentRunCreated) await this.deps.onDeploymentRunCreated(outcome.run, deployment);
    return outcome;
  }
}
