import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type PutCommandInput,
  type QueryCommandInput,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { makeDynamoDbDocumentClient } from "../adapters/awsClients.js";
import type { State } from "../../sdk/model/states.js";
import { decodeCursor, encodeCursor, type ItemKey } from "./cursor.js";
import { canonicalTime, keys, listingBound, partitions, recordOf, RUN_SHARDS, runShard } from "./keys.js";
import { assertPageLimit, backoff, FILTERED_QUERY_LIMIT, keyAttributes, queryAll, readPage, sendQuery, type Item } from "./paging.js";
import { VALUE_FIELDS, valueAttribute, valueAttributeNames, withValueAttributes } from "./valueAttributes.js";
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
import {
  AlreadyExistsError,
  ItemTooLargeError,
  NotFoundError,
  VersionConflictError,
  type FlowRunFilter,
  type HeartbeatOutcome,
  type PageRequest,
  type Store,
  type TransitionPatch,
} from "./store.js";

/** Items above this size are refused before DynamoDB sees them (its own limit is 400 KB). */
export const MAX_ITEM_BYTES = 350 * 1024;

/** A run's sort key in the listing indexes, `<createdAt>#<id>`: what an "all runs" cursor holds. */
const RUN_SORT_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#.{1,256}$/;

/** Default lifetime of an idempotency key. */
const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

/** Attempts at reclaiming expired leases when they race with other writers. */
const LEASE_ATTEMPTS = 8;

/** Attempts at a batch request whose items DynamoDB keeps returning unprocessed. */
const BATCH_ATTEMPTS = 10;

/** Options of `DynamoDbStore`. */
export interface DynamoDbStoreOptions {
  /** A DynamoDB client (see `makeDynamoDbClient`). */
  client: DynamoDBClient;
  /** The table made by `ensureTable` / the CDK stack. */
  tableName: string;
}

/** Which patch fields each kind of run stores. */
const FLOW_RUN_PATCH_FIELDS = [
  "transitionIds",
  "startTime",
  "endTime",
  "runCount",
  "result",
  "error",
  "holdsSlot",
  "scheduledTime",
  "runnerToken",
  "retries",
  "heartbeatAt",
  "runner",
  "approvalToken",
] as const;

/** The terminal state types: a heartbeat is recorded only in the others (while the runner's token holds the run). */
const TERMINAL_TYPES = ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"] as const;
const TASK_RUN_PATCH_FIELDS = ["transitionIds", "startTime", "endTime", "attempts", "holdsSlot"] as const;

/** Per process: orders log lines of equal timestamp in the order they were put. */
const LOG_WRITER_ID = Math.random().toString(36).slice(2, 8).padEnd(6, "0");
let logSequence = 0;

/**
 * The `Store` port on DynamoDB (and on dynalite locally): one table, the access patterns of
 * docs/data-model.md, no transactions. Each transition is one conditional UpdateItem on the item's
 * version; follow-up writes (state history, run day and tag items) are idempotent puts.
 *
 * @example
 * ```ts
 * const client = makeDynamoDbClient({ endpoint: "http://127.0.0.1:4567" });
 * await ensureTable(client, "aloft");
 * const store = new DynamoDbStore({ client, tableName: "aloft" });
 * const run = await store.getFlowRun("3f0c…");
 * ```
 */
export class DynamoDbStore implements Store {
  readonly tableName: string;
  private readonly documents: DynamoDBDocumentClient;

  constructor(options: DynamoDbStoreOptions) {
    this.tableName = options.tableName;
    this.documents = makeDynamoDbDocumentClient(options.client);
  }

  // ---------------------------------------------------------------- flow runs

  async createFlowRun(
    run: FlowRunRecord,
    options: { idempotencyKey?: string; idempotencyTtlSeconds?: number } = {},
  ): Promise<{ run: FlowRunRecord; created: boolean }> {
    const { idempotencyKey } = options;
    if (idempotencyKey === undefined) return this.writeNewFlowRun(run);
    const ttlSeconds = options.idempotencyTtlSeconds ?? DEFAULT_IDEMPOTENCY_TTL_SECONDS;
    const candidate: FlowRunRecord = { ...run, idempotencyKey };
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = Date.now();
      const claimed = await this.conditionalPut(
        {
          ...keys.idempotency(idempotencyKey),
          runId: run.id,
          createdAt: new Date(now).toISOString(),
          expiresAt: Math.ceil(now / 1000) + ttlSeconds,
        },
        "attribute_not_exists(PK) OR expiresAt <= :now",
        { ":now": Math.floor(now / 1000) },
      );
      if (claimed) return this.writeNewFlowRun(candidate);
      const key = await this.getItem(keys.idempotency(idempotencyKey));
      if (key === undefined || isExpired(key, Date.now())) continue; // expired or swept meanwhile: claim again
      const runId = String(key.runId);
      const existing = await this.getFlowRun(runId);
      if (existing !== undefined) return { run: existing, created: false };
      // The key's first writer stopped before writing its run: finish its creation under the key's run id.
      return this.writeNewFlowRun({ ...candidate, id: runId });
    }
    throw new Error(`idempotency key ${idempotencyKey} kept expiring while creating run ${run.id}`);
  }

  async getFlowRun(id: string): Promise<FlowRunRecord | undefined> {
    const item = await this.getItem(keys.run(id));
    return item === undefined ? undefined : recordOf<FlowRunRecord>(item);
  }

  async listFlowRuns(filter: FlowRunFilter, page: PageRequest): Promise<Page<FlowRunRecord>> {
    assertPageLimit(page.limit);
    const since = filter.since === undefined ? undefined : listingBound(filter.since, "since");
    const until = filter.until === undefined ? undefined : listingBound(filter.until, "until");
    if (since !== undefined && until !== undefined && since >= until) return { items: [] };

    // The most selective index whose partition is on the run item itself comes first: the other
    // filters then run in DynamoDB as a FilterExpression. Tag and "all runs" items are pointers.
    const filters: { expression: string; names: Record<string, string>; values: Record<string, unknown> }[] = [];
    const addFilter = (kind: "flowName" | "deploymentId" | "stateType" | "tag") => {
      if (kind === "flowName" && filter.flowName !== undefined)
        filters.push({ expression: "#flowName = :flowName", names: { "#flowName": "flowName" }, values: { ":flowName": filter.flowName } });
      if (kind === "deploymentId" && filter.deploymentId !== undefined)
        filters.push({ expression: "#deploymentId = :deploymentId", names: { "#deploymentId": "deploymentId" }, values: { ":deploymentId": filter.deploymentId } });
      if (kind === "stateType" && filter.stateType !== undefined)
        filters.push({ expression: "#state.#type = :stateType", names: { "#state": "state", "#type": "type" }, values: { ":stateType": filter.stateType } });
      if (kind === "tag" && filter.tag !== undefined)
        filters.push({ expression: "contains(#tags, :tag)", names: { "#tags": "tags" }, values: { ":tag": filter.tag } });
    };

    let index: "GSI1" | "GSI2" | "GSI3";
    let partition: string;
    if (filter.deploymentId !== undefined) {
      [index, partition] = ["GSI2", partitions.deployment(filter.deploymentId)];
      addFilter("flowName");
      addFilter("stateType");
      addFilter("tag");
    } else if (filter.flowName !== undefined) {
      [index, partition] = ["GSI1", partitions.flow(filter.flowName)];
      addFilter("stateType");
      addFilter("tag");
    } else if (filter.stateType !== undefined) {
      [index, partition] = ["GSI3", partitions.state(filter.stateType)];
      addFilter("tag");
    } else if (filter.tag !== undefined) {
      const tag = filter.tag;
      const attributes = keyAttributes("GSI1");
      const partitionKey = partitions.tag(tag);
      return readPage({
        documents: this.documents,
        input: this.timeRangeQuery("GSI1", partitionKey, since, until, page.limit + 1),
        limit: page.limit,
        ...startOf(page.cursor, attributes, "GSI1PK", partitionKey, { attribute: "GSI1SK", inRange: inTimeRange(since, until) }),
        attributes,
        // One Query of pointers per page, resolved with BatchGetItem: a stale pointer makes the page one run shorter.
        maxQueries: 1,
        resolve: (pointers) => this.resolvePointers(pointers, (run) => run.tags.includes(tag), page.signal),
        ...signalOf(page),
      });
    } else {
      return this.listAllFlowRuns(since, until, page);
    }

    const attributes = keyAttributes(index);
    const input = this.timeRangeQuery(index, partition, since, until, page.limit + 1);
    if (filters.length > 0) {
      input.FilterExpression = filters.map((part) => part.expression).join(" AND ");
      input.ExpressionAttributeNames = Object.assign({}, input.ExpressionAttributeNames, ...filters.map((part) => part.names));
      input.ExpressionAttributeValues = Object.assign({}, input.ExpressionAttributeValues, ...filters.map((part) => part.values));
      input.Limit = Math.max(page.limit + 1, FILTERED_QUERY_LIMIT);
    }
    return readPage({
      documents: this.documents,
      input,
      limit: page.limit,
      ...startOf(page.cursor, attributes, `${index}PK`, partition, { attribute: `${index}SK`, inRange: inTimeRange(since, until) }),
      attributes,
      resolve: (items) => items.map((item) => recordOf<FlowRunRecord>(item)),
      ...signalOf(page),
    });
  }

  async transitionFlowRun(id: string, expectedVersion: number, state: State, patch: TransitionPatch = {}): Promise<FlowRunRecord> {
    const item = await this.transition("flow run", keys.run(id), id, expectedVersion, state, patch, FLOW_RUN_PATCH_FIELDS, {
      GSI3PK: partitions.state(state.type),
    });
    const run = recordOf<FlowRunRecord>(item);
    await this.putItem(historyItem(keys.runHistory(id, run.version), id, run.version, run.state, patch.transitionId), "state history", id);
    return run;
  }

  async heartbeatFlowRun(id: string, token: string, at: string, runner?: RunnerInfo): Promise<HeartbeatOutcome | undefined> {
    const names: Record<string, string> = { "#runnerToken": "runnerToken", "#state": "state", "#type": "type", "#heartbeatAt": "heartbeatAt" };
    const values: Record<string, unknown> = { ":token": token, ":at": at };
    TERMINAL_TYPES.forEach((type, i) => (values[`:terminal${i}`] = type));
    const sets = ["#heartbeatAt = :at"];
    if (runner !== undefined) {
      names["#runner"] = "runner";
      values[":runner"] = runner;
      sets.push("#runner = :runner");
    }
    try {
      const output = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.run(id),
          UpdateExpression: `SET ${sets.join(", ")}`,
          ConditionExpression: `attribute_exists(PK) AND #runnerToken = :token AND NOT (#state.#type IN (${TERMINAL_TYPES.map((_, i) => `:terminal${i}`).join(", ")}))`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
        }),
      );
      return { run: recordOf<FlowRunRecord>(output.Attributes ?? {}), recorded: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const run = await this.getFlowRun(id);
      return run === undefined ? undefined : { run, recorded: false };
    }
  }

  async getStateHistory(runId: string): Promise<StateHistoryRecord[]> {
    const flowRun = await this.readHistory(keys.run(runId), (version) => keys.runHistory(runId, version), runId);
    if (flowRun !== undefined) return flowRun;
    return (await this.readHistory(keys.taskRun(runId), (version) => keys.taskRunHistory(runId, version), runId)) ?? [];
  }

  // ---------------------------------------------------------------- task runs

  async createTaskRun(taskRun: TaskRunRecord): Promise<{ taskRun: TaskRunRecord; created: boolean }> {
    const createdAt = canonicalTime(taskRun.createdAt, "createdAt");
    const item = {
      ...taskRun,
      ...keys.taskRun(taskRun.id),
      GSI1PK: partitions.taskRuns(taskRun.flowRunId),
      GSI1SK: `${createdAt}#${taskRun.id}`,
      // The first state of the history lives on the item itself: one write fewer per creation.
      initialState: taskRun.state,
      initialVersion: taskRun.version,
    };
    if (!(await this.conditionalPut(item, "attribute_not_exists(PK)", undefined, "task run", taskRun.id))) {
      const existing = await this.getTaskRun(taskRun.id);
      if (existing !== undefined) return { taskRun: existing, created: false };
      throw new Error(`task run ${taskRun.id} exists but could not be read`);
    }
    return { taskRun, created: true };
  }

  async getTaskRun(id: string): Promise<TaskRunRecord | undefined> {
    const item = await this.getItem(keys.taskRun(id));
    return item === undefined ? undefined : recordOf<TaskRunRecord>(item);
  }

  async listTaskRuns(flowRunId: string, page: PageRequest): Promise<Page<TaskRunRecord>> {
    return this.pageOfGsi1Partition<TaskRunRecord>(partitions.taskRuns(flowRunId), page, true);
  }

  /** One page of a GSI1 partition, in sort-key order (`forward`) or reverse, resuming at the cursor. */
  private async pageOfGsi1Partition<T>(partition: string, page: PageRequest, forward: boolean): Promise<Page<T>> {
    assertPageLimit(page.limit);
    const attributes = keyAttributes("GSI1");
    return readPage({
      documents: this.documents,
      input: {
        TableName: this.tableName,
        IndexName: "GSI1",
        KeyConditionExpression: "GSI1PK = :pk",
        ExpressionAttributeValues: { ":pk": partition },
        ScanIndexForward: forward,
        Limit: page.limit + 1,
      },
      limit: page.limit,
      ...startOf(page.cursor, attributes, "GSI1PK", partition),
      attributes,
      resolve: (items) => items.map((item) => recordOf<T>(item)),
      ...signalOf(page),
    });
  }

  async transitionTaskRun(id: string, expectedVersion: number, state: State, patch: TransitionPatch = {}): Promise<TaskRunRecord> {
    const item = await this.transition("task run", keys.taskRun(id), id, expectedVersion, state, patch, TASK_RUN_PATCH_FIELDS, {});
    const taskRun = recordOf<TaskRunRecord>(item);
    await this.putItem(
      historyItem(keys.taskRunHistory(id, taskRun.version), id, taskRun.version, taskRun.state, patch.transitionId),
      "state history",
      id,
    );
    return taskRun;
  }

  // ---------------------------------------------------------------- logs

  /** Writes log lines in batches of 25; each line expires `ttlSeconds` after its own timestamp. */
  async putLogs(logs: LogRecord[], ttlSeconds: number): Promise<void> {
    const items = logs.map((log) => {
      const timestamp = canonicalTime(log.timestamp, "timestamp");
      logSequence += 1;
      const item = {
        ...withValueAttributes(log, VALUE_FIELDS.log),
        PK: keys.logs(log.flowRunId),
        SK: `${timestamp}#${String(logSequence).padStart(12, "0")}${LOG_WRITER_ID}`,
        expiresAt: Math.floor(Date.parse(timestamp) / 1000) + ttlSeconds,
      };
      assertItemSize(item, "log line", `${log.flowRunId}@${timestamp}`);
      return item;
    });
    await this.batchWrite(items.map((item) => ({ PutRequest: { Item: item } })));
  }

  async listLogs(flowRunId: string, page: PageRequest & { since?: string }): Promise<Page<LogRecord>> {
    assertPageLimit(page.limit);
    const partition = keys.logs(flowRunId);
    const attributes = keyAttributes(undefined);
    const input: QueryCommandInput = {
      TableName: this.tableName,
      KeyConditionExpression: "PK = :pk",
      // Expired lines DynamoDB (or the local sweep) has not deleted yet are not shown.
      FilterExpression: "expiresAt > :now",
      ExpressionAttributeValues: { ":pk": partition, ":now": Math.floor(Date.now() / 1000) },
      ScanIndexForward: true,
      Limit: page.limit + 1,
    };
    if (page.since !== undefined) {
      input.KeyConditionExpression += " AND SK >= :since";
      input.ExpressionAttributeValues = { ...input.ExpressionAttributeValues, ":since": canonicalTime(page.since, "since") };
    }
    return readPage({
      documents: this.documents,
      input,
      limit: page.limit,
      ...startOf(page.cursor, attributes, "PK", partition),
      attributes,
      resolve: (items) => items.map((item) => recordOf<LogRecord>(item)),
      ...signalOf(page),
    });
  }

  // ---------------------------------------------------------------- artifacts

  async putArtifact(artifact: ArtifactRecord): Promise<void> {
    const createdAt = canonicalTime(artifact.createdAt, "createdAt");
    await this.putItem(
      {
        ...withValueAttributes(artifact, VALUE_FIELDS.artifact),
        ...keys.artifact(artifact.flowRunId, artifact.key, createdAt, artifact.id),
        GSI1PK: partitions.artifacts(artifact.key),
        GSI1SK: `${createdAt}#${artifact.flowRunId}`,
      },
      "artifact",
      artifact.id,
    );
  }

  async listArtifacts(flowRunId: string, page: PageRequest): Promise<Page<ArtifactRecord>> {
    return this.pageOfRunItems<ArtifactRecord>(flowRunId, "ARTIFACT#", page);
  }

  /** One page of a run's own items whose sort keys begin with `prefix` (artifacts, journal records), in key order. */
  private async pageOfRunItems<T>(runId: string, prefix: string, page: PageRequest): Promise<Page<T>> {
    assertPageLimit(page.limit);
    const partition = keys.run(runId).PK;
    const attributes = keyAttributes(undefined);
    const startKey =
      page.cursor === undefined
        ? undefined
        : decodeCursor(page.cursor, attributes, { PK: (value) => value === partition, SK: (value) => value.startsWith(prefix) });
    return readPage({
      documents: this.documents,
      input: {
        TableName: this.tableName,
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues: { ":pk": partition, ":prefix": prefix },
        ConsistentRead: true,
        Limit: page.limit + 1,
      },
      limit: page.limit,
      ...(startKey === undefined ? {} : { startKey }),
      attributes,
      resolve: (items) => items.map((item) => recordOf<T>(item)),
      ...signalOf(page),
    });
  }

  async listArtifactsByKey(key: string, page: PageRequest): Promise<Page<ArtifactRecord>> {
    return this.pageOfGsi1Partition<ArtifactRecord>(partitions.artifacts(key), page, false);
  }

  // ---------------------------------------------------------------- journal

  async putJournalEntry(entry: JournalEntryRecord): Promise<{ entry: JournalEntryRecord; created: boolean }> {
    const key = keys.journal(entry.runId, entry.key);
    if (await this.conditionalPut({ ...withValueAttributes(entry, VALUE_FIELDS.journalEntry), ...key }, "attribute_not_exists(SK)", undefined, "journal entry", `${entry.runId}/${entry.key}`)) {
      return { entry, created: true };
    }
    const existing = await this.getItem(key);
    if (existing === undefined) throw new Error(`journal entry ${entry.runId}/${entry.key} exists but could not be read`);
    return { entry: recordOf<JournalEntryRecord>(existing), created: false };
  }

  async listJournal(runId: string, page: PageRequest): Promise<Page<JournalEntryRecord>> {
    return this.pageOfRunItems<JournalEntryRecord>(runId, "JOURNAL#", page);
  }

  // ---------------------------------------------------------------- cache

  async getCacheEntry(key: string): Promise<CacheRecord | undefined> {
    const item = await this.getItem(keys.cache(key));
    if (item === undefined || item.key !== key) return undefined;
    const expiry = typeof item.expiry === "string" ? item.expiry : undefined;
    if (expiry !== undefined && Date.parse(expiry) <= Date.now()) return undefined;
    const { expiry: _expiry, ...rest } = recordOf<CacheRecord & { expiry?: string }>(item);
    return expiry === undefined ? rest : { ...rest, expiresAt: expiry };
  }

  async putCacheEntry(entry: CacheRecord): Promise<void> {
    const { expiresAt, ...rest } = entry;
    const item: Item = { ...withValueAttributes(rest, VALUE_FIELDS.cacheEntry), ...keys.cache(entry.key) };
    if (expiresAt !== undefined) {
      const expiry = canonicalTime(expiresAt, "expiresAt");
      item.expiry = expiry;
      item.expiresAt = Math.ceil(Date.parse(expiry) / 1000);
    }
    await this.putItem(item, "cache entry", entry.key);
  }

  // ---------------------------------------------------------------- concurrency limits

  async putConcurrencyLimit(tag: string, limit: number): Promise<ConcurrencyLimitRecord> {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`concurrency limit for tag "${tag}" must be an integer >= 0, got ${limit}`);
    const now = new Date().toISOString();
    const output = await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.limit(tag),
        UpdateExpression:
          "SET #tag = :tag, #limit = :limit, #updatedAt = :now, #createdAt = if_not_exists(#createdAt, :now), #leases = if_not_exists(#leases, :empty), GSI1PK = :gsi1pk, GSI1SK = :tag",
        ExpressionAttributeNames: { "#tag": "tag", "#limit": "limit", "#updatedAt": "updatedAt", "#createdAt": "createdAt", "#leases": "leases" },
        ExpressionAttributeValues: { ":tag": tag, ":limit": limit, ":now": now, ":empty": {}, ":gsi1pk": partitions.limits },
        ReturnValues: "ALL_NEW",
      }),
    );
    return recordOf<ConcurrencyLimitRecord>(output.Attributes ?? {});
  }

  /** The limit with every lease it holds, including expired ones not yet reclaimed by an acquire. */
  async getConcurrencyLimit(tag: string): Promise<ConcurrencyLimitRecord | undefined> {
    const item = await this.getItem(keys.limit(tag));
    return item === undefined ? undefined : recordOf<ConcurrencyLimitRecord>(item);
  }

  async listConcurrencyLimits(page: PageRequest): Promise<Page<ConcurrencyLimitRecord>> {
    return this.pageOfGsi1Partition<ConcurrencyLimitRecord>(partitions.limits, page, true);
  }

  async deleteConcurrencyLimit(tag: string): Promise<boolean> {
    return this.deleteItem(keys.limit(tag));
  }

  async acquireLease(tag: string, leaseId: string, expiresAt: string, now: string): Promise<boolean | undefined> {
    const expiry = canonicalTime(expiresAt, "expiresAt");
    const nowMillis = Date.parse(canonicalTime(now, "now"));
    for (let attempt = 0; attempt < LEASE_ATTEMPTS; attempt++) {
      // Takes a free slot, or refreshes the caller's own lease: one conditional write.
      const taken = await this.conditionalUpdate({
        Key: keys.limit(tag),
        UpdateExpression: "SET #leases.#lease = :expiry",
        ConditionExpression: "attribute_exists(PK) AND (size(#leases) < #limit OR attribute_exists(#leases.#lease))",
        ExpressionAttributeNames: { "#leases": "leases", "#lease": leaseId, "#limit": "limit" },
        ExpressionAttributeValues: { ":expiry": expiry },
      });
      if (taken) return true;
      const item = await this.getItem(keys.limit(tag));
      if (item === undefined) return undefined;
      const limit = recordOf<ConcurrencyLimitRecord>(item);
      const expired = Object.entries(limit.leases ?? {}).filter(([, until]) => Date.parse(until) <= nowMillis);
      const live = Object.keys(limit.leases ?? {}).length - expired.length;
      if (expired.length === 0 || live >= limit.limit) return false;
      // Reclaims expired leases only if they are still the ones read (a renewal in between keeps its lease).
      const names: Record<string, string> = { "#leases": "leases" };
      const values: Record<string, unknown> = {};
      const conditions: string[] = [];
      const removals: string[] = [];
      expired.forEach(([id, until], position) => {
        names[`#e${position}`] = id;
        values[`:e${position}`] = until;
        conditions.push(`#leases.#e${position} = :e${position}`);
        removals.push(`#leases.#e${position}`);
      });
      await this.conditionalUpdate({
        Key: keys.limit(tag),
        UpdateExpression: `REMOVE ${removals.join(", ")}`,
        ConditionExpression: conditions.join(" AND "),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      });
    }
    return false;
  }

  async renewLease(tag: string, leaseId: string, expiresAt: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: keys.limit(tag),
      UpdateExpression: "SET #leases.#lease = :expiry",
      ConditionExpression: "attribute_exists(#leases.#lease)",
      ExpressionAttributeNames: { "#leases": "leases", "#lease": leaseId },
      ExpressionAttributeValues: { ":expiry": canonicalTime(expiresAt, "expiresAt") },
    });
  }

  async releaseLease(tag: string, leaseId: string): Promise<void> {
    await this.conditionalUpdate({
      Key: keys.limit(tag),
      UpdateExpression: "REMOVE #leases.#lease",
      ConditionExpression: "attribute_exists(PK)",
      ExpressionAttributeNames: { "#leases": "leases", "#lease": leaseId },
    });
  }

  // ---------------------------------------------------------------- deployments

  async createDeployment(deployment: DeploymentRecord): Promise<DeploymentRecord> {
    const created = await this.conditionalPut(deploymentItem(deployment), "attribute_not_exists(PK)", undefined, "deployment", deployment.name);
    if (!created) throw new AlreadyExistsError("deployment", deployment.name);
    return deployment;
  }

  async getDeploymentByName(name: string): Promise<DeploymentRecord | undefined> {
    const item = await this.getItem(keys.deployment(name));
    return item === undefined ? undefined : recordOf<DeploymentRecord>(item);
  }

  async getDeploymentById(id: string): Promise<DeploymentRecord | undefined> {
    const output = await this.documents.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: "GSI2",
        KeyConditionExpression: "GSI2PK = :pk AND GSI2SK = :sk",
        ExpressionAttributeValues: { ":pk": partitions.deploymentId(id), ":sk": "DEPLOYMENT" },
        Limit: 1,
      }),
    );
    const item = output.Items?.[0];
    return item === undefined ? undefined : recordOf<DeploymentRecord>(item);
  }

  async listDeployments(page: PageRequest): Promise<Page<DeploymentRecord>> {
    return this.pageOfGsi1Partition<DeploymentRecord>(partitions.deployments, page, true);
  }

  async updateDeployment(deployment: DeploymentRecord, expectedRevision: number): Promise<DeploymentRecord> {
    const updated: DeploymentRecord = { ...deployment, revision: expectedRevision + 1 };
    await this.putRevision(deploymentItem(updated), expectedRevision, "deployment", deployment.name);
    return updated;
  }

  async deleteDeployment(name: string): Promise<boolean> {
    return this.deleteItem(keys.deployment(name));
  }

  // ---------------------------------------------------------------- work pools

  async createWorkPool(pool: WorkPoolRecord): Promise<WorkPoolRecord> {
    const created = await this.conditionalPut(workPoolItem(pool), "attribute_not_exists(PK)", undefined, "work pool", pool.name);
    if (!created) throw new AlreadyExistsError("work pool", pool.name);
    return pool;
  }

  async getWorkPool(name: string): Promise<WorkPoolRecord | undefined> {
    const item = await this.getItem(keys.workPool(name));
    return item === undefined ? undefined : recordOf<WorkPoolRecord>(item);
  }

  async listWorkPools(page: PageRequest): Promise<Page<WorkPoolRecord>> {
    return this.pageOfGsi1Partition<WorkPoolRecord>(partitions.workPools, page, true);
  }

  async updateWorkPool(pool: WorkPoolRecord, expectedRevision: number): Promise<WorkPoolRecord> {
    const updated: WorkPoolRecord = { ...pool, revision: expectedRevision + 1 };
    await this.putRevision(workPoolItem(updated), expectedRevision, "work pool", pool.name);
    return updated;
  }

  // ---------------------------------------------------------------- maintenance

  async sweepExpired(now: Date): Promise<number> {
    let deleted = 0;
    let exclusiveStartKey: Item | undefined;
    do {
      const output = await this.documents.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: "expiresAt <= :now",
          ExpressionAttributeValues: { ":now": Math.floor(now.getTime() / 1000) },
          ProjectionExpression: "PK, SK",
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      const expired = output.Items ?? [];
      await this.batchWrite(expired.map((item) => ({ DeleteRequest: { Key: { PK: item.PK, SK: item.SK } } })));
      deleted += expired.length;
      exclusiveStartKey = output.LastEvaluatedKey;
    } while (exclusiveStartKey !== undefined);
    return deleted;
  }

  // ---------------------------------------------------------------- internals

  /** Writes the "all runs" and tag pointers first, then the run item if its id is free (the run item decides `created`). */
  private async writeNewFlowRun(run: FlowRunRecord): Promise<{ run: FlowRunRecord; created: boolean }> {
    const createdAt = canonicalTime(run.createdAt, "createdAt");
    const sortKey = `${createdAt}#${run.id}`;
    const runItem: Item = {
      ...withValueAttributes(run, VALUE_FIELDS.flowRun),
      ...keys.run(run.id),
      GSI1PK: partitions.flow(run.flowName),
      GSI1SK: sortKey,
      GSI3PK: partitions.state(run.state.type),
      GSI3SK: sortKey,
      // The first state of the history lives on the item itself: one write fewer per creation.
      initialState: run.state,
      initialVersion: run.version,
    };
    if (run.deploymentId !== undefined) Object.assign(runItem, { GSI2PK: partitions.deployment(run.deploymentId), GSI2SK: sortKey });
    assertItemSize(runItem, "flow run", run.id);
    const pointers = [
      { ...keys.runPointer(run.id, createdAt), GSI2PK: partitions.runs(runShard(run.id)), GSI2SK: sortKey, runId: run.id, createdAt },
      ...[...new Set(run.tags)].map((tag) => ({
        ...keys.runTag(run.id, tag, createdAt),
        GSI1PK: partitions.tag(tag),
        GSI1SK: sortKey,
        runId: run.id,
        createdAt,
        tag,
      })),
    ];
    await this.batchWrite(pointers.map((item) => ({ PutRequest: { Item: item } })));
    if (!(await this.conditionalPut(runItem, "attribute_not_exists(PK)"))) {
      const existing = await this.getFlowRun(run.id);
      if (existing !== undefined) return { run: existing, created: false };
      throw new Error(`flow run ${run.id} exists but could not be read`);
    }
    return { run, created: true };
  }

  /**
   * "All runs by time" (A6): one Query per shard, in parallel, each for the newest `limit + 1` pointers
   * in [since, until) below the cursor; merged newest first, the first `limit` are resolved with
   * BatchGetItem. The cursor is the sort key of the last pointer taken: every pointer from there up
   * has been listed, in every shard, so the next page reads each shard at or below it (BETWEEN is
   * inclusive: that pointer is read again and dropped, hence `limit + 2` when resuming).
   */
  private async listAllFlowRuns(since: string | undefined, until: string | undefined, page: PageRequest): Promise<Page<FlowRunRecord>> {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor, ["GSI2SK"], { GSI2SK: (value) => RUN_SORT_KEY.test(value) }).GSI2SK!;
    // Sort keys are "<time>#<id>": "<until>#…" sorts after "<until>", so `<= until` keeps until exclusive.
    const upper = after !== undefined && (until === undefined || after < until) ? after : until;
    if (since !== undefined && upper !== undefined && upper < since) return { items: [] };
    const perShard = page.limit + (after === undefined ? 1 : 2);
    const outputs = await Promise.all(
      Array.from({ length: RUN_SHARDS }, (_, shard) => sendQuery(this.documents, this.pointerRangeQuery(shard, since, upper, perShard), page.signal)),
    );
    const candidates: Item[] = [];
    // Below the newest "last pointer read" of a shard that has more, that shard may hold pointers not read yet.
    let frontier: string | undefined;
    let more = false;
    for (const output of outputs) {
      const pointers = ((output.Items ?? []) as Item[]).filter((pointer) => pointer.GSI2SK !== after);
      candidates.push(...pointers);
      if (output.LastEvaluatedKey === undefined) continue;
      more = true;
      const last = String(pointers.at(-1)?.GSI2SK ?? output.LastEvaluatedKey.GSI2SK);
      if (frontier === undefined || last > frontier) frontier = last;
    }
    candidates.sort((a, b) => (String(a.GSI2SK) < String(b.GSI2SK) ? 1 : -1));
    const taken = candidates.filter((pointer) => frontier === undefined || String(pointer.GSI2SK) >= frontier).slice(0, page.limit);
    more ||= candidates.length > taken.length;
    const runs = (await this.resolvePointers(taken, () => true, page.signal)).filter((run): run is FlowRunRecord => run !== undefined);
    if (!more) return { items: runs };
    const last = String(taken.at(-1)?.GSI2SK ?? frontier);
    if (last === after) throw new Error(`the "all runs" listing made no progress past ${after}`);
    return { items: runs, cursor: encodeCursor({ GSI2SK: last }) };
  }

  /** A newest-first Query of one "all runs" shard, its sort keys within [since, upper] (`upper` inclusive). */
  private pointerRangeQuery(shard: number, since: string | undefined, upper: string | undefined, limit: number): QueryCommandInput {
    const values: Record<string, unknown> = { ":pk": partitions.runs(shard) };
    let condition = "GSI2PK = :pk";
    if (since !== undefined && upper !== undefined) {
      condition += " AND GSI2SK BETWEEN :since AND :upper";
      Object.assign(values, { ":since": since, ":upper": upper });
    } else if (since !== undefined) {
      condition += " AND GSI2SK >= :since";
      values[":since"] = since;
    } else if (upper !== undefined) {
      condition += " AND GSI2SK <= :upper";
      values[":upper"] = upper;
    }
    return { TableName: this.tableName, IndexName: "GSI2", KeyConditionExpression: condition, ExpressionAttributeValues: values, ScanIndexForward: false, Limit: limit };
  }

  /** A newest-first query of an index partition whose sort keys are `<createdAt>#<id>`, within [since, until). */
  private timeRangeQuery(index: string, partition: string, since: string | undefined, until: string | undefined, limit: number): QueryCommandInput {
    const sortKey = `${index}SK`;
    const values: Record<string, unknown> = { ":pk": partition };
    let condition = `${index}PK = :pk`;
    // Sort keys are "<time>#<id>": "<until>#…" sorts after "<until>", so BETWEEN/`<` keep until exclusive.
    if (since !== undefined && until !== undefined) {
      condition += ` AND ${sortKey} BETWEEN :since AND :until`;
      Object.assign(values, { ":since": since, ":until": until });
    } else if (since !== undefined) {
      condition += ` AND ${sortKey} >= :since`;
      values[":since"] = since;
    } else if (until !== undefined) {
      condition += ` AND ${sortKey} < :until`;
      values[":until"] = until;
    }
    return {
      TableName: this.tableName,
      IndexName: index,
      KeyConditionExpression: condition,
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
      Limit: limit,
    };
  }

  /** The runs of "all runs" or tag pointers, in order (one BatchGetItem per 100); stale pointers give undefined. */
  private async resolvePointers(pointers: Item[], accept: (run: FlowRunRecord) => boolean, signal: AbortSignal | undefined): Promise<(FlowRunRecord | undefined)[]> {
    if (pointers.length === 0) return [];
    const runs = await this.batchGetRuns(pointers.map((pointer) => String(pointer.runId)), signal);
    return pointers.map((pointer) => {
      const run = runs.get(String(pointer.runId));
      // A pointer written by a create that then lost the race for the run id carries another createdAt.
      return run !== undefined && canonicalTime(run.createdAt, "createdAt") === pointer.createdAt && accept(run) ? run : undefined;
    });
  }

  /** Runs by id, with BatchGetItem requests of 100 keys sent in parallel, retrying unprocessed keys with backoff. */
  private async batchGetRuns(ids: string[], signal: AbortSignal | undefined): Promise<Map<string, FlowRunRecord>> {
    const runs = new Map<string, FlowRunRecord>();
    const unique = [...new Set(ids)];
    const batches: string[][] = [];
    for (let offset = 0; offset < unique.length; offset += 100) batches.push(unique.slice(offset, offset + 100));
    await Promise.all(
      batches.map(async (batch) => {
        let requested: Record<string, unknown>[] = batch.map((id) => keys.run(id));
        for (let attempt = 0; requested.length > 0; attempt++) {
          if (attempt >= BATCH_ATTEMPTS) throw new Error(`BatchGetItem left ${requested.length} runs unread after ${BATCH_ATTEMPTS} attempts`);
          if (attempt > 0) await backoff(attempt);
          signal?.throwIfAborted();
          const output = await this.documents.send(
            new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: requested, ConsistentRead: true } } }),
            signal === undefined ? undefined : { abortSignal: signal },
          );
          for (const item of output.Responses?.[this.tableName] ?? []) {
            const run = recordOf<FlowRunRecord>(item);
            runs.set(run.id, run);
          }
          requested = (output.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
        }
      }),
    );
    return runs;
  }

  private async transition(
    entity: string,
    key: { PK: string; SK: string },
    id: string,
    expectedVersion: number,
    state: State,
    patch: TransitionPatch,
    fields: readonly (keyof TransitionPatch)[],
    indexKeys: Record<string, string>,
  ): Promise<Item> {
    const names: Record<string, string> = { "#state": "state", "#version": "version" };
    const values: Record<string, unknown> = { ":state": state, ":expected": expectedVersion, ":next": expectedVersion + 1 };
    const sets = ["#state = :state", "#version = :next"];
    const removals: string[] = [];
    for (const [attribute, value] of Object.entries(indexKeys)) {
      sets.push(`${attribute} = :${attribute}`);
      values[`:${attribute}`] = value;
    }
    // The id of the write that made the current version, so a lost history item is rebuilt exactly.
    names["#currentTransitionId"] = "currentTransitionId";
    if (patch.transitionId !== undefined) {
      values[":currentTransitionId"] = patch.transitionId;
      sets.push("#currentTransitionId = :currentTransitionId");
    } else removals.push("#currentTransitionId");
    for (const field of fields) {
      const value = patch[field];
      if (value === undefined) continue;
      if (field === "result") {
        // A user value: its JSON text (or its payload reference) replaces whatever the run held before.
        const attribute = valueAttribute(field, value);
        const { json, ref } = valueAttributeNames(field);
        names["#valueSet"] = attribute.name;
        names["#valueRemoved"] = attribute.name === json ? ref : json;
        names["#legacyValue"] = field;
        values[":value"] = attribute.value;
        sets.push("#valueSet = :value");
        removals.push("#valueRemoved", "#legacyValue");
        continue;
      }
      names[`#${field}`] = field;
      if (value === null) {
        removals.push(`#${field}`);
      } else {
        values[`:${field}`] = value;
        sets.push(`#${field} = :${field}`);
      }
    }
    let condition = "attribute_exists(PK) AND #version = :expected";
    if (patch.expectHeartbeatAt !== undefined) {
      names["#heartbeatAt"] = "heartbeatAt";
      if (patch.expectHeartbeatAt === null) condition += " AND attribute_not_exists(#heartbeatAt)";
      else {
        values[":expectHeartbeatAt"] = patch.expectHeartbeatAt;
        condition += " AND #heartbeatAt = :expectHeartbeatAt";
      }
    }
    assertItemSize(values, entity, id);
    try {
      const output = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: `SET ${sets.join(", ")}${removals.length > 0 ? ` REMOVE ${removals.join(", ")}` : ""}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return output.Attributes ?? {};
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // DynamoDB returns the current item with the failure; emulators may not, so ask when it is absent.
      if (!hasItem(error) && (await this.getItem(key)) === undefined) throw new NotFoundError(entity, id);
      throw new VersionConflictError(entity, id, expectedVersion);
    }
  }

  /** The history items of a run, repairing the current version's item if a crash lost it. Undefined: no such run. */
  private async readHistory(
    runKey: { PK: string; SK: string },
    historyKey: (version: number) => { PK: string; SK: string },
    runId: string,
  ): Promise<StateHistoryRecord[] | undefined> {
    const [runItem, items] = await Promise.all([
      this.getItem(runKey),
      queryAll(this.documents, {
        TableName: this.tableName,
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues: { ":pk": runKey.PK, ":prefix": "STATE#" },
        ConsistentRead: true,
      }),
    ]);
    if (runItem === undefined) return items.length > 0 ? items.map((item) => recordOf<StateHistoryRecord>(item)) : undefined;
    const history = items.map((item) => recordOf<StateHistoryRecord>(item));
    const run = recordOf<{ version: number; state: State }>(runItem);
    const currentTransitionId = typeof runItem.currentTransitionId === "string" ? runItem.currentTransitionId : undefined;
    const initialVersion = typeof runItem.initialVersion === "number" ? runItem.initialVersion : undefined;
    if (initialVersion !== undefined && runItem.initialState !== undefined && !history.some((entry) => entry.version === initialVersion)) {
      history.unshift({ runId, version: initialVersion, state: runItem.initialState as State });
    }
    if (!history.some((entry) => entry.version === run.version)) {
      const repaired = historyItem(historyKey(run.version), runId, run.version, run.state, currentTransitionId);
      await this.putItem(repaired, "state history", runId);
      history.push(recordOf<StateHistoryRecord>(repaired));
      history.sort((a, b) => a.version - b.version);
    }
    return history;
  }

  private async getItem(key: { PK: string; SK: string }): Promise<Item | undefined> {
    const output = await this.documents.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    const item = output.Item;
    if (item === undefined || isExpired(item, Date.now())) return undefined;
    return item;
  }

  private async putItem(item: Item, entity: string, id: string): Promise<void> {
    await this.documents.send(new PutCommand({ TableName: this.tableName, Item: sized(item, entity, id) }));
  }

  /**
   * Replaces an item that is still at `expectedRevision` (the item carries the next one). Throws
   * NotFoundError when the item is gone, VersionConflictError when another write came first.
   */
  private async putRevision(item: Item, expectedRevision: number, entity: string, name: string): Promise<void> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: sized(item, entity, name),
          ConditionExpression: "attribute_exists(PK) AND #revision = :expected",
          ExpressionAttributeNames: { "#revision": "revision" },
          ExpressionAttributeValues: { ":expected": expectedRevision },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      if (!hasItem(error) && (await this.getItem({ PK: String(item.PK), SK: String(item.SK) })) === undefined) throw new NotFoundError(entity, name);
      throw new VersionConflictError(entity, name, expectedRevision);
    }
  }

  /** A put under a condition; false when the condition failed. */
  private async conditionalPut(
    item: Item,
    condition: string,
    values?: Record<string, unknown>,
    entity = "item",
    id = `${String(item.PK)}/${String(item.SK)}`,
  ): Promise<boolean> {
    const input: PutCommandInput = { TableName: this.tableName, Item: sized(item, entity, id), ConditionExpression: condition };
    if (values !== undefined) input.ExpressionAttributeValues = values;
    try {
      await this.documents.send(new PutCommand(input));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** An update under a condition; false when the condition failed. */
  private async conditionalUpdate(input: Omit<UpdateCommandInput, "TableName">): Promise<boolean> {
    try {
      await this.documents.send(new UpdateCommand({ ...input, TableName: this.tableName }));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  private async deleteItem(key: { PK: string; SK: string }): Promise<boolean> {
    const output = await this.documents.send(new DeleteCommand({ TableName: this.tableName, Key: key, ReturnValues: "ALL_OLD" }));
    return output.Attributes !== undefined;
  }

  /** BatchWriteItem in requests of 25, retrying unprocessed items with backoff. */
  private async batchWrite(requests: Record<string, unknown>[]): Promise<void> {
    for (let offset = 0; offset < requests.length; offset += 25) {
      let pending = requests.slice(offset, offset + 25);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= BATCH_ATTEMPTS) throw new Error(`BatchWriteItem left ${pending.length} items unwritten after ${BATCH_ATTEMPTS} attempts`);
        if (attempt > 0) await backoff(attempt);
        const output = await this.documents.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
        pending = (output.UnprocessedItems?.[this.tableName] ?? []) as Record<string, unknown>[];
      }
    }
  }
}

/**
 * Where a page starts: after the key its cursor holds, which must be of the listing's own partition
 * and, when given, have a sort key `inRange` (DynamoDB refuses a start key outside the key condition).
 */
function startOf(
  cursor: string | undefined,
  attributes: readonly string[],
  partitionAttribute: string,
  partition: string,
  sortKey?: { attribute: string; inRange: (value: string) => boolean },
): { startKey?: ItemKey } {
  if (cursor === undefined) return {};
  const expect: Record<string, (value: string) => boolean> = { [partitionAttribute]: (value) => value === partition };
  if (sortKey !== undefined) expect[sortKey.attribute] = sortKey.inRange;
  return { startKey: decodeCursor(cursor, attributes, expect) };
}

/** Whether a `<createdAt>#<id>` sort key lies in [since, until): "<until>#…" sorts after "<until>". */
function inTimeRange(since: string | undefined, until: string | undefined): (value: string) => boolean {
  return (value) => (since === undefined || value >= since) && (until === undefined || value < until);
}

function signalOf(page: PageRequest): { signal?: AbortSignal } {
  return page.signal === undefined ? {} : { signal: page.signal };
}

function historyItem(key: { PK: string; SK: string }, runId: string, version: number, state: State, transitionId: string | undefined): Item {
  const item: Item = { ...key, runId, version, state };
  if (transitionId !== undefined) item.transitionId = transitionId;
  return item;
}

function deploymentItem(deployment: DeploymentRecord): Item {
  return {
    ...withValueAttributes(deployment, VALUE_FIELDS.deployment),
    ...keys.deployment(deployment.name),
    GSI1PK: partitions.deployments,
    GSI1SK: deployment.name,
    GSI2PK: partitions.deploymentId(deployment.id),
    GSI2SK: "DEPLOYMENT",
  };
}

function workPoolItem(pool: WorkPoolRecord): Item {
  return { ...pool, ...keys.workPool(pool.name), GSI1PK: partitions.workPools, GSI1SK: pool.name };
}

function isExpired(item: Item, nowMillis: number): boolean {
  return typeof item.expiresAt === "number" && item.expiresAt <= Math.floor(nowMillis / 1000);
}

function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}

function hasItem(error: unknown): boolean {
  return typeof error === "object" && error !== null && "Item" in error && (error as { Item?: unknown }).Item !== undefined;
}

function assertItemSize(item: unknown, entity: string, id: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(item) ?? "", "utf8");
  if (bytes > MAX_ITEM_BYTES) throw new ItemTooLargeError(entity, id, bytes, MAX_ITEM_BYTES);
}

function sized(item: Item, entity: string, id: string): Item {
  assertItemSize(item, entity, id);
  return item;
}
