import { isTerminal, type State } from "../../sdk/model/states.js";
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
import type { FlowRunFilter, HeartbeatOutcome, PageRequest, Store, TransitionPatch } from "./store.js";

/**
 * How many runs a {@link CachingStore} keeps, of each kind (flow runs, task runs).
 *
 * @example
 * ```ts
 * const capacity: CachingStoreCapacity = { inFlight: 10_000, finished: 1_000 };
 * ```
 */
export interface CachingStoreCapacity {
  /** Runs in flight (not in a terminal state): the ones claims, heartbeats and proposals read. Default 10,000. */
  inFlight?: number;
  /** Finished runs (COMPLETED, FAILED, CANCELLED, CRASHED), most recently used first. Default 1,000. */
  finished?: number;
}

/**
 * A Store that keeps recently used flow runs and task runs in memory, for a control plane that is the
 * only writer to its table (the local server: one process per data dir). Reads of a cached run skip
 * the database; every write goes through and refreshes the entry. Correctness never depends on the
 * cache: transitions stay conditional on the version, and a write that finds the version moved (or the
 * run gone) evicts the entry, so the caller's re-read comes from the database.
 *
 * Runs in flight and finished runs are kept apart, each least recently used first out: a finished
 * run is rarely read again (a look from the dashboard or the CLI, one read away), so the thousands a
 * busy server finishes cannot push out the runs in flight, and memory stays bounded by the runs in
 * flight plus a short tail of finished ones (a cached flow run is about 3 KB, a task run 1.5 KB).
 *
 * @example
 * ```ts
 * const store = new CachingStore(new DynamoDbStore({ client, tableName }));
 * const small = new CachingStore(inner, { inFlight: 100, finished: 10 });
 * ```
 */
export class CachingStore implements Store {
  private readonly flowRuns: RunCache<FlowRunRecord>;
  private readonly taskRuns: RunCache<TaskRunRecord>;

  constructor(
    private readonly inner: Store,
    capacity: CachingStoreCapacity = {},
  ) {
    const inFlight = capacity.inFlight ?? 10_000;
    const finished = capacity.finished ?? 1_000;
    this.flowRuns = new RunCache(inFlight, finished);
    this.taskRuns = new RunCache(inFlight, finished);
  }

  async createFlowRun(run: FlowRunRecord, options?: { idempotencyKey?: string; idempotencyTtlSeconds?: number }): Promise<{ run: FlowRunRecord; created: boolean }> {
    const outcome = await this.inner.createFlowRun(run, options);
    this.flowRuns.set(outcome.run.id, outcome.run);
    return outcome;
  }

  async getFlowRun(id: string): Promise<FlowRunRecord | undefined> {
    const cached = this.flowRuns.get(id);
    if (cached) return cached;
    const run = await this.inner.getFlowRun(id);
    if (run) this.flowRuns.set(id, run);
    return run;
  }

  async transitionFlowRun(id: string, expectedVersion: number, state: State, patch?: TransitionPatch): Promise<FlowRunRecord> {
    try {
      const run = await this.inner.transitionFlowRun(id, expectedVersion, state, patch);
      this.flowRuns.set(id, run);
      return run;
    } catch (error) {
      this.flowRuns.delete(id);
      throw error;
    }
  }

  async heartbeatFlowRun(id: string, token: string, at: string, runner?: RunnerInfo): Promise<HeartbeatOutcome | undefined> {
    const outcome = await this.inner.heartbeatFlowRun(id, token, at, runner);
    if (outcome) this.flowRuns.set(id, outcome.run);
    else this.flowRuns.delete(id);
    return outcome;
  }

  async createTaskRun(taskRun: TaskRunRecord): Promise<{ taskRun: TaskRunRecord; created: boolean }> {
    const outcome = await this.inner.createTaskRun(taskRun);
    this.taskRuns.set(outcome.taskRun.id, outcome.taskRun);
    return outcome;
  }

  async getTaskRun(id: string): Promise<TaskRunRecord | undefined> {
    const cached = this.taskRuns.get(id);
    if (cached) return cached;
    const taskRun = await this.inner.getTaskRun(id);
    if (taskRun) this.taskRuns.set(id, taskRun);
    return taskRun;
  }

  async transitionTaskRun(id: string, expectedVersion: number, state: State, patch?: TransitionPatch): Promise<TaskRunRecord> {
    try {
      const taskRun = await this.inner.transitionTaskRun(id, expectedVersion, state, patch);
      this.taskRuns.set(id, taskRun);
      return taskRun;
    } catch (error) {
      this.taskRuns.delete(id);
      throw error;
    }
  }

  listFlowRuns(filter: FlowRunFilter, page: PageRequest): Promise<Page<FlowRunRecord>> {
    return this.inner.listFlowRuns(filter, page);
  }

  getStateHistory(runId: string): Promise<StateHistoryRecord[]> {
    return this.inner.getStateHistory(runId);
  }

  listTaskRuns(flowRunId: string, page: PageRequest): Promise<Page<TaskRunRecord>> {
    return this.inner.listTaskRuns(flowRunId, page);
  }

  putLogs(logs: LogRecord[], ttlSeconds: number): Promise<void> {
    return this.inner.putLogs(logs, ttlSeconds);
  }

  listLogs(flowRunId: string, page: PageRequest & { since?: string }): Promise<Page<LogRecord>> {
    return this.inner.listLogs(flowRunId, page);
  }

  putArtifact(artifact: ArtifactRecord): Promise<void> {
    return this.inner.putArtifact(artifact);
  }

  listArtifacts(flowRunId: string, page: PageRequest): Promise<Page<ArtifactRecord>> {
    return this.inner.listArtifacts(flowRunId, page);
  }

  listArtifactsByKey(key: string, page: PageRequest): Promise<Page<ArtifactRecord>> {
    return this.inner.listArtifactsByKey(key, page);
  }

  putJournalEntry(entry: JournalEntryRecord): Promise<{ entry: JournalEntryRecord; created: boolean }> {
    return this.inner.putJournalEntry(entry);
  }

  listJournal(runId: string, page: PageRequest): Promise<Page<JournalEntryRecord>> {
    return this.inner.listJournal(runId, page);
  }

  getCacheEntry(key: string): Promise<CacheRecord | undefined> {
    return this.inner.getCacheEntry(key);
  }

  putCacheEntry(entry: CacheRecord): Promise<void> {
    return this.inner.putCacheEntry(entry);
  }

  putConcurrencyLimit(tag: string, limit: number): Promise<ConcurrencyLimitRecord> {
    return this.inner.putConcurrencyLimit(tag, limit);
  }

  getConcurrencyLimit(tag: string): Promise<ConcurrencyLimitRecord | undefined> {
    return this.inner.getConcurrencyLimit(tag);
  }

  listConcurrencyLimits(page: PageRequest): Promise<Page<ConcurrencyLimitRecord>> {
    return this.inner.listConcurrencyLimits(page);
  }

  deleteConcurrencyLimit(tag: string): Promise<boolean> {
    return this.inner.deleteConcurrencyLimit(tag);
  }

  acquireLease(tag: string, leaseId: string, expiresAt: string, now: string): Promise<boolean | undefined> {
    return this.inner.acquireLease(tag, leaseId, expiresAt, now);
  }

  renewLease(tag: string, leaseId: string, expiresAt: string): Promise<boolean> {
    return this.inner.renewLease(tag, leaseId, expiresAt);
  }

  releaseLease(tag: string, leaseId: string): Promise<void> {
    return this.inner.releaseLease(tag, leaseId);
  }

  createDeployment(deployment: DeploymentRecord): Promise<DeploymentRecord> {
    return this.inner.createDeployment(deployment);
  }

  getDeploymentByName(name: string): Promise<DeploymentRecord | undefined> {
    return this.inner.getDeploymentByName(name);
  }

  getDeploymentById(id: string): Promise<DeploymentRecord | undefined> {
    return this.inner.getDeploymentById(id);
  }

  listDeployments(page: PageRequest): Promise<Page<DeploymentRecord>> {
    return this.inner.listDeployments(page);
  }

  updateDeployment(deployment: DeploymentRecord, expectedRevision: number): Promise<DeploymentRecord> {
    return this.inner.updateDeployment(deployment, expectedRevision);
  }

  deleteDeployment(name: string): Promise<boolean> {
    return this.inner.deleteDeployment(name);
  }

  createWorkPool(pool: WorkPoolRecord): Promise<WorkPoolRecord> {
    return this.inner.createWorkPool(pool);
  }

  getWorkPool(name: string): Promise<WorkPoolRecord | undefined> {
    return this.inner.getWorkPool(name);
  }

  listWorkPools(page: PageRequest): Promise<Page<WorkPoolRecord>> {
    return this.inner.listWorkPools(page);
  }

  updateWorkPool(pool: WorkPoolRecord, expectedRevision: number): Promise<WorkPoolRecord> {
    return this.inner.updateWorkPool(pool, expectedRevision);
  }

  sweepExpired(now: Date): Promise<number> {
    return this.inner.sweepExpired(now);
  }
}

/** Runs by id: those in flight and those finished in two {@link Lru}s of their own. */
class RunCache<V extends { state: State }> {
  private readonly inFlight: Lru<V>;
  private readonly finished: Lru<V>;

  constructor(inFlightCapacity: number, finishedCapacity: number) {
    this.inFlight = new Lru(inFlightCapacity);
    this.finished = new Lru(finishedCapacity);
  }

  get(key: string): V | undefined {
    return this.inFlight.get(key) ?? this.finished.get(key);
  }

  set(key: string, value: V): void {
    const [into, out] = isTerminal(value.state.type) ? [this.finished, this.inFlight] : [this.inFlight, this.finished];
    out.delete(key);
    into.set(key, value);
  }

  delete(key: string): void {
    this.inFlight.delete(key);
    this.finished.delete(key);
  }
}

/** A map that forgets its least recently used entries beyond a capacity. */
class Lru<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
