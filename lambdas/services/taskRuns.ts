import { makeState } from "../../sdk/model/states.js";
import type { Page, TaskRunRecord } from "../store/records.js";
import type { PageRequest } from "../store/store.js";
import type { ServiceDeps } from "./context.js";
import { notFound, ServiceError } from "./errors.js";
import type { ConcurrencyUsage } from "./orchestration/decision.js";
import { applyProposal, type Proposal, type TransitionOutcome, type TransitionPort } from "./transitions.js";

/** `POST /v1/task-runs`, validated. */
export interface CreateTaskRunInput {
  id?: string;
  flowRunId: string;
  taskName: string;
  name?: string;
  tags?: string[];
  mapIndex?: number;
}

/**
 * How long a task run's concurrency slot is leased when it enters RUNNING. It is released when the
 * run leaves RUNNING; a holder that dies without a final state gives the slot back when this expires.
 */
export const TASK_SLOT_LEASE_SECONDS = 3600;

/**
 * Task-run use cases. Entering RUNNING takes a slot in every concurrency limit named by the task
 * run's tags (`tag:<name>`); a full limit answers WAIT, a limit of 0 ABORT.
 *
 * @example
 * ```ts
 * const taskRuns = new TaskRunService(deps);
 * const { taskRun } = await taskRuns.create({ flowRunId, taskName: "extract" });
 * ```
 */
export class TaskRunService {
  private readonly port: TransitionPort<TaskRunRecord>;

  constructor(private readonly deps: ServiceDeps) {
    const { store } = deps;
    this.port = {
      entity: "task run",
      read: (id) => store.getTaskRun(id),
      write: (id, version, state, patch) => store.transitionTaskRun(id, version, state, patch),
      usages: async (run, now) => {
        const usages: ConcurrencyUsage[] = [];
        for (const tag of run.tags) {
          const limit = await store.getConcurrencyLimit(tag);
          if (!limit) continue;
          const inUse = Object.entries(limit.leases).filter(([leaseId, expiresAt]) => leaseId !== run.id && Date.parse(expiresAt) > now).length;
          usages.push({ name: `tag:${tag}`, limit: limit.limit, inUse });
        }
        return usages;
      },
      takeSlots: async (run, usages, now) => {
        const expiresAt = new Date(now + TASK_SLOT_LEASE_SECONDS * 1000).toISOString();
        const taken: string[] = [];
        for (const usage of usages) {
          const tag = usage.name.slice("tag:".length);
          if ((await store.acquireLease(tag, run.id, expiresAt, new Date(now).toISOString())) === false) {
            await Promise.all(taken.map((t) => store.releaseLease(t, run.id)));
            return false;
          }
          taken.push(tag);
        }
        return true;
      },
      releaseSlots: async (run) => {
        await Promise.all(run.tags.map((tag) => store.releaseLease(tag, run.id)));
      },
      countField: "attempts",
      count: (run) => run.attempts,
    };
  }

  async create(input: CreateTaskRunInput): Promise<{ taskRun: TaskRunRecord; created: boolean }> {
    const { store } = this.deps;
    if (!(await store.getFlowRun(input.flowRunId))) {
      throw new ServiceError("VALIDATION", `flow run ${input.flowRunId} does not exist`, [
        { field: "body.flowRunId", message: `no flow run has id ${input.flowRunId}` },
      ]);
    }
    const now = this.deps.now();
    const id = input.id ?? this.deps.newId();
    const taskRun: TaskRunRecord = {
      id,
      flowRunId: input.flowRunId,
      taskName: input.taskName,
      name: input.name ?? `${input.taskName}-${id.slice(0, 8)}`,
      tags: [...new Set(input.tags ?? [])],
      state: makeState("Pending", now),
      version: 0,
      attempts: 0,
      createdAt: new Date(now).toISOString(),
    };
    if (input.mapIndex !== undefined) taskRun.mapIndex = input.mapIndex;
    return store.createTaskRun(taskRun);
  }

  async get(id: string): Promise<TaskRunRecord> {
    return (await this.deps.store.getTaskRun(id)) ?? notFound("task run", id);
  }

  async listForFlowRun(flowRunId: string, page: PageRequest): Promise<Page<TaskRunRecord>> {
    if (!(await this.deps.store.getFlowRun(flowRunId))) notFound("flow run", flowRunId);
    return this.deps.store.listTaskRuns(flowRunId, page);
  }

  async proposeState(id: string, proposal: Proposal): Promise<TransitionOutcome<TaskRunRecord>> {
    // Runner tokens guard flow runs; a runner may send its token with task-run proposals too.
    const { runnerToken: _token, retries: _retries, ...taskRunProposal } = proposal;
    const outcome = await applyProposal(this.port, id, taskRunProposal, this.deps.now);
    if (!outcome.run) notFound("task run", id);
    return outcome;
  }
}
