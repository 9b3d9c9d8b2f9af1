import type { ErrorInfo } from "../../sdk/model/errors.js";
import type { State } from "../../sdk/model/states.js";

/** A flow run as the control plane stores it. */
export interface FlowRunRecord {
  id: string;
  flowName: string;
  name: string;
  deploymentId?: string;
  parentRunId?: string;
  parameters: unknown;
  tags: string[];
  state: State;
  /** Accepted transitions so far; each transition is a conditional write on it. */
  version: number;
  /** Client transition ids of the most recent accepted transitions, oldest first (for idempotent retries). */
  transitionIds?: string[];
  idempotencyKey?: string;
  /** Where the flow's code is (`path/file.ts`, optionally `:export`), so a retry can run it again. */
  entrypoint?: string;
  /** When the run is due (deployment and scheduled runs). */
  scheduledTime?: string;
  createdAt: string;
  startTime?: string;
  endTime?: string;
  /** Flow attempts started (1 on the first RUNNING, +1 on each Retrying / explicit retry). */
  runCount: number;
  /** Step Functions runs: the task token of the approval the run waits for (PAUSED "Suspended"); resume completes it. */
  approvalToken?: string;
  result?: unknown;
  error?: ErrorInfo;
  /** Whether the run holds its concurrency slots (taken on entering RUNNING). */
  holdsSlot?: boolean;
  /** The token of the runner that claimed the run (PENDING); cleared when it is scheduled again. Never shown by the API. */
  runnerToken?: string;
  /** The flow's own retries, reported by the runner with RUNNING: a crashed run with attempts left is re-scheduled. */
  retries?: number;
  /** The runner's last heartbeat (ISO 8601). */
  heartbeatAt?: string;
  /** Where the runner runs, as its heartbeats describe it: what a stop (cancel after the grace period) addresses. */
  runner?: RunnerInfo;
}

/** Where a runner process runs: enough to stop it. */
export interface RunnerInfo {
  kind: "process" | "lambda" | "ecs";
  /** Local runners: the process id (and the host it runs on). */
  pid?: number;
  host?: string;
  /** Fargate runners: the ECS task and its cluster. */
  taskArn?: string;
  clusterArn?: string;
  /** Lambda runners: the invocation's request id. */
  requestId?: string;
}

/** A task run as the control plane stores it. */
export interface TaskRunRecord {
  id: string;
  flowRunId: string;
  taskName: string;
  name: string;
  tags: string[];
  state: State;
  version: number;
  /** As for flow runs. */
  transitionIds?: string[];
  holdsSlot?: boolean;
  attempts: number;
  mapIndex?: number;
  createdAt: string;
  startTime?: string;
  endTime?: string;
}

/** One entry of a run's state history. */
export interface StateHistoryRecord {
  runId: string;
  version: number;
  state: State;
  transitionId?: string;
}

/** A log line as stored. */
export interface LogRecord {
  flowRunId: string;
  taskRunId?: string;
  taskRunName?: string;
  timestamp: string;
  level: "debug" | "info" | "warn" | "error";
  message: string;
  fields?: Record<string, unknown>;
}

/** An artifact as stored. */
export interface ArtifactRecord {
  id: string;
  key: string;
  type: "markdown" | "table" | "link";
  data: unknown;
  description?: string;
  flowRunId: string;
  taskRunId?: string;
  createdAt: string;
}

/** A journal record: the result of one completed call of a run. */
export interface JournalEntryRecord {
  runId: string;
  key: string;
  value: unknown;
  createdAt: string;
}

/** A cached task result. */
export interface CacheRecord {
  key: string;
  value: unknown;
  createdAt: string;
  expiresAt?: string;
}

/** A concurrency limit with its live leases. */
export interface ConcurrencyLimitRecord {
  tag: string;
  limit: number;
  /** Lease id → expiry (ISO 8601). */
  leases: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

/** A deployment: a flow made runnable by the control plane. */
export interface DeploymentRecord {
  id: string;
  name: string;
  flowName: string;
  /** `"path/file.ts:export"` (local pools) … */
  entrypoint?: string;
  /** … or a bundle registered by the CDK FlowBundle construct. */
  bundleId?: string;
  version?: string;
  description?: string;
  parameters: Record<string, unknown>;
  /** JSON Schema of the parameters (from the flow's zod schema). */
  parameterSchema?: Record<string, unknown>;
  tags: string[];
  workPool?: string;
  /** The queue of the work pool its runs go to; absent means `default`. */
  workQueue?: string;
  engine: "durable" | "step-functions";
  /** The state machine runs of a "step-functions" deployment execute in (set by the CDK FlowBundle). */
  stateMachineArn?: string;
  paused: boolean;
  /** Optimistic-locking counter for updates. */
  revision: number;
  createdAt: string;
  updatedAt: string;
}

/** Where a work pool's runs run: the runner Lambda, a Fargate task, or a process on the worker's machine. */
export type WorkPoolType = "lambda" | "fargate" | "local";

/** The job settings a pool gives each runner it starts. */
export interface JobSettings {
  /** MiB (Fargate task memory). */
  memory?: number;
  /** ECS CPU units: 1024 = 1 vCPU (Fargate task CPU). */
  cpu?: number;
  /** Seconds a run may take before its runner gives up. */
  timeout?: number;
  /** Environment variables the runner gets. */
  environment?: Record<string, string>;
  /** The container image Fargate runners run. */
  image?: string;
}

/** One queue of a work pool: runs wait here until a runner takes them, higher priority first. */
export interface WorkPoolQueue {
  name: string;
  /** 1 is the highest. */
  priority: number;
  /** At most this many of its runs at once (PENDING or RUNNING); absent means no limit. */
  concurrencyLimit?: number;
  paused: boolean;
}

/** A work pool: a kind of compute, its default job settings, and its queues. */
export interface WorkPoolRecord {
  name: string;
  type: WorkPoolType;
  description?: string;
  jobSettings: JobSettings;
  queues: WorkPoolQueue[];
  paused: boolean;
  /** Optimistic-locking counter for updates. */
  revision: number;
  createdAt: string;
  updatedAt: string;
}

/** A page of results and the opaque cursor to the next page (absent on the last one). */
export interface Page<T> {
  items: T[];
  cursor?: string;
}

/**
 * A value kept in the payload store (S3 on AWS, a folder locally) instead of in its item: what a
 * record field holds when its value was too large to store inline. It is a class, not a plain
 * object, so that no JSON a user sends can ever be taken for a reference; the store writes it to
 * its own attribute (`ref:<field>`), apart from inline values (`json:<field>`).
 *
 * @example
 * ```ts
 * const ref = new PayloadRef("runs/nightly.3a42/result/9f86….json", 70_000);
 * ref instanceof PayloadRef; // true; JSON.parse never makes one
 * ```
 */
export class PayloadRef {
  constructor(
    /** The payload store key. */
    readonly key: string,
    /** The size of the value's JSON, in bytes. */
    readonly bytes: number,
  ) {}
}
