import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput, type QueryCommandOutput } from "@aws-sdk/lib-dynamodb";
import { encodeCursor, type ItemKey } from "./cursor.js";
import type { Page } from "./records.js";

/** A stored item read from DynamoDB. */
export type Item = Record<string, unknown>;

/** The largest page a listing serves. */
export const MAX_PAGE_LIMIT = 1_000;

/**
 * At most this many Query calls read one page of a one-partition listing. A page whose
 * FilterExpression (or expiry check) drops most items therefore returns what those calls found,
 * possibly nothing, with a cursor to continue: the cost of a request never depends on how many
 * items a filter skips.
 */
export const MAX_QUERIES_PER_PAGE = 4;

/**
 * How many items a Query with a FilterExpression evaluates per call (at least; `limit + 1` when
 * larger): with `MAX_QUERIES_PER_PAGE`, a filtered page examines up to 1,000 items (and at most
 * 1 MB per call, DynamoDB's own cap).
 */
export const FILTERED_QUERY_LIMIT = 250;

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
 * Sends a Query that stops when `signal` aborts: an aborted signal sends nothing, and one that
 * aborts meanwhile cancels the HTTP request (the AWS SDK rejects with an AbortError).
 *
 * @example
 * ```ts
 * const output = await sendQuery(documents, { TableName, KeyConditionExpression, … }, request.signal);
 * ```
 */
export async function sendQuery(documents: DynamoDBDocumentClient, input: QueryCommandInput, signal?: AbortSignal): Promise<QueryCommandOutput> {
  signal?.throwIfAborted();
  return documents.send(new QueryCommand(input), signal === undefined ? undefined : { abortSignal: signal });
}

/**
 * How `readPage` reads one page of a one-partition listing.
 *
 * @example
 * ```ts
 * const read: PageRead<LogRecord> = { documents, input, limit: 100, attributes: ["PK", "SK"], resolve: (items) => items.map(recordOf<LogRecord>) };
 * ```
 */
export interface PageRead<T> {
  documents: DynamoDBDocumentClient;
  /** The Query, with its `Limit` (items evaluated per call). */
  input: QueryCommandInput;
  limit: number;
  /** Where the previous page stopped (exclusive): a decoded cursor. */
  startKey?: ItemKey;
  /** The cursor's attributes: the table key, plus the index key when `input` queries an index. */
  attributes: readonly string[];
  /**
   * Turns the items of one Query call into values, in order; `undefined` drops an item (a stale
   * pointer). It is given only the items that still fit on the page.
   */
  resolve: (items: Item[]) => Promise<(T | undefined)[]> | (T | undefined)[];
  /** Default `MAX_QUERIES_PER_PAGE`. */
  maxQueries?: number;
  signal?: AbortSignal;
}

/**
 * One page of a one-partition listing, in at most `maxQueries` Query calls: the values of the items
 * DynamoDB returns, until `limit` are collected, the partition's key range ends (no cursor), or the
 * calls are used up. The cursor points just after the last item the page took (or, when every
 * returned item was taken, after the last item DynamoDB evaluated), so the next page starts exactly
 * where this one stopped. A page may be short, even empty, and still carry a cursor: only the end of
 * the range has none.
 *
 * @example
 * ```ts
 * const page = await readPage({ documents, input, limit: 20, attributes: keyAttributes("GSI1"), resolve: (items) => items.map(recordOf) });
 * ```
 */
export async function readPage<T>(read: PageRead<T>): Promise<Page<T>> {
  const { limit, attributes, signal } = read;
  const maxQueries = read.maxQueries ?? MAX_QUERIES_PER_PAGE;
  const values: T[] = [];
  let startKey = read.startKey;
  for (let queries = 0; queries < maxQueries; queries++) {
    const output = await sendQuery(read.documents, { ...read.input, ExclusiveStartKey: startKey }, signal);
    const items = (output.Items ?? []) as Item[];
    const taken = items.slice(0, limit - values.length);
    if (taken.length > 0) {
      for (const value of await read.resolve(taken)) if (value !== undefined) values.push(value);
    }
    const lastKey = output.LastEvaluatedKey as Item | undefined;
    if (taken.length < items.length) return { items: values, cursor: encodeCursor(keyOf(taken[taken.length - 1]!, attributes)) };
    if (lastKey === undefined) return { items: values };
    startKey = keyOf(lastKey, attributes);
    if (values.length === limit) break;
  }
  return { items: values, cursor: encodeCursor(startKey!) };
}

/**
 * The pages of a Query, from `startKey` (exclusive) to the end of the key range.
 *
 * @example
 * ```ts
 * for await (const items of queryPages(documents, input)) console.log(items.length);
 * ```
 */
export async function* queryPages(
  documents: DynamoDBDocumentClient,
  input: QueryCommandInput,
  startKey?: ItemKey,
  signal?: AbortSignal,
): AsyncGenerator<Item[]> {
  let exclusiveStartKey: Item | undefined = startKey;
  do {
    const output = await sendQuery(documents, { ...input, ExclusiveStartKey: exclusiveStartKey }, signal);
    yield (output.Items ?? []) as Item[];
    exclusiveStartKey = output.LastEvaluatedKey;
  } while (exclusiveStartKey !== undefined);
}

/**
 * Every item of a Query, for a collection that is only ever small: a run's state history (listings page
 * with `readPage` instead).
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
