import type { ArtifactRecord, ConcurrencyLimitRecord, DeploymentRecord, FlowRunRecord, TaskRunRecord, WorkPoolRecord } from "../store/records.js";

/**
 * The API shape of a flow run (internal bookkeeping such as transition ids and slot flags stays in).
 *
 * @example
 * ```ts
 * return json(200, flowRunDto(run));
 * ```
 */
export function flowRunDto(run: FlowRunRecord) {
  return pick(run, ["id", "flowName", "name", "deploymentId", "parentRunId", "parameters", "tags", "state", "version", "idempotencyKey", "scheduledTime", "createdAt", "startTime", "endTime", "runCount", "result", "error", "entrypoint"]);
}

/** The API shape of a task run. */
export function taskRunDto(taskRun: TaskRunRecord) {
  return pick(taskRun, ["id", "flowRunId", "taskName", "name", "tags", "state", "version", "attempts", "mapIndex", "createdAt", "startTime", "endTime"]);
}

/** The API shape of a deployment. */
export function deploymentDto(deployment: DeploymentRecord) {
  return deployment;
}

/** The API shape of a work pool. */
export function workPoolDto(pool: WorkPoolRecord) {
  return pool;
}

/** The API shape of an artifact. */
export function artifactDto(artifact: ArtifactRecord) {
  return artifact;
}

/** The API shape of a concurrency limit: its live leases as a list. */
export function concurrencyLimitDto(limit: ConcurrencyLimitRecord, now: number) {
  const leases = Object.entries(limit.leases)
    .filter(([, expiresAt]) => Date.parse(expiresAt) > now)
    .map(([leaseId, expiresAt]) => ({ leaseId, expiresAt }));
  return { tag: limit.tag, limit: limit.limit, activeSlots: leases.length, leases, createdAt: limit.createdAt, updatedAt: limit.updatedAt };
}

function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}
