/**
 * The typed client's request and response types, inferred from the API's zod schemas: requests are
 * what a caller may pass (`z.input`, defaults optional), responses what the API sends (`z.output`).
 */
import type { z } from "zod";
import type {
  AcquireLeaseRequestSchema,
  ArtifactSchema,
  ConcurrencyLimitSchema,
  CreateArtifactRequestSchema,
  CreateDeploymentRequestSchema,
  CreateDeploymentRunRequestSchema,
  CreateFlowRunRequestSchema,
  CreateLogsRequestSchema,
  CreateTaskRunRequestSchema,
  DeploymentSchema,
  FlowRunSchema,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  ReportCrashRequestSchema,
  JournalEntrySchema,
  LeaseSchema,
  LogSchema,
  ProposeStateRequestSchema,
  ProposeStateResponseSchema,
  StateSchema,
  StateTypeSchema,
  TaskRunSchema,
  UpdateDeploymentRequestSchema,
  CreateWorkPoolRequestSchema,
  UpdateWorkPoolRequestSchema,
  UpsertWorkPoolQueueRequestSchema,
  WorkPoolSchema,
  ClaimRunsRequestSchema,
  ClaimRunsResponseSchema,
} from "./schemas.js";

/**
 * The body of `POST /v1/flow-runs`.
 *
 * @example
 * ```ts
 * const request: CreateFlowRunRequest = { flowName: "etl", parameters: { day: "2026-11-01" }, idempotencyKey: "build-42" };
 * ```
 */
export type CreateFlowRunRequest = z.input<typeof CreateFlowRunRequestSchema>;

/**
 * The body of a state proposal for a flow run or a task run.
 *
 * @example
 * ```ts
 * const proposal: ProposeStateRequest = { state: { type: "COMPLETED" }, result: { rows: 3 }, transitionId: "done-1" };
 * ```
 */
export type ProposeStateRequest = z.input<typeof ProposeStateRequestSchema>;

/**
 * The body of a runner's heartbeat: its claim's token and where it runs.
 *
 * @example
 * ```ts
 * const beat: HeartbeatRequest = { runnerToken, runner: { kind: "process", pid: process.pid } };
 * ```
 */
export type HeartbeatRequest = z.input<typeof HeartbeatRequestSchema>;

/**
 * The body of a crash report: the dead runner's claim token and why it died.
 *
 * @example
 * ```ts
 * const report: ReportCrashRequest = { runnerToken, reason: "runner process 4242 exited with code 1 while loading flows/etl.ts" };
 * ```
 */
export type ReportCrashRequest = z.input<typeof ReportCrashRequestSchema>;

/**
 * The answer to a heartbeat: the run's state and what the runner does next (`continue`, `cancel`, `stop`).
 *
 * @example
 * ```ts
 * const { action }: HeartbeatResult = await client.flowRuns.heartbeat(runId, { runnerToken });
 * ```
 */
export type HeartbeatResult = z.output<typeof HeartbeatResponseSchema>;

/**
 * The body of a worker's claim on a local pool.
 *
 * @example
 * ```ts
 * const request: ClaimRunsRequest = { workerId: "laptop-1", limit: 4, waitSeconds: 10 };
 * ```
 */
export type ClaimRunsRequest = z.input<typeof ClaimRunsRequestSchema>;

/**
 * The runs a claim took, each with its runner token, the run and its deployment.
 *
 * @example
 * ```ts
 * const { items }: ClaimRunsResult = await client.workPools.claim("local", { workerId: "w1" });
 * ```
 */
export type ClaimRunsResult = z.output<typeof ClaimRunsResponseSchema>;

/**
 * The orchestration rules' answer to a proposal: ACCEPT, REJECT, WAIT (with `delaySeconds`) or ABORT.
 *
 * @example
 * ```ts
 * const answer: ProposeStateResult = await client.flowRuns.proposeState(id, { state: { type: "RUNNING" } });
 * if (answer.status === "WAIT") await sleep(answer.delaySeconds! * 1000);
 * ```
 */
export type ProposeStateResult = z.output<typeof ProposeStateResponseSchema>;

/**
 * The body of a cancel, retry or resume action.
 *
 * @example
 * ```ts
 * await client.flowRuns.retry(id, { force: true, transitionId: "operator-retry-1" });
 * ```
 */
export interface RunActionRequest {
  /** Makes the action idempotent: the same id twice is one transition. */
  transitionId?: string;
  /** Retry only: re-open a COMPLETED run too. */
  force?: boolean;
  /** Resume only: what `waitForApproval` returns as `input` in the resumed run. */
  input?: unknown;
}

/**
 * A run state as the API reports it.
 *
 * @example
 * ```ts
 * const state: RunState = (await client.flowRuns.get(id)).state; // { type: "RUNNING", name: "Running", timestamp: "…" }
 * ```
 */
export type RunState = z.output<typeof StateSchema>;

/**
 * A state type: SCHEDULED, PENDING, RUNNING, PAUSED, CANCELLING, COMPLETED, FAILED, CANCELLED or CRASHED.
 *
 * @example
 * ```ts
 * const failed: RunStateType = "FAILED";
 * ```
 */
export type RunStateType = z.output<typeof StateTypeSchema>;

/**
 * A flow run as the API reports it.
 *
 * @example
 * ```ts
 * const run: FlowRunResponse = await client.flowRuns.get(id);
 * console.log(run.state.name, run.result);
 * ```
 */
export type FlowRunResponse = z.output<typeof FlowRunSchema>;

/**
 * The filters and page of `GET /v1/flow-runs` (newest first).
 *
 * @example
 * ```ts
 * const query: ListFlowRunsQuery = { flow: "etl", state: "FAILED", since: "2026-11-01T00:00:00Z", limit: 100 };
 * ```
 */
export interface ListFlowRunsQuery extends PageQuery {
  /** Runs of this flow. */
  flow?: string;
  /** Runs of this deployment (id or name). */
  deployment?: string;
  /** Runs whose current state has this type. */
  state?: RunStateType;
  /** Runs with this tag. */
  tag?: string;
  /** Runs created at or after this ISO 8601 time. */
  since?: string;
  /** Runs created before this ISO 8601 time. */
  until?: string;
}

/**
 * A page request: how many items (1 to 1000, default 50) and the cursor of the previous page.
 *
 * @example
 * ```ts
 * const next: PageQuery = { limit: 100, cursor: page.cursor };
 * ```
 */
export interface PageQuery {
  limit?: number;
  cursor?: string;
}

/**
 * A page of items; `cursor` is present when there may be more.
 *
 * @example
 * ```ts
 * const page: Page<FlowRunResponse> = await client.flowRuns.list({ flow: "etl" });
 * if (page.cursor) await client.flowRuns.list({ flow: "etl", cursor: page.cursor });
 * ```
 */
export interface Page<T> {
  items: T[];
  cursor?: string;
}

/**
 * One entry of a flow run's state history, oldest first.
 *
 * @example
 * ```ts
 * const { items } = await client.flowRuns.history(id);
 * console.log(items.map((entry) => entry.state.name)); // ["Scheduled", "Pending", "Running", "Completed"]
 * ```
 */
export interface StateHistoryEntry {
  runId: string;
  version: number;
  state: RunState;
  transitionId?: string;
}

/**
 * The body of `POST /v1/task-runs`.
 *
 * @example
 * ```ts
 * const request: CreateTaskRunRequest = { id: "run-1:extract-0", flowRunId: "run-1", taskName: "extract" };
 * ```
 */
export type CreateTaskRunRequest = z.input<typeof CreateTaskRunRequestSchema>;

/**
 * A task run as the API reports it.
 *
 * @example
 * ```ts
 * const taskRun: TaskRunResponse = await client.taskRuns.get("run-1:extract-0");
 * ```
 */
export type TaskRunResponse = z.output<typeof TaskRunSchema>;

/**
 * A log line, as sent in a batch and as listed.
 *
 * @example
 * ```ts
 * const line: LogLine = { flowRunId: id, timestamp: new Date().toISOString(), level: "info", message: "loaded 3 rows" };
 * ```
 */
export type LogLine = z.output<typeof LogSchema>;

/**
 * The body of `POST /v1/logs`: 1 to 1000 lines.
 *
 * @example
 * ```ts
 * const batch: CreateLogsRequest = { logs: [line] };
 * ```
 */
export type CreateLogsRequest = z.input<typeof CreateLogsRequestSchema>;

/**
 * The body of `POST /v1/artifacts`.
 *
 * @example
 * ```ts
 * const request: CreateArtifactRequest = { key: "report", type: "markdown", data: "# Done", flowRunId: id };
 * ```
 */
export type CreateArtifactRequest = z.input<typeof CreateArtifactRequestSchema>;

/**
 * An artifact as the API reports it.
 *
 * @example
 * ```ts
 * const artifacts: ArtifactResponse[] = await client.flowRuns.artifacts(id);
 * ```
 */
export type ArtifactResponse = z.output<typeof ArtifactSchema>;

/**
 * A journal entry: the recorded result of one completed call of a run.
 *
 * @example
 * ```ts
 * const entry: JournalEntryResponse = await client.flowRuns.putJournalEntry(id, "extract-0", { rows: 3 });
 * ```
 */
export type JournalEntryResponse = z.output<typeof JournalEntrySchema>;

/**
 * The body of `POST /v1/deployments`: exactly one of `entrypoint` and `bundleId`.
 *
 * @example
 * ```ts
 * const request: CreateDeploymentRequest = { name: "nightly-etl", flowName: "etl", entrypoint: "flows/etl.ts:etl" };
 * ```
 */
export type CreateDeploymentRequest = z.input<typeof CreateDeploymentRequestSchema>;

/**
 * The body of `PATCH /v1/deployments/{id}`: the fields to change.
 *
 * @example
 * ```ts
 * const change: UpdateDeploymentRequest = { paused: true };
 * ```
 */
export type UpdateDeploymentRequest = z.input<typeof UpdateDeploymentRequestSchema>;

/**
 * The body of `POST /v1/deployments/{id}/runs`.
 *
 * @example
 * ```ts
 * const request: RunDeploymentRequest = { parameters: { day: "2026-11-01" }, idempotencyKey: `ci-${process.env.GITHUB_RUN_ID}` };
 * ```
 */
export type RunDeploymentRequest = z.input<typeof CreateDeploymentRunRequestSchema>;

/**
 * A deployment as the API reports it.
 *
 * @example
 * ```ts
 * const deployment: DeploymentResponse = await client.deployments.get("nightly-etl");
 * ```
 */
export type DeploymentResponse = z.output<typeof DeploymentSchema>;

/**
 * The body of `POST /v1/work-pools`.
 *
 * @example
 * ```ts
 * const request: CreateWorkPoolRequest = { name: "etl", type: "fargate", jobSettings: { cpu: 1024, memory: 4096 } };
 * ```
 */
export type CreateWorkPoolRequest = z.input<typeof CreateWorkPoolRequestSchema>;

/**
 * The body of `PATCH /v1/work-pools/{name}`: job settings given replace the pool's, `null` removes one.
 *
 * @example
 * ```ts
 * const change: UpdateWorkPoolRequest = { jobSettings: { timeout: 3600, image: null } };
 * ```
 */
export type UpdateWorkPoolRequest = z.input<typeof UpdateWorkPoolRequestSchema>;

/**
 * The body of `PUT /v1/work-pools/{name}/queues/{queue}`.
 *
 * @example
 * ```ts
 * const queue: UpsertWorkPoolQueueRequest = { priority: 5, concurrencyLimit: 2 };
 * ```
 */
export type UpsertWorkPoolQueueRequest = z.input<typeof UpsertWorkPoolQueueRequestSchema>;

/**
 * A work pool as the API reports it: its type, default job settings and queues.
 *
 * @example
 * ```ts
 * const pool: WorkPoolResponse = await client.workPools.get("etl");
 * ```
 */
export type WorkPoolResponse = z.output<typeof WorkPoolSchema>;

/**
 * A concurrency limit with its live leases.
 *
 * @example
 * ```ts
 * const limit: ConcurrencyLimitResponse = await client.concurrencyLimits.get("warehouse");
 * console.log(`${limit.activeSlots}/${limit.limit}`);
 * ```
 */
export type ConcurrencyLimitResponse = z.output<typeof ConcurrencyLimitSchema>;

/**
 * The body of `POST /v1/concurrency-limits/{tag}/leases`.
 *
 * @example
 * ```ts
 * const request: AcquireLeaseRequest = { ttlSeconds: 300, leaseId: "task-run-7" };
 * ```
 */
export type AcquireLeaseRequest = z.input<typeof AcquireLeaseRequestSchema>;

/**
 * A lease on a concurrency slot.
 *
 * @example
 * ```ts
 * const lease: LeaseResponse = await client.concurrencyLimits.acquire("warehouse", { ttlSeconds: 60 });
 * ```
 */
export type LeaseResponse = z.output<typeof LeaseSchema>;

/**
 * `GET /health`: liveness and the API's version.
 *
 * @example
 * ```ts
 * const { status, version }: HealthResponse = await client.health();
 * ```
 */
export interface HealthResponse {
  status: "ok";
  version: string;
}
