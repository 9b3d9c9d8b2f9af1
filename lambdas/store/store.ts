import type { State } from "../../sdk/model/states.js";
import type {
  ArtifactRecord,
  CacheRecord,
  ConcurrencyLimitRecord,
  DeploymentRecord,
  FlowRunRecord,
  JournalEntryRecord,
  LogRecord,
  Page,
  RunnerInfo,
  StateHistoryRecord,
  TaskRunRecord,
  WorkPoolRecord,
} from "./records.js";

/** Filters for listing flow runs (any combination; newest first). */
export interface FlowRunFilter {
  flowName?: string;
  deploymentId?: string;
  stateType?: State["type"];
  tag?: string;
  /** ISO 8601, inclusive, on createdAt. */
  since?: string;
  /** ISO 8601, exclusive, on createdAt. */
  until?: string;
}

/**
 * One page of a listing: at most `limit` items, after `cursor`. A page may hold fewer items than
 * `limit` (even none) and still carry a cursor: each listing reads a bounded number of DynamoDB
 * pages (docs/data-model.md, "Listing cost"), so follow cursors until there is none. `signal`
 * stops the listing's reads when the caller gives up (a client that disconnected).
 *
 * @example
 * ```ts
 * const page = await store.listFlowRuns({ stateType: "FAILED" }, { limit: 50, cursor, signal: c.req.raw.signal });
 * ```
 */
export interface PageRequest {
  limit: number;
  cursor?: string;
  signal?: AbortSignal;
}

/** The fields a transition writes besides the state. */
export interface TransitionPatch {
  /** The transition id of this write (recorded on its state-history item). */
  transitionId?: string;
  /** The run's recent transition ids after this write (the caller appends and trims). */
  transitionIds?: string[];
  startTime?: string;
  /** `null` removes it (a re-opened run). */
  endTime?: string | null;
  runCount?: number;
  attempts?: number;
  result?: unknown;
  /** `null` removes it. */
  error?: FlowRunRecord["error"] | null;
  holdsSlot?: boolean;
  scheduledTime?: string;
  /** Flow runs: the claiming runner's token; `null` removes it (the run is scheduled again). */
  runnerToken?: string | null;
  /** Flow runs: the flow's retries, reported with RUNNING. */
  retries?: number;
  /** Flow runs: `null` forgets the last runner's heartbeat and whereabouts (a new claim). */
  heartbeatAt?: string | null;
  runner?: RunnerInfo | null;
  /** Flow runs: the task token of the approval a Step Functions run waits for; `null` forgets it. */
  approvalToken?: string | null;
  /** Flow runs, a condition rather than a field: write only if the run's `heartbeatAt` is still this (`null`: it has none). */
  expectHeartbeatAt?: string | null;
}

/** What a heartbeat found: the run as it is now, and whether the beat was recorded. */
export interface HeartbeatOutcome {
  run: FlowRunRecord;
  /** True when the token still held the run and the run was not terminal. */
  recorded: boolean;
}

/**
 * The write lost a race: the item's version is no longer the one the caller read. Re-read, decide
 * again, and retry.
 */
export class VersionConflictError extends Error {
  constructor(readonly entity: string, readonly id: string, readonly expectedVersion: number) {
    super(`${entity} ${id} changed since version ${expectedVersion}`);
    this.name = "VersionConflictError";
  }
}

/** A conditional create found the key taken. */
export class AlreadyExistsError extends Error {
  constructor(readonly entity: string, readonly key: string) {
    super(`${entity} ${key} already exists`);
    this.name = "AlreadyExistsError";
  }
}

/** A write addressed an item that does not exist (a transition of an unknown run, an update of an unknown deployment). */
export class NotFoundError extends Error {
  constructor(readonly entity: string, readonly key: string) {
    super(`${entity} ${key} does not exist`);
    this.name = "NotFoundError";
  }
}

/** A listing was given a cursor that this listing did not produce (malformed, tampered, or from other filters). */
export class InvalidCursorError extends Error {
  constructor(readonly cursor: string, reason: string) {
    super(`invalid cursor "${cursor.length > 40 ? `${cursor.slice(0, 40)}…` : cursor}": ${reason}`);
    this.name = "InvalidCursorError";
  }
}

/** An item would exceed what the store accepts in one item (350 KB); large values belong in the payload store. */
export class ItemTooLargeError extends Error {
  constructor(readonly entity: string, readonly key: string, readonly bytes: number, readonly maxBytes: number) {
    super(`${entity} ${key} is ${bytes} bytes, over the ${maxBytes}-byte item limit`);
    this.name = "ItemTooLargeError";
  }
}

/**
 * The control plane's persistence port: exactly the access patterns of docs/data-model.md.
 * Implemented by `DynamoDbStore` (DynamoDB on AWS, dynalite locally). No method uses transactions;
 * each state transition is one conditional write on the item's version.
 */
export interface Store {
  // Flow runs (A1–A6, A9, A17)
  /**
   * Creates a run. With an idempotency key, a second create with the same key returns the first run
   * and `created: false` (the key's run id wins, even across a crash between the two writes).
   */
  createFlowRun(run: FlowRunRecord, options?: { idempotencyKey?: string; idempotencyTtlSeconds?: number }): Promise<{ run: FlowRunRecord; created: boolean }>;
  getFlowRun(id: string): Promise<FlowRunRecord | undefined>;
  listFlowRuns(filter: FlowRunFilter, page: PageRequest): Promise<Page<FlowRunRecord>>;
  /**
   * One conditional write: succeeds only if the run is still at `expectedVersion`; sets the state,
   * version + 1 and the patch, then records the state history item. Throws VersionConflictError, or
   * NotFoundError when no run has the id.
   */
  transitionFlowRun(id: string, expectedVersion: number, state: State, patch?: TransitionPatch): Promise<FlowRunRecord>;
  /**
   * Records a runner's heartbeat with one conditional update that leaves the version alone: only if
   * the run's `runnerToken` is `token` and it is not terminal. Either way
   * returns the run as it is; undefined when no run has the id.
   */
  heartbeatFlowRun(id: string, token: string, at: string, runner?: RunnerInfo): Promise<HeartbeatOutcome | undefined>;
  /** States in version order (for a flow run or a task run id). */
  getStateHistory(runId: string): Promise<StateHistoryRecord[]>;

  // Task runs (A7, A8)
  /** Idempotent on the task run id. */
  createTaskRun(taskRun: TaskRunRecord): Promise<{ taskRun: TaskRunRecord; created: boolean }>;
  getTaskRun(id: string): Promise<TaskRunRecord | undefined>;
  listTaskRuns(flowRunId: string, page: PageRequest): Promise<Page<TaskRunRecord>>;
  transitionTaskRun(id: string, expectedVersion: number, state: State, patch?: TransitionPatch): Promise<TaskRunRecord>;

  // Logs (A10)
  putLogs(logs: LogRecord[], ttlSeconds: number): Promise<void>;
  listLogs(flowRunId: string, page: PageRequest & { since?: string }): Promise<Page<LogRecord>>;

  // Artifacts (A11, A12)
  putArtifact(artifact: ArtifactRecord): Promise<void>;
  listArtifacts(flowRunId: string, page: PageRequest): Promise<Page<ArtifactRecord>>;
  listArtifactsByKey(key: string, page: PageRequest): Promise<Page<ArtifactRecord>>;

  // Journal (A13)
  /** First write of a key wins; returns the stored entry (the existing one if the key was taken). */
  putJournalEntry(entry: JournalEntryRecord): Promise<{ entry: JournalEntryRecord; created: boolean }>;
  listJournal(runId: string, page: PageRequest): Promise<Page<JournalEntryRecord>>;

  // Cache (A14)
  getCacheEntry(key: string): Promise<CacheRecord | undefined>;
  putCacheEntry(entry: CacheRecord): Promise<void>;

  // Concurrency limits and leases (A15, A16)
  putConcurrencyLimit(tag: string, limit: number): Promise<ConcurrencyLimitRecord>;
  getConcurrencyLimit(tag: string): Promise<ConcurrencyLimitRecord | undefined>;
  listConcurrencyLimits(page: PageRequest): Promise<Page<ConcurrencyLimitRecord>>;
  deleteConcurrencyLimit(tag: string): Promise<boolean>;
  /**
   * Takes a slot if fewer than `limit` unexpired leases are held (expired ones are reclaimed first).
   * Returns false when the limit is full; undefined when no limit exists for the tag.
   */
  acquireLease(tag: string, leaseId: string, expiresAt: string, now: string): Promise<boolean | undefined>;
  /** Extends a held lease; false if it was not held (expired and reclaimed, or released). */
  renewLease(tag: string, leaseId: string, expiresAt: string): Promise<boolean>;
  releaseLease(tag: string, leaseId: string): Promise<void>;

  // Deployments (A18–A20)
  createDeployment(deployment: DeploymentRecord): Promise<DeploymentRecord>;
  getDeploymentByName(name: string): Promise<DeploymentRecord | undefined>;
  getDeploymentById(id: string): Promise<DeploymentRecord | undefined>;
  listDeployments(page: PageRequest): Promise<Page<DeploymentRecord>>;
  /**
   * Conditional on `expectedRevision`; stores revision `expectedRevision + 1`. Throws
   * VersionConflictError, or NotFoundError when no deployment has the name.
   */
  updateDeployment(deployment: DeploymentRecord, expectedRevision: number): Promise<DeploymentRecord>;
  deleteDeployment(name: string): Promise<boolean>;

  // Work pools (A21–A22)
  /** Throws AlreadyExistsError when a pool has the name. */
  createWorkPool(pool: WorkPoolRecord): Promise<WorkPoolRecord>;
  getWorkPool(name: string): Promise<WorkPoolRecord | undefined>;
  /** By name. */
  listWorkPools(page: PageRequest): Promise<Page<WorkPoolRecord>>;
  /**
   * Conditional on `expectedRevision`; stores revision `expectedRevision + 1`. Throws
   * VersionConflictError, or NotFoundError when no pool has the name.
   */
  updateWorkPool(pool: WorkPoolRecord, expectedRevision: number): Promise<WorkPoolRecord>;

  // Maintenance
  /** Deletes items whose TTL has passed (dynalite never expires items; DynamoDB does it itself). */
  sweepExpired(now: Date): Promise<number>;
}
