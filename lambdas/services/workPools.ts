import type { JobSettings, Page, WorkPoolQueue, WorkPoolRecord, WorkPoolType } from "../store/records.js";
import type { PageRequest, Store } from "../store/store.js";
import { AlreadyExistsError, VersionConflictError } from "../store/store.js";
import type { ServiceDeps } from "./context.js";
import { notFound, ServiceError, type FieldProblem } from "./errors.js";

/** The queue every pool has unless it is given others, and the queue a deployment uses unless it names one. */
export const DEFAULT_QUEUE = "default";

/** The pool the local server creates at start (type `local`). */
export const LOCAL_POOL = "local";

/** A Lambda invocation ends after 15 minutes, so a lambda pool's runs cannot take longer. */
export const MAX_LAMBDA_TIMEOUT_SECONDS = 900;

/** The CPU units Fargate offers (1024 = 1 vCPU), each with the memory (MiB) it can have. */
export const FARGATE_MEMORY_BY_CPU: Readonly<Record<number, { min: number; max: number; step: number }>> = {
  256: { min: 512, max: 2_048, step: 512 },
  512: { min: 1_024, max: 4_096, step: 1_024 },
  1024: { min: 2_048, max: 8_192, step: 1_024 },
  2048: { min: 4_096, max: 16_384, step: 1_024 },
  4096: { min: 8_192, max: 30_720, step: 1_024 },
  8192: { min: 16_384, max: 61_440, step: 4_096 },
  16384: { min: 32_768, max: 122_880, step: 8_192 },
};

/** The lowest priority a queue can have (1 is the highest). */
export const MAX_QUEUE_PRIORITY = 100;

/** Variables Aloft sets on every runner itself; a pool cannot set them. */
const RESERVED_ENVIRONMENT_PREFIX = "ALOFT_";

/** A queue as a create or upsert gives it: everything but the name is optional. */
export interface WorkPoolQueueInput {
  name: string;
  priority?: number;
  concurrencyLimit?: number;
  paused?: boolean;
}

/** `POST /v1/work-pools`, validated by shape. */
export interface CreateWorkPoolInput {
  name: string;
  type: WorkPoolType;
  description?: string;
  jobSettings?: JobSettings;
  /** `[{ name: "default", priority: 1 }]` when absent. */
  queues?: WorkPoolQueueInput[];
  paused?: boolean;
}

/** `PATCH /v1/work-pools/{name}`: each job setting given replaces the pool's; `null` removes it. */
export interface UpdateWorkPoolInput {
  description?: string | null;
  jobSettings?: { [K in keyof JobSettings]?: JobSettings[K] | null };
}

/** `PUT /v1/work-pools/{name}/queues/{queue}`: fields given replace the queue's; `concurrencyLimit: null` removes the limit. */
export interface UpsertWorkPoolQueueInput {
  priority?: number;
  concurrencyLimit?: number | null;
  paused?: boolean;
}

/**
 * Work pools: where deployment runs run (a Lambda, Fargate or local pool), the job settings each
 * runner gets, and the queues runs wait in, highest priority first. Every change is one conditional
 * write on the pool's revision (re-read and retried on a race), and every invalid setting is named
 * in one `VALIDATION` error.
 *
 * @example
 * ```ts
 * const pools = new WorkPoolService(deps);
 * await pools.create({ name: "etl", type: "fargate", jobSettings: { cpu: 1024, memory: 4096 }, queues: [{ name: "default", priority: 1 }, { name: "backfill", priority: 5, concurrencyLimit: 2 }] });
 * await pools.setPaused("etl", true, "backfill");
 * ```
 */
export class WorkPoolService {
  constructor(private readonly deps: ServiceDeps) {}

  async create(input: CreateWorkPoolInput): Promise<WorkPoolRecord> {
    const at = new Date(this.deps.now()).toISOString();
    const pool: WorkPoolRecord = {
      name: input.name,
      type: input.type,
      jobSettings: withoutUndefined(input.jobSettings ?? {}),
      queues: (input.queues ?? [{ name: DEFAULT_QUEUE }]).map(newQueue),
      paused: input.paused ?? false,
      revision: 1,
      createdAt: at,
      updatedAt: at,
    };
    if (input.description !== undefined) pool.description = input.description;
    throwIfInvalid(poolProblems(pool), `work pool "${pool.name}"`);
    try {
      return await this.deps.store.createWorkPool(pool);
    } catch (error) {
      if (error instanceof AlreadyExistsError) {
        throw new ServiceError("ALREADY_EXISTS", `a work pool named "${input.name}" already exists`, [{ field: "body.name", message: "already taken" }]);
      }
      throw error;
    }
  }

  /** The pool named `input.name`, created from `input` when there is none (an existing pool is returned unchanged). */
  async ensure(input: CreateWorkPoolInput): Promise<WorkPoolRecord> {
    const existing = await this.find(input.name);
    if (existing) return existing;
    try {
      return await this.create(input);
    } catch (error) {
      if (error instanceof ServiceError && error.code === "ALREADY_EXISTS") return this.get(input.name);
      throw error;
    }
  }

  /** The pool, or a `NOT_FOUND` error. */
  async get(name: string): Promise<WorkPoolRecord> {
    return (await this.find(name)) ?? notFound("work pool", name);
  }

  /** The pool, or undefined. */
  find(name: string): Promise<WorkPoolRecord | undefined> {
    return this.deps.store.getWorkPool(name);
  }

  list(page: PageRequest): Promise<Page<WorkPoolRecord>> {
    return this.deps.store.listWorkPools(page);
  }

  /** Changes the description and the default job settings. */
  update(name: string, patch: UpdateWorkPoolInput): Promise<WorkPoolRecord> {
    return this.change(name, (pool) => {
      if (patch.description === null) delete pool.description;
      else if (patch.description !== undefined) pool.description = patch.description;
      const settings: Record<string, unknown> = { ...pool.jobSettings };
      for (const [key, value] of Object.entries(patch.jobSettings ?? {})) {
        if (value === null) delete settings[key];
        else if (value !== undefined) settings[key] = value;
      }
      pool.jobSettings = settings as JobSettings;
    });
  }

  /** Pauses or resumes the whole pool, or one of its queues. Runs already taken carry on. */
  setPaused(name: string, paused: boolean, queue?: string): Promise<WorkPoolRecord> {
    return this.change(name, (pool) => {
      if (queue === undefined) {
        pool.paused = paused;
        return;
      }
      const found = pool.queues.find((candidate) => candidate.name === queue) ?? unknownQueue(pool, queue);
      found.paused = paused;
    });
  }

  /** Adds a queue (priority 1 unless given) or changes one. */
  upsertQueue(name: string, queue: string, input: UpsertWorkPoolQueueInput): Promise<WorkPoolRecord> {
    return this.change(name, (pool) => {
      const index = pool.queues.findIndex((candidate) => candidate.name === queue);
      const current = pool.queues[index] ?? newQueue({ name: queue });
      const next: WorkPoolQueue = { ...current };
      if (input.priority !== undefined) next.priority = input.priority;
      if (input.paused !== undefined) next.paused = input.paused;
      if (input.concurrencyLimit === null) delete next.concurrencyLimit;
      else if (input.concurrencyLimit !== undefined) next.concurrencyLimit = input.concurrencyLimit;
      if (index === -1) pool.queues.push(next);
      else pool.queues[index] = next;
    });
  }

  /** Removes a queue; a pool keeps at least one. */
  removeQueue(name: string, queue: string): Promise<WorkPoolRecord> {
    return this.change(name, (pool) => {
      if (!pool.queues.some((candidate) => candidate.name === queue)) unknownQueue(pool, queue);
      if (pool.queues.length === 1) throw new ServiceError("CONFLICT", `queue "${queue}" is the only queue of work pool "${pool.name}"; a pool keeps at least one`);
      pool.queues = pool.queues.filter((candidate) => candidate.name !== queue);
    });
  }

  /** Reads, edits a copy, validates and writes on the read revision; re-reads on a race. */
  private async change(name: string, edit: (pool: WorkPoolRecord) => void): Promise<WorkPoolRecord> {
    for (let round = 0; round < 5; round++) {
      const current = await this.get(name);
      const next: WorkPoolRecord = structuredClone(current);
      edit(next);
      next.updatedAt = new Date(this.deps.now()).toISOString();
      throwIfInvalid(poolProblems(next), `work pool "${name}"`);
      try {
        return await this.deps.store.updateWorkPool(next, current.revision);
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
      }
    }
    throw new ServiceError("CONFLICT", `work pool ${name} is changing too fast; try again`);
  }
}

/**
 * A pool's queues in the order runners take from them: priority 1 first, then by name. Paused
 * queues are included (filter on `paused`).
 *
 * @example
 * ```ts
 * queuesByPriority(pool).filter((queue) => !queue.paused).map((queue) => queue.name); // ["urgent", "default"]
 * ```
 */
export function queuesByPriority(pool: Pick<WorkPoolRecord, "queues">): WorkPoolQueue[] {
  return [...pool.queues].sort((a, b) => a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The queue of a pool a deployment's runs go to: `queueName`, or {@link DEFAULT_QUEUE}; undefined when the pool has none by that name.
 *
 * @example
 * ```ts
 * resolveQueue(pool, deployment.workQueue)?.priority;
 * ```
 */
export function resolveQueue(pool: Pick<WorkPoolRecord, "queues">, queueName: string = DEFAULT_QUEUE): WorkPoolQueue | undefined {
  return pool.queues.find((queue) => queue.name === queueName);
}

/**
 * What is wrong with a deployment's work pool and queue: the pool must exist and have the queue
 * (`default` unless named), and a queue needs a pool. Empty when both are fine.
 *
 * @example
 * ```ts
 * const problems = await deploymentPoolProblems(store, "etl", "backfill"); // [{ field: "body.workQueue", message: "..." }]
 * ```
 */
export async function deploymentPoolProblems(store: Store, workPool: string | undefined, workQueue: string | undefined): Promise<FieldProblem[]> {
  if (workPool === undefined) {
    return workQueue === undefined ? [] : [{ field: "body.workQueue", message: "a work queue belongs to a work pool: give workPool too" }];
  }
  const pool = await store.getWorkPool(workPool);
  if (!pool) return [{ field: "body.workPool", message: `no work pool is named "${workPool}"; create it first (aloft pools create ${workPool} --type <lambda|fargate|local>)` }];
  if (resolveQueue(pool, workQueue)) return [];
  const names = queuesByPriority(pool).map((queue) => queue.name).join(", ");
  return [{ field: "body.workQueue", message: `work pool "${workPool}" has no queue "${workQueue ?? DEFAULT_QUEUE}"; its queues are: ${names}` }];
}

/**
 * Every problem of a pool's settings for its type, with the request field it comes from.
 *
 * @example
 * ```ts
 * poolProblems({ ...pool, type: "lambda", jobSettings: { timeout: 3600 } }); // [{ field: "body.jobSettings.timeout", ... }]
 * ```
 */
export function poolProblems(pool: Pick<WorkPoolRecord, "type" | "jobSettings" | "queues">): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const { memory, cpu, timeout, environment, image } = pool.jobSettings;
  const problem = (field: string, message: string) => problems.push({ field: `body.jobSettings.${field}`, message });
  if (pool.type !== "fargate") {
    const runsIn = pool.type === "lambda" ? "the runner function's configuration sets it for lambda pools" : "local runners are processes on the worker's machine";
    if (memory !== undefined) problem("memory", `memory applies to fargate pools only: ${runsIn}`);
    if (cpu !== undefined) problem("cpu", `cpu applies to fargate pools only: ${runsIn}`);
    if (image !== undefined) problem("image", `image applies to fargate pools only: ${runsIn}`);
  } else {
    const sizes = cpu === undefined ? undefined : FARGATE_MEMORY_BY_CPU[cpu];
    if (cpu !== undefined && !sizes) problem("cpu", `Fargate offers ${Object.keys(FARGATE_MEMORY_BY_CPU).join(", ")} CPU units (1024 = 1 vCPU), not ${cpu}`);
    if (memory !== undefined && sizes && (memory < sizes.min || memory > sizes.max || memory % sizes.step !== 0)) {
      problem("memory", `with ${cpu} CPU units Fargate offers ${sizes.min} to ${sizes.max} MiB in steps of ${sizes.step}, not ${memory}`);
    } else if (memory !== undefined && cpu === undefined && (memory < 512 || memory > 122_880)) {
      problem("memory", `Fargate tasks have 512 to 122880 MiB, not ${memory}`);
    }
  }
  if (timeout !== undefined && pool.type === "lambda" && timeout > MAX_LAMBDA_TIMEOUT_SECONDS) {
    problem("timeout", `a Lambda runner stops after ${MAX_LAMBDA_TIMEOUT_SECONDS} seconds; use a fargate pool for runs longer than that, not ${timeout}`);
  }
  for (const key of Object.keys(environment ?? {})) {
    if (key.startsWith(RESERVED_ENVIRONMENT_PREFIX)) problem(`environment.${key}`, `${RESERVED_ENVIRONMENT_PREFIX}* variables are set by Aloft itself`);
  }
  if (pool.queues.length === 0) problems.push({ field: "body.queues", message: "a pool needs at least one queue" });
  const seen = new Set<string>();
  pool.queues.forEach((queue, index) => {
    if (seen.has(queue.name)) problems.push({ field: `body.queues[${index}].name`, message: `queue "${queue.name}" is listed twice` });
    seen.add(queue.name);
    if (!Number.isInteger(queue.priority) || queue.priority < 1 || queue.priority > MAX_QUEUE_PRIORITY) {
      problems.push({ field: `body.queues[${index}].priority`, message: `a priority is a whole number from 1 (the highest) to ${MAX_QUEUE_PRIORITY}, not ${queue.priority}` });
    }
    if (queue.concurrencyLimit !== undefined && (!Number.isInteger(queue.concurrencyLimit) || queue.concurrencyLimit < 0)) {
      problems.push({ field: `body.queues[${index}].concurrencyLimit`, message: `a concurrency limit is a whole number from 0, not ${queue.concurrencyLimit}` });
    }
  });
  return problems;
}

function newQueue(input: WorkPoolQueueInput): WorkPoolQueue {
  const queue: WorkPoolQueue = { name: input.name, priority: input.priority ?? 1, paused: input.paused ?? false };
  if (input.concurrencyLimit !== undefined) queue.concurrencyLimit = input.concurrencyLimit;
  return queue;
}

function unknownQueue(pool: WorkPoolRecord, queue: string): never {
  throw new ServiceError("NOT_FOUND", `work pool "${pool.name}" has no queue "${queue}"; its queues are: ${queuesByPriority(pool).map((q) => q.name).join(", ")}`);
}

function throwIfInvalid(problems: FieldProblem[], what: string): void {
  if (problems.length === 0) return;
  throw new ServiceError("VALIDATION", `${what} has ${problems.length} invalid setting${problems.length > 1 ? "s" : ""}: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`, problems);
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
