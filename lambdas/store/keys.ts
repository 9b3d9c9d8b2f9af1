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
 * The UTC day (`yyyy-mm-dd`) of a canonical timestamp: the partition of the "all runs" index.
 *
 * @example
 * ```ts
 * dayOf("2024-05-01T10:00:00.000Z"); // "2024-05-01"
 * ```
 */
export function dayOf(canonical: string): string {
  return canonical.slice(0, 10);
}

/**
 * The day before a `yyyy-mm-dd` day.
 *
 * @example
 * ```ts
 * previousDay("2024-03-01"); // "2024-02-29"
 * ```
 */
export function previousDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) - 86_400_000).toISOString().slice(0, 10);
}

/** Zero-padded version for `STATE#` sort keys, so string order is version order. */
function paddedVersion(version: number): string {
  return String(version).padStart(10, "0");
}

/** Key builders, one per item type. */
export const keys = {
  run: (id: string) => ({ PK: `RUN#${id}`, SK: "RUN" }),
  // Pointer keys include createdAt: a create that loses the race for a run id cannot overwrite the winner's pointers.
  runDay: (id: string, createdAt: string) => ({ PK: `RUN#${id}`, SK: `DAY#${createdAt}` }),
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
} as const;

/** Index partitions, one per access pattern served by a GSI. */
export const partitions = {
  flow: (flowName: string) => `FLOW#${flowName}`,
  deployment: (deploymentId: string) => `DEPLOYMENT#${deploymentId}`,
  state: (type: string) => `STATE#${type}`,
  tag: (tag: string) => `TAG#${tag}`,
  day: (day: string) => `RUNS#${day}`,
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
