/**
 * `AloftClient`: a typed client for every route of the control-plane API, used by the CLI, the
 * runners and CI scripts. It finds the API and its credentials by itself (see docs/api.md).
 */
import { AloftError } from "../model/errors.js";
import type { AuthMode } from "./credentials.js";
import { Transport, type AloftClientOptions } from "./transport.js";
import type {
  AcquireLeaseRequest,
  ArtifactResponse,
  ConcurrencyLimitResponse,
  CreateArtifactRequest,
  CreateDeploymentRequest,
  CreateFlowRunRequest,
  CreateLogsRequest,
  CreateTaskRunRequest,
  DeploymentResponse,
  FlowRunResponse,
  HealthResponse,
  JournalEntryResponse,
  LeaseResponse,
  ListFlowRunsQuery,
  LogLine,
  Page,
  PageQuery,
  ProposeStateRequest,
  ProposeStateResult,
  HeartbeatRequest,
  HeartbeatResult,
  ReportCrashRequest,
  RunActionRequest,
  RunDeploymentRequest,
  StateHistoryEntry,
  TaskRunResponse,
  UpdateDeploymentRequest,
  CreateWorkPoolRequest,
  UpdateWorkPoolRequest,
  UpsertWorkPoolQueueRequest,
  WorkPoolResponse,
  ClaimRunsRequest,
  ClaimRunsResult,
} from "./types.js";

export type { AloftClientOptions, FetchLike } from "./transport.js";

const segment = encodeURIComponent;

/**
 * The control-plane API, typed. Construct it with no options in a CI job or on a laptop: the URL
 * comes from `ALOFT_API_URL`, `aloft login`, or the local server's default; the credentials from
 * `ALOFT_TOKEN` or the local server's token file, or, for an API on AWS, the AWS credential chain
 * (requests signed with SigV4).
 *
 * Requests that are safe to send twice are retried on network errors and on 429/502/503/504, with
 * exponential backoff and jitter. A failure throws {@link AloftApiError}.
 *
 * @example
 * ```ts
 * import { AloftClient } from "aloft";
 *
 * const client = new AloftClient();
 * const run = await client.deployments.run("nightly-etl", {
 *   parameters: { day: "2026-11-01" },
 *   idempotencyKey: `ci-${process.env.GITHUB_RUN_ID}`,
 * });
 * console.log(run.id, run.state.name);
 * ```
 */
export class AloftClient {
  /** Flow runs: create, read, list, propose states, cancel, retry, resume, and their task runs, logs, artifacts and journal. */
  readonly flowRuns: FlowRunsApi;
  /** Task runs: create, read, propose states. */
  readonly taskRuns: TaskRunsApi;
  /** Log lines, sent in batches. */
  readonly logs: LogsApi;
  /** Artifacts (Markdown, tables, links) published by runs. */
  readonly artifacts: ArtifactsApi;
  /** Deployments: named, runnable configurations of a flow. */
  readonly deployments: DeploymentsApi;
  /** Concurrency limits by tag, and leases on their slots. */
  readonly concurrencyLimits: ConcurrencyLimitsApi;
  /** Work pools: where deployment runs run, their job settings and queues. */
  readonly workPools: WorkPoolsApi;
  private readonly transport: Transport;

  constructor(options: AloftClientOptions = {}) {
    this.transport = new Transport(options);
    this.flowRuns = new FlowRunsApi(this.transport);
    this.taskRuns = new TaskRunsApi(this.transport);
    this.logs = new LogsApi(this.transport);
    this.artifacts = new ArtifactsApi(this.transport);
    this.deployments = new DeploymentsApi(this.transport);
    this.concurrencyLimits = new ConcurrencyLimitsApi(this.transport);
    this.workPools = new WorkPoolsApi(this.transport);
  }

  /**
   * The API URL and auth mode this client uses, as resolved from its options, the environment and
   * the login config.
   *
   * @example
   * ```ts
   * const { apiUrl, auth } = await client.endpoint(); // { apiUrl: "http://localhost:4200", auth: "token" }
   * ```
   */
  endpoint(): Promise<{ apiUrl: string; auth: AuthMode }> {
    return this.transport.target();
  }

  /**
   * Liveness: `{ status: "ok", version }`. Needs no credentials.
   *
   * @example
   * ```ts
   * await client.health(); // { status: "ok", version: "0.1.0" }
   * ```
   */
  health(): Promise<HealthResponse> {
    return this.transport.request({ method: "GET", path: "/health", idempotent: true });
  }

  /**
   * The API's OpenAPI 3.1 document.
   *
   * @example
   * ```ts
   * const document = await client.openapi();
   * console.log(Object.keys(document.paths as object));
   * ```
   */
  openapi(): Promise<Record<string, unknown>> {
    return this.transport.request({ method: "GET", path: "/openapi.json", idempotent: true });
  }
}

/**
 * `client.flowRuns`.
 *
 * @example
 * ```ts
 * const run = await client.flowRuns.create({ flowName: "etl", idempotencyKey: "build-42" });
 * await client.flowRuns.cancel(run.id);
 * ```
 */
export class FlowRunsApi {
  constructor(private readonly transport: Transport) {}

  /**
   * Creates a flow run (SCHEDULED unless `initialState: "PENDING"`). With an `idempotencyKey` (or a
   * client-chosen `id`) the same request twice is one run, and the request is retried on failure.
   *
   * @example
   * ```ts
   * const run = await client.flowRuns.create({ flowName: "etl", parameters: { day: "2026-11-01" }, idempotencyKey: "etl-2026-11-01" });
   * ```
   */
  create(request: CreateFlowRunRequest): Promise<FlowRunResponse> {
    return this.transport.request({ method: "POST", path: "/v1/flow-runs", body: request, idempotent: request.id !== undefined || request.idempotencyKey !== undefined });
  }

  /**
   * Reads a flow run.
   *
   * @example
   * ```ts
   * const run = await client.flowRuns.get(id);
   * if (run.state.type === "COMPLETED") console.log(run.result);
   * ```
   */
  get(id: string): Promise<FlowRunResponse> {
    return this.transport.request({ method: "GET", path: `/v1/flow-runs/${segment(id)}`, idempotent: true });
  }

  /**
   * One page of flow runs, newest first, filtered by flow, deployment, state, tag and creation time
   * (`since` inclusive, `until` exclusive). Each page costs the control plane a bounded number of
   * reads, so a filtered page may hold fewer than `limit` runs, even none, and still carry a cursor:
   * follow `cursor` until there is none (or use `iterate`).
   *
   * @example
   * ```ts
   * const page = await client.flowRuns.list({ flow: "etl", state: "FAILED", limit: 20 });
   * ```
   */
  list(query: ListFlowRunsQuery = {}): Promise<Page<FlowRunResponse>> {
    return this.transport.request({ method: "GET", path: "/v1/flow-runs", query: { ...query }, idempotent: true });
  }

  /**
   * Every flow run matching the filters, newest first, fetching pages of `query.limit` (default 50)
   * as the loop asks for more.
   *
   * @example
   * ```ts
   * for await (const run of client.flowRuns.iterate({ flow: "etl", since: "2026-11-01T00:00:00Z" })) {
   *   console.log(run.id, run.state.name);
   * }
   * ```
   */
  iterate(query: Omit<ListFlowRunsQuery, "cursor"> = {}): AsyncIterable<FlowRunResponse> {
    return paginate("GET /v1/flow-runs", (cursor) => this.list({ ...query, ...(cursor !== undefined ? { cursor } : {}) }));
  }

  /**
   * Proposes a state; the orchestration rules answer ACCEPT, REJECT, WAIT or ABORT. With a
   * `transitionId` the proposal is idempotent and retried on failure.
   *
   * @example
   * ```ts
   * const claim = await client.flowRuns.proposeState(id, { state: { type: "PENDING" }, transitionId: `claim-${workerId}` });
   * if (claim.status !== "ACCEPT") return; // another worker has it
   * ```
   */
  proposeState(id: string, request: ProposeStateRequest): Promise<ProposeStateResult> {
    return this.transport.request({ method: "POST", path: `/v1/flow-runs/${segment(id)}/state`, body: request, idempotent: request.transitionId !== undefined });
  }

  /**
   * A runner's heartbeat for the run its claim gave it. The answer says what to do next: `continue`;
   * `cancel` (the run is CANCELLING: abort the flow, then propose CANCELLED); `stop` (this runner no
   * longer holds the run: exit without reporting anything). Safe to retry.
   *
   * @example
   * ```ts
   * const { action } = await client.flowRuns.heartbeat(runId, { runnerToken, runner: { kind: "process", pid: process.pid } });
   * if (action === "stop") controller.abort();
   * ```
   */
  heartbeat(id: string, request: HeartbeatRequest): Promise<HeartbeatResult> {
    return this.transport.request({ method: "POST", path: `/v1/flow-runs/${segment(id)}/heartbeat`, body: request, idempotent: true });
  }

  /**
   * Reports that the runner holding the run (by the claim `runnerToken` names) died, and why: the
   * run is CRASHED at once with the reason, and re-scheduled when it has attempts left, as a crash
   * the control plane's monitor finds. What a worker does when one of its runner processes exits
   * with a run in hand. Safe to retry.
   *
   * @example
   * ```ts
   * await client.flowRuns.reportCrash(runId, { runnerToken, reason: "runner process 4242 exited with code 1 while loading flows/etl.ts" });
   * ```
   */
  reportCrash(id: string, request: ReportCrashRequest): Promise<ProposeStateResult> {
    return this.transport.request({ method: "POST", path: `/v1/flow-runs/${segment(id)}/crash`, body: request, idempotent: true });
  }

  /**
   * Cancels a flow run (CANCELLING while it is running, CANCELLED otherwise).
   *
   * @example
   * ```ts
   * await client.flowRuns.cancel(id);
   * ```
   */
  cancel(id: string, request: Omit<RunActionRequest, "force" | "input"> = {}): Promise<ProposeStateResult> {
    return this.action(id, "cancel", request);
  }

  /**
   * Re-opens a FAILED, CRASHED or CANCELLED run so it runs again from its journal; `force` re-opens a
   * COMPLETED run too.
   *
   * @example
   * ```ts
   * await client.flowRuns.retry(id, { transitionId: "retry-after-fix-1" });
   * ```
   */
  retry(id: string, request: Omit<RunActionRequest, "input"> = {}): Promise<ProposeStateResult> {
    return this.action(id, "retry", request);
  }

  /**
   * Resumes a PAUSED flow run; a run waiting in `waitForApproval` gets `input` back from it.
   *
   * @example
   * ```ts
   * await client.flowRuns.resume(id, { input: { approvedBy: "ada" } });
   * ```
   */
  resume(id: string, request: Omit<RunActionRequest, "force"> = {}): Promise<ProposeStateResult> {
    return this.action(id, "resume", request);
  }

  /**
   * Suspends a running flow run until it is approved: PAUSED "Suspended", keeping `taskToken` for
   * `resume` to complete (what `waitForApproval` does in a run recorded by the control plane).
   *
   * @example
   * ```ts
   * await client.flowRuns.awaitApproval(id, { taskToken: "engine:4f8c…", timeoutSeconds: 3600 });
   * ```
   */
  awaitApproval(id: string, request: { taskToken: string; stateName?: string; timeoutSeconds?: number }): Promise<ProposeStateResult> {
    return this.transport.request({ method: "POST", path: `/v1/flow-runs/${segment(id)}/approval`, body: request, idempotent: true });
  }

  /**
   * A flow run's state history, oldest first.
   *
   * @example
   * ```ts
   * const names = (await client.flowRuns.history(id)).map((entry) => entry.state.name);
   * ```
   */
  async history(id: string): Promise<StateHistoryEntry[]> {
    const { items } = await this.transport.request<{ items: StateHistoryEntry[] }>({ method: "GET", path: `/v1/flow-runs/${segment(id)}/history`, idempotent: true });
    return items;
  }

  /**
   * One page of a flow run's task runs.
   *
   * @example
   * ```ts
   * const { items } = await client.flowRuns.taskRuns(id, { limit: 200 });
   * ```
   */
  taskRuns(id: string, page: PageQuery = {}): Promise<Page<TaskRunResponse>> {
    return this.transport.request({ method: "GET", path: `/v1/flow-runs/${segment(id)}/task-runs`, query: { ...page }, idempotent: true });
  }

  /**
   * One page of a flow run's log lines, oldest first. A page may be short (even empty) and still
   * carry a cursor: follow it until there is none.
   *
   * @example
   * ```ts
   * let page = await client.flowRuns.logs(id);
   * while (page.cursor) page = await client.flowRuns.logs(id, { cursor: page.cursor });
   * ```
   */
  logs(id: string, page: PageQuery = {}): Promise<Page<LogLine>> {
    return this.transport.request({ method: "GET", path: `/v1/flow-runs/${segment(id)}/logs`, query: { ...page }, idempotent: true });
  }

  /**
   * Every artifact of a flow run, by key (read a page of up to 1,000 at a time).
   *
   * @example
   * ```ts
   * const report = (await client.flowRuns.artifacts(id)).find((artifact) => artifact.key === "report");
   * ```
   */
  artifacts(id: string): Promise<ArtifactResponse[]> {
    const path = `/v1/flow-runs/${segment(id)}/artifacts`;
    return collect(paginate<ArtifactResponse>(`GET ${path}`, (cursor) => this.transport.request({ method: "GET", path, query: { ...pageQuery(cursor) }, idempotent: true })));
  }

  /**
   * A flow run's whole journal, by call key: the recorded results of its completed calls (read a page
   * of up to 1,000 at a time).
   *
   * @example
   * ```ts
   * const done = new Set((await client.flowRuns.journal(id)).map((entry) => entry.key));
   * ```
   */
  journal(id: string): Promise<JournalEntryResponse[]> {
    const path = `/v1/flow-runs/${segment(id)}/journal`;
    return collect(paginate<JournalEntryResponse>(`GET ${path}`, (cursor) => this.transport.request({ method: "GET", path, query: { ...pageQuery(cursor) }, idempotent: true })));
  }

  /**
   * Records the result of a completed call under `key`; the first write wins and a later one gets
   * the recorded entry back.
   *
   * @example
   * ```ts
   * const entry = await client.flowRuns.putJournalEntry(id, "extract-0", { rows: 3 });
   * ```
   */
  putJournalEntry(id: string, key: string, value: unknown): Promise<JournalEntryResponse> {
    return this.transport.request({ method: "PUT", path: `/v1/flow-runs/${segment(id)}/journal/${segment(key)}`, body: { value }, idempotent: true });
  }

  private action(id: string, name: "cancel" | "retry" | "resume", request: RunActionRequest): Promise<ProposeStateResult> {
    return this.transport.request({ method: "POST", path: `/v1/flow-runs/${segment(id)}/${name}`, body: request, idempotent: request.transitionId !== undefined });
  }
}

/**
 * `client.taskRuns`.
 *
 * @example
 * ```ts
 * const taskRun = await client.taskRuns.create({ id: `${runId}:extract-0`, flowRunId: runId, taskName: "extract" });
 * await client.taskRuns.proposeState(taskRun.id, { state: { type: "RUNNING" } });
 * ```
 */
export class TaskRunsApi {
  constructor(private readonly transport: Transport) {}

  /**
   * Creates a task run; with a client-chosen `id` the same request twice is one task run, and the
   * request is retried on failure.
   *
   * @example
   * ```ts
   * await client.taskRuns.create({ id: "run-1:load-0", flowRunId: "run-1", taskName: "load" });
   * ```
   */
  create(request: CreateTaskRunRequest): Promise<TaskRunResponse> {
    return this.transport.request({ method: "POST", path: "/v1/task-runs", body: request, idempotent: request.id !== undefined });
  }

  /**
   * Reads a task run.
   *
   * @example
   * ```ts
   * const { attempts, state } = await client.taskRuns.get("run-1:load-0");
   * ```
   */
  get(id: string): Promise<TaskRunResponse> {
    return this.transport.request({ method: "GET", path: `/v1/task-runs/${segment(id)}`, idempotent: true });
  }

  /**
   * Proposes a task-run state; idempotent (and retried) with a `transitionId`.
   *
   * @example
   * ```ts
   * await client.taskRuns.proposeState(taskRunId, { state: { type: "FAILED" }, error: { name: "Error", message: "boom" } });
   * ```
   */
  proposeState(id: string, request: ProposeStateRequest): Promise<ProposeStateResult> {
    return this.transport.request({ method: "POST", path: `/v1/task-runs/${segment(id)}/state`, body: request, idempotent: request.transitionId !== undefined });
  }
}

/**
 * `client.logs`.
 *
 * @example
 * ```ts
 * await client.logs.create({ logs: [{ flowRunId, timestamp: new Date().toISOString(), level: "info", message: "hello" }] });
 * ```
 */
export class LogsApi {
  constructor(private readonly transport: Transport) {}

  /**
   * Records a batch of 1 to 1000 log lines. Not retried once sent (a repeat would duplicate lines).
   *
   * @example
   * ```ts
   * const { accepted } = await client.logs.create({ logs: lines });
   * ```
   */
  create(batch: CreateLogsRequest): Promise<{ accepted: number }> {
    return this.transport.request({ method: "POST", path: "/v1/logs", body: batch, idempotent: false });
  }
}

/**
 * `client.artifacts`.
 *
 * @example
 * ```ts
 * await client.artifacts.create({ key: "summary", type: "markdown", data: "# 3 rows loaded", flowRunId });
 * ```
 */
export class ArtifactsApi {
  constructor(private readonly transport: Transport) {}

  /**
   * Publishes an artifact for a flow run (or one of its task runs). Not retried once sent.
   *
   * @example
   * ```ts
   * await client.artifacts.create({ key: "scores", type: "table", data: [{ fold: 1, auc: 0.91 }], flowRunId });
   * ```
   */
  create(request: CreateArtifactRequest): Promise<ArtifactResponse> {
    return this.transport.request({ method: "POST", path: "/v1/artifacts", body: request, idempotent: false });
  }
}

/**
 * `client.deployments`; every method taking `idOrName` accepts a deployment's id or its name.
 *
 * @example
 * ```ts
 * await client.deployments.create({ name: "nightly-etl", flowName: "etl", entrypoint: "flows/etl.ts:etl" });
 * const run = await client.deployments.run("nightly-etl", { parameters: { day: "2026-11-01" } });
 * ```
 */
export class DeploymentsApi {
  constructor(private readonly transport: Transport) {}

  /**
   * Creates a deployment (exactly one of `entrypoint` and `bundleId`). Not retried once sent.
   *
   * @example
   * ```ts
   * await client.deployments.create({ name: "nightly-etl", flowName: "etl", entrypoint: "flows/etl.ts:etl", parameters: { region: "eu" } });
   * ```
   */
  create(request: CreateDeploymentRequest): Promise<DeploymentResponse> {
    return this.transport.request({ method: "POST", path: "/v1/deployments", body: request, idempotent: false });
  }

  /**
   * Reads a deployment by id or name.
   *
   * @example
   * ```ts
   * const { paused, revision } = await client.deployments.get("nightly-etl");
   * ```
   */
  get(idOrName: string): Promise<DeploymentResponse> {
    return this.transport.request({ method: "GET", path: `/v1/deployments/${segment(idOrName)}`, idempotent: true });
  }

  /**
   * One page of deployments, by name.
   *
   * @example
   * ```ts
   * const { items, cursor } = await client.deployments.list({ limit: 100 });
   * ```
   */
  list(page: PageQuery = {}): Promise<Page<DeploymentResponse>> {
    return this.transport.request({ method: "GET", path: "/v1/deployments", query: { ...page }, idempotent: true });
  }

  /**
   * Every deployment, by name, fetching pages as the loop asks for more.
   *
   * @example
   * ```ts
   * for await (const deployment of client.deployments.iterate()) console.log(deployment.name);
   * ```
   */
  iterate(page: Omit<PageQuery, "cursor"> = {}): AsyncIterable<DeploymentResponse> {
    return paginate("GET /v1/deployments", (cursor) => this.list({ ...page, ...(cursor !== undefined ? { cursor } : {}) }));
  }

  /**
   * Changes a deployment's fields. Not retried once sent.
   *
   * @example
   * ```ts
   * await client.deployments.update("nightly-etl", { paused: true });
   * ```
   */
  update(idOrName: string, change: UpdateDeploymentRequest): Promise<DeploymentResponse> {
    return this.transport.request({ method: "PATCH", path: `/v1/deployments/${segment(idOrName)}`, body: change, idempotent: false });
  }

  /**
   * Deletes a deployment (its runs stay).
   *
   * @example
   * ```ts
   * await client.deployments.delete("nightly-etl");
   * ```
   */
  async delete(idOrName: string): Promise<void> {
    await this.transport.request({ method: "DELETE", path: `/v1/deployments/${segment(idOrName)}`, idempotent: true });
  }

  /**
   * Creates a run of a deployment, with parameters merged over the deployment's defaults. With an
   * `idempotencyKey` the same request twice is one run, and the request is retried on failure.
   *
   * @example
   * ```ts
   * const run = await client.deployments.run("nightly-etl", { parameters: { day: "2026-11-01" }, idempotencyKey: `ci-${process.env.GITHUB_RUN_ID}` });
   * ```
   */
  run(idOrName: string, request: RunDeploymentRequest = {}): Promise<FlowRunResponse> {
    return this.transport.request({ method: "POST", path: `/v1/deployments/${segment(idOrName)}/runs`, body: request, idempotent: request.idempotencyKey !== undefined });
  }
}

/**
 * `client.workPools`: pools by name, their default job settings, pausing, and their queues.
 *
 * @example
 * ```ts
 * await client.workPools.create({ name: "etl", type: "fargate", jobSettings: { cpu: 1024, memory: 4096 } });
 * await client.workPools.upsertQueue("etl", "backfill", { priority: 5, concurrencyLimit: 2 });
 * await client.workPools.pause("etl", { queue: "backfill" });
 * ```
 */
export class WorkPoolsApi {
  constructor(private readonly transport: Transport) {}

  /**
   * Creates a pool; without `queues` it gets one queue, `default`, priority 1. Not retried once sent.
   *
   * @example
   * ```ts
   * await client.workPools.create({ name: "laptop", type: "local", jobSettings: { environment: { STAGE: "dev" } } });
   * ```
   */
  create(request: CreateWorkPoolRequest): Promise<WorkPoolResponse> {
    return this.transport.request({ method: "POST", path: "/v1/work-pools", body: request, idempotent: false });
  }

  /**
   * Reads a pool by name.
   *
   * @example
   * ```ts
   * const { type, queues } = await client.workPools.get("etl");
   * ```
   */
  get(name: string): Promise<WorkPoolResponse> {
    return this.transport.request({ method: "GET", path: `/v1/work-pools/${segment(name)}`, idempotent: true });
  }

  /**
   * One page of pools, by name.
   *
   * @example
   * ```ts
   * const { items, cursor } = await client.workPools.list({ limit: 100 });
   * ```
   */
  list(page: PageQuery = {}): Promise<Page<WorkPoolResponse>> {
    return this.transport.request({ method: "GET", path: "/v1/work-pools", query: { ...page }, idempotent: true });
  }

  /**
   * Every pool, by name, fetching pages as the loop asks for more.
   *
   * @example
   * ```ts
   * for await (const pool of client.workPools.iterate()) console.log(pool.name, pool.type);
   * ```
   */
  iterate(page: Omit<PageQuery, "cursor"> = {}): AsyncIterable<WorkPoolResponse> {
    return paginate("GET /v1/work-pools", (cursor) => this.list({ ...page, ...(cursor !== undefined ? { cursor } : {}) }));
  }

  /**
   * Changes a pool's description and default job settings (`null` removes a setting).
   *
   * @example
   * ```ts
   * await client.workPools.update("etl", { jobSettings: { timeout: 7200 } });
   * ```
   */
  update(name: string, change: UpdateWorkPoolRequest): Promise<WorkPoolResponse> {
    return this.transport.request({ method: "PATCH", path: `/v1/work-pools/${segment(name)}`, body: change, idempotent: false });
  }

  /**
   * Pauses the pool, or only `options.queue`: no new runs are taken from it; runs already taken carry on.
   * Idempotent, so retried.
   *
   * @example
   * ```ts
   * await client.workPools.pause("etl", { queue: "backfill" });
   * ```
   */
  pause(name: string, options: { queue?: string } = {}): Promise<WorkPoolResponse> {
    return this.transport.request({ method: "POST", path: `${this.poolPath(name, options.queue)}/pause`, idempotent: true });
  }

  /**
   * Resumes the pool, or only `options.queue`.
   *
   * @example
   * ```ts
   * await client.workPools.resume("etl");
   * ```
   */
  resume(name: string, options: { queue?: string } = {}): Promise<WorkPoolResponse> {
    return this.transport.request({ method: "POST", path: `${this.poolPath(name, options.queue)}/resume`, idempotent: true });
  }

  /**
   * Adds a queue (priority 1 unless given) or changes the fields given.
   *
   * @example
   * ```ts
   * await client.workPools.upsertQueue("etl", "backfill", { priority: 5, concurrencyLimit: 2 });
   * ```
   */
  upsertQueue(name: string, queue: string, request: UpsertWorkPoolQueueRequest = {}): Promise<WorkPoolResponse> {
    return this.transport.request({ method: "PUT", path: this.poolPath(name, queue), body: request, idempotent: true });
  }

  /**
   * Removes a queue (a pool keeps at least one).
   *
   * @example
   * ```ts
   * await client.workPools.removeQueue("etl", "backfill");
   * ```
   */
  async removeQueue(name: string, queue: string): Promise<void> {
    await this.transport.request({ method: "DELETE", path: this.poolPath(name, queue), idempotent: true });
  }

  /**
   * Takes runs from a local pool for a worker: up to `limit`, highest-priority queue first, waiting
   * up to `waitSeconds` for a first one. Each item carries the runner token its runner must send.
   * Not retried once sent (a retry could take other runs while the first answer's are lost).
   *
   * @example
   * ```ts
   * const { items } = await client.workPools.claim("local", { workerId: "laptop-1", limit: 2, waitSeconds: 10 });
   * for (const { runId, runnerToken } of items) start(runId, runnerToken);
   * ```
   */
  claim(name: string, request: ClaimRunsRequest): Promise<ClaimRunsResult> {
    return this.transport.request({ method: "POST", path: `${this.poolPath(name, undefined)}/claims`, body: request, idempotent: false });
  }

  private poolPath(name: string, queue: string | undefined): string {
    return `/v1/work-pools/${segment(name)}${queue === undefined ? "" : `/queues/${segment(queue)}`}`;
  }
}

/**
 * `client.concurrencyLimits`: limits by tag, and leases on their slots.
 *
 * @example
 * ```ts
 * await client.concurrencyLimits.set("warehouse", 4);
 * const lease = await client.concurrencyLimits.acquire("warehouse", { ttlSeconds: 300 });
 * try { await load(); } finally { await client.concurrencyLimits.release("warehouse", lease.leaseId); }
 * ```
 */
export class ConcurrencyLimitsApi {
  constructor(private readonly transport: Transport) {}

  /**
   * Creates or changes the limit of a tag (setting a value is idempotent, so it is retried).
   *
   * @example
   * ```ts
   * await client.concurrencyLimits.set("warehouse", 4);
   * ```
   */
  set(tag: string, limit: number): Promise<ConcurrencyLimitResponse> {
    return this.transport.request({ method: "POST", path: "/v1/concurrency-limits", body: { tag, limit }, idempotent: true });
  }

  /**
   * Reads a limit and its live leases.
   *
   * @example
   * ```ts
   * const { limit, activeSlots } = await client.concurrencyLimits.get("warehouse");
   * ```
   */
  get(tag: string): Promise<ConcurrencyLimitResponse> {
    return this.transport.request({ method: "GET", path: `/v1/concurrency-limits/${segment(tag)}`, idempotent: true });
  }

  /**
   * Every limit, by tag (read a page of up to 1,000 at a time).
   *
   * @example
   * ```ts
   * for (const limit of await client.concurrencyLimits.list()) console.log(limit.tag, limit.limit);
   * ```
   */
  list(): Promise<ConcurrencyLimitResponse[]> {
    const path = "/v1/concurrency-limits";
    return collect(paginate<ConcurrencyLimitResponse>(`GET ${path}`, (cursor) => this.transport.request({ method: "GET", path, query: { ...pageQuery(cursor) }, idempotent: true })));
  }

  /**
   * Deletes a limit.
   *
   * @example
   * ```ts
   * await client.concurrencyLimits.delete("warehouse");
   * ```
   */
  async delete(tag: string): Promise<void> {
    await this.transport.request({ method: "DELETE", path: `/v1/concurrency-limits/${segment(tag)}`, idempotent: true });
  }

  /**
   * Takes a slot; a full limit throws {@link AloftApiError} with status 423 (and `retryAfterSeconds`
   * when the server suggests a wait). With a client-chosen `leaseId` it is idempotent and retried.
   *
   * @example
   * ```ts
   * const lease = await client.concurrencyLimits.acquire("warehouse", { ttlSeconds: 60, leaseId: taskRunId });
   * ```
   */
  acquire(tag: string, request: AcquireLeaseRequest = {}): Promise<LeaseResponse> {
    return this.transport.request({ method: "POST", path: `/v1/concurrency-limits/${segment(tag)}/leases`, body: request, idempotent: request.leaseId !== undefined });
  }

  /**
   * Extends a lease (to `ttlSeconds` from now).
   *
   * @example
   * ```ts
   * await client.concurrencyLimits.renew("warehouse", lease.leaseId, { ttlSeconds: 60 });
   * ```
   */
  renew(tag: string, leaseId: string, request: { ttlSeconds?: number } = {}): Promise<LeaseResponse> {
    return this.transport.request({ method: "POST", path: `/v1/concurrency-limits/${segment(tag)}/leases/${segment(leaseId)}/renew`, body: request, idempotent: true });
  }

  /**
   * Gives a slot back.
   *
   * @example
   * ```ts
   * await client.concurrencyLimits.release("warehouse", lease.leaseId);
   * ```
   */
  async release(tag: string, leaseId: string): Promise<void> {
    await this.transport.request({ method: "DELETE", path: `/v1/concurrency-limits/${segment(tag)}/leases/${segment(leaseId)}`, idempotent: true });
  }
}

/** The largest page the API serves: what the client asks for when it reads a whole collection. */
const WHOLE_COLLECTION_PAGE = 1_000;

/**
 * Walks pages lazily: the next page is fetched when the loop has consumed the current one. A short
 * or empty page with a cursor is read past; the walk ends only when a page has no cursor. A page
 * that answers with the very cursor it was asked for would never end, and throws instead.
 */
function paginate<T>(what: string, fetchPage: (cursor: string | undefined) => Promise<Page<T>>): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      let cursor: string | undefined;
      do {
        const page = await fetchPage(cursor);
        yield* page.items;
        if (page.cursor !== undefined && page.cursor === cursor) {
          throw new AloftError("API_ERROR", `${what}: the API answered a page with the cursor it was asked for, so paging would never end`);
        }
        cursor = page.cursor;
      } while (cursor !== undefined);
    },
  };
}

/** Every item of a paged collection, as one array. */
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** The query of one page of a whole collection. */
function pageQuery(cursor: string | undefined): PageQuery {
  return { limit: WHOLE_COLLECTION_PAGE, ...(cursor !== undefined ? { cursor } : {}) };
}
