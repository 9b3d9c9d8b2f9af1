/**
 * The table's key schema (docs/data-model.md, "Item types"): every partition and sort key the
 * DynamoDB store writes is built here, so the data model has one source in code.
 */
import { createHash } from "node:crypto";
import { readValueAttributes } from "./valueAttributes.js";

/** Attributes that belong to the table layout, never to a record. */
export const LAYOUT_ATTRIBUTES = ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "expiresAt", "currentTransitionId", "initialState", "initialVersion"] as const;

/**
 * A timestamp in the one form the sort keys use (ISO 8601 UTC with milliseconds), so that string
 * order is time order. Throws RangeError naming the field for anything that is not a date.
 *
 * @example
 * ```ts
 * canonicalTime("2024-05-01T12:00:00+02:00", "createdAt"); // "2024-05-01T10:00:00.000Z"
 * ```
 */
export function canonicalTime(value: string, field: string): string {
  const millis = Date.parse(value);
  if (Number.isNaN(millis)) throw new RangeError(`${field} is not an ISO 8601 timestamp: "${value}"`);
  return new Date(millis).toISOString();
}

/**
 * The earliest and latest times a listing bound (`since`, `until`) may name. Sort keys hold
 * `toISOString()`, whose string order is time order only for the years 0000–9999 (later years gain a
 * sign and six digits); and no run is created before 1970, so an earlier `since` can only be a mistake.
 */
export const LISTING_TIME_RANGE = { earliest: "1970-01-01T00:00:00.000Z", latest: "9999-12-31T23:59:59.999Z" } as const;

/**
 * A listing's `since` or `until` in canonical form; throws RangeError naming the field for anything
 * that is not a timestamp, or that falls outside `LISTING_TIME_RANGE`.
 *
 * @example
 * ```ts
 * listingBound("2024-05-01T12:00:00+02:00", "since"); // "2024-05-01T10:00:00.000Z"
 * listingBound("0001-01-01T00:00:00Z", "since"); // RangeError
 * ```
 */
export function listingBound(value: string, field: string): string {
  const canonical = canonicalTime(value, field);
  if (!isListingTime(canonical)) {
    throw new RangeError(`${field} must be from ${LISTING_TIME_RANGE.earliest} to ${LISTING_TIME_RANGE.latest}, got "${value}"`);
  }
  return canonical;
}

/**
 * Whether a timestamp lies within `LISTING_TIME_RANGE` (false for anything that is not a timestamp).
 *
 * @example
 * ```ts
 * isListingTime("2024-05-01T10:00:00Z"); // true
 * isListingTime("1969-12-31T23:59:59Z"); // false
 * ```
 */
export function isListingTime(value: string): boolean {
  const millis = Date.parse(value);
  return !Number.isNaN(millis) && millis >= Date.parse(LISTING_TIME_RANGE.earliest) && millis <= Date.parse(LISTING_TIME_RANGE.latest);
}

/**
 * How many partitions the "all runs" index (A6) spreads its pointers over. Each page of that listing
 * queries every one of them, so this is also its Query count per page; more shards would take more
 * writes per second (DynamoDB serves about 1,000 per second per partition key) and cost more per page.
 * Part of the data layout: changing it re-shards every pointer.
 */
export const RUN_SHARDS = 4;

/**
 * The shard (0 to `RUN_SHARDS` − 1) of a run's "all runs" pointer: from a hash of its id, so that
 * runs created in the same millisecond spread evenly.
 *
 * @example
 * ```ts
 * runShard("3f0c9a52-…"); // 2
 * ```
 */
export function runShard(id: string): number {
  return createHash("sha256").update(id).digest().readUInt32BE(0) % RUN_SHARDS;
}

/** Zero-padded version for `STATE#` sort keys, so string order is version order. */
function paddedVersion(version: number): string {
  return String(version).padStart(10, "0");
}

/** Key builders, one per item type. */
export const keys = {
  run: (id: string) => ({ PK: `RUN#${id}`, SK: "RUN" }),
  // Pointer keys include createdAt: a create that loses the race for a run id cannot overwrite the winner's pointers.
  runPointer: (id: string, createdAt: string) => ({ PK: `RUN#${id}`, SK: `ALL#${createdAt}` }),
  runTag: (id: string, tag: string, createdAt: string) => ({ PK: `RUN#${id}`, SK: `TAG#${tag}#${createdAt}` }),
  runHistory: (id: string, version: number) => ({ PK: `RUN#${id}`, SK: `STATE#${paddedVersion(version)}` }),
  taskRun: (id: string) => ({ PK: `TASKRUN#${id}`, SK: "TASKRUN" }),
  taskRunHistory: (id: string, version: number) => ({ PK: `TASKRUN#${id}`, SK: `STATE#${paddedVersion(version)}` }),
  logs: (runId: string) => `LOGS#${runId}`,
  artifact: (runId: string, key: string, createdAt: string, id: string) => ({
    PK: `RUN#${runId}`,
    SK: `ARTIFACT#${key}#${createdAt}#${id}`,
  }),
  journal: (runId: string, callKey: string) => ({ PK: `RUN#${runId}`, SK: `JOURNAL#${callKey}` }),
  cache: (key: string) => ({ PK: `CACHE#${createHash("sha256").update(key).digest("hex")}`, SK: "CACHE" }),
  limit: (tag: string) => ({ PK: `LIMIT#${tag}`, SK: "LIMIT" }),
  idempotency: (key: string) => ({ PK: `IDEMPOTENCY#${key}`, SK: "IDEMPOTENCY" }),
  deployment: (name: string) => ({ PK: `DEPLOYMENT#${name}`, SK: "DEPLOYMENT" }),
  workPool: (name: string) => ({ PK: `WORKPOOL#${name}`, SK: "WORKPOOL" }),
  /** Written once a table's run-day pointers (the day walk's layout, before 0.2) are converted to "all runs" pointers. */
  runPointersConverted: { PK: "META", SK: "RUN_POINTERS" },
} as const;

/** Index partitions, one per access pattern served by a GSI. */
export const partitions = {
  flow: (flowName: string) => `FLOW#${flowName}`,
  deployment: (deploymentId: string) => `DEPLOYMENT#${deploymentId}`,
  state: (type: string) => `STATE#${type}`,
  tag: (tag: string) => `TAG#${tag}`,
  runs: (shard: number) => `RUNS#${shard}`,
  taskRuns: (runId: string) => `RUN#${runId}#TASKRUNS`,
  artifacts: (key: string) => `ARTIFACT#${key}`,
  limits: "LIMITS",
  deployments: "DEPLOYMENTS",
  deploymentId: (id: string) => `DEPLOYMENTID#${id}`,
  workPools: "WORKPOOLS",
} as const;

/**
 * The record stored in an item: the item without its layout attributes, with its user values read
 * back from their attributes (see valueAttributes.ts).
 *
 * @example
 * ```ts
 * recordOf<{ id: string }>({ PK: "RUN#1", SK: "RUN", id: "1" }); // { id: "1" }
 * ```
 */
export function recordOf<T>(item: Record<string, unknown>): T {
  const record: Record<string, unknown> = { ...item };
  for (const attribute of LAYOUT_ATTRIBUTES) delete record[attribute];
  return readValueAttributes(record) as T;
}
