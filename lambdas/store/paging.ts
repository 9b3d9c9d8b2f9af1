import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { encodeCursor, type ItemKey } from "./cursor.js";
import type { Page } from "./records.js";

/** A stored item read from DynamoDB. */
export type Item = Record<string, unknown>;

/** One item a listing read: its key (for the cursor) and its value, or undefined when a filter dropped it. */
export interface Candidate<T> {
  key: ItemKey;
  value: T | undefined;
}

/** The largest page a listing serves. */
export const MAX_PAGE_LIMIT = 1_000;

/**
 * Checks a page limit: an integer from 1 to 1000.
 *
 * @example
 * ```ts
 * assertPageLimit(50); // ok
 * ```
 */
export function assertPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new RangeError(`page limit must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${limit}`);
  }
}

/**
 * Takes values from `candidates` until `limit` are collected, then reads on until one more value
 * shows up: only then is a cursor returned, pointing just after the last returned item (not after
 * the last item DynamoDB evaluated), so the next page starts exactly where this one stopped and the
 * last page has no cursor.
 *
 * @example
 * ```ts
 * const page = await collectPage(candidatesOf(queryPages(documents, input)), 20);
 * ```
 */
export async function collectPage<T>(candidates: AsyncIterable<Candidate<T>[]>, limit: number): Promise<Page<T>> {
  const items: T[] = [];
  let lastKey: ItemKey | undefined;
  for await (const batch of candidates) {
    for (const candidate of batch) {
      if (candidate.value === undefined) continue;
      if (items.length === limit && lastKey !== undefined) return { items, cursor: encodeCursor(lastKey) };
      items.push(candidate.value);
      lastKey = candidate.key;
    }
  }
  return { items };
}

/**
 * The pages of a Query, from `startKey` (exclusive) to the end of the key range.
 *
 * @example
 * ```ts
 * for await (const items of queryPages(documents, { TableName, KeyConditionExpression, … })) console.log(items.length);
 * ```
 */
export async function* queryPages(
  documents: DynamoDBDocumentClient,
  input: QueryCommandInput,
  startKey?: ItemKey,
): AsyncGenerator<Item[]> {
  let exclusiveStartKey: Item | undefined = startKey;
  do {
    const output = await documents.send(new QueryCommand({ ...input, ExclusiveStartKey: exclusiveStartKey }));
    yield (output.Items ?? []) as Item[];
    exclusiveStartKey = output.LastEvaluatedKey;
  } while (exclusiveStartKey !== undefined);
}

/**
 * Every item of a Query (for the small, bounded collections: a run's history, artifacts, journal).
 *
 * @example
 * ```ts
 * const history = await queryAll(documents, { TableName, KeyConditionExpression: "PK = :pk", … });
 * ```
 */
export async function queryAll(documents: DynamoDBDocumentClient, input: QueryCommandInput): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of queryPages(documents, input)) items.push(...page);
  return items;
}

/**
 * The key attributes of an item, for a cursor: the table key plus the index key when listing an index.
 *
 * @example
 * ```ts
 * keyOf(item, ["PK", "SK", "GSI1PK", "GSI1SK"]);
 * ```
 */
export function keyOf(item: Item, attributes: readonly string[]): ItemKey {
  const key: ItemKey = {};
  for (const attribute of attributes) {
    const value = item[attribute];
    if (typeof value !== "string") throw new Error(`item ${String(item.PK)}/${String(item.SK)} lacks key attribute ${attribute}`);
    key[attribute] = value;
  }
  return key;
}

/**
 * The attributes of a listing's cursor for a table query (`undefined`) or an index query.
 *
 * @example
 * ```ts
 * keyAttributes("GSI1"); // ["PK", "SK", "GSI1PK", "GSI1SK"]
 * ```
 */
export function keyAttributes(index: string | undefined): string[] {
  return index === undefined ? ["PK", "SK"] : ["PK", "SK", `${index}PK`, `${index}SK`];
}

/**
 * Waits before the `attempt`-th retry of unprocessed batch items: exponential from 25 ms, capped at 2 s, with jitter.
 *
 * @example
 * ```ts
 * await backoff(2); // ~100 ms
 * ```
 */
export async function backoff(attempt: number): Promise<void> {
  const base = Math.min(2_000, 25 * 2 ** attempt);
  await new Promise((resolve) => setTimeout(resolve, base / 2 + Math.random() * (base / 2)));
}
