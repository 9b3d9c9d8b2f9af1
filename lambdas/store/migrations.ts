import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, GetCommand, PutCommand, ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { makeDynamoDbDocumentClient } from "../adapters/awsClients.js";
import { keys, partitions, runShard } from "./keys.js";
import { backoff, type Item } from "./paging.js";

/** Attempts at a batch whose items DynamoDB keeps returning unprocessed. */
const BATCH_ATTEMPTS = 10;

/**
 * Converts, once per table, the run-day pointers of the earlier "all runs" layout
 * (`SK=DAY#<createdAt>`, `GSI2PK=RUNS#<yyyy-mm-dd>`) into the sharded pointers listings read now
 * (`SK=ALL#<createdAt>`, `GSI2PK=RUNS#<shard>`), deleting each day item, then writes a marker
 * (`PK=META`, `SK=RUN_POINTERS`) so later calls cost one GetItem. It scans the whole table: meant for
 * the local server's own data dir at start (small, one writer), not for a busy table on AWS.
 * Resolves to the number of pointers converted.
 *
 * @example
 * ```ts
 * await ensureTable(client, "aloft");
 * await convertRunDayPointers(client, "aloft"); // 0 once converted
 * ```
 */
export async function convertRunDayPointers(client: DynamoDBClient, tableName: string): Promise<number> {
  const documents = makeDynamoDbDocumentClient(client);
  const marker = await documents.send(new GetCommand({ TableName: tableName, Key: keys.runPointersConverted, ConsistentRead: true }));
  if (marker.Item !== undefined) return 0;
  let converted = 0;
  let startKey: Item | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: "begins_with(SK, :day)",
        ExpressionAttributeValues: { ":day": "DAY#" },
        ProjectionExpression: "PK, SK, runId, createdAt",
        ExclusiveStartKey: startKey,
      }),
    );
    const days = (page.Items ?? []).filter((day) => typeof day.runId === "string" && typeof day.createdAt === "string");
    await batchWrite(
      documents,
      tableName,
      days.flatMap((day) => {
        const runId = String(day.runId);
        const createdAt = String(day.createdAt);
        const pointer = { ...keys.runPointer(runId, createdAt), GSI2PK: partitions.runs(runShard(runId)), GSI2SK: `${createdAt}#${runId}`, runId, createdAt };
        return [{ PutRequest: { Item: pointer } }, { DeleteRequest: { Key: { PK: day.PK, SK: day.SK } } }];
      }),
    );
    converted += days.length;
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  await documents.send(new PutCommand({ TableName: tableName, Item: { ...keys.runPointersConverted, converted, convertedAt: new Date().toISOString() } }));
  return converted;
}

async function batchWrite(documents: DynamoDBDocumentClient, tableName: string, requests: Record<string, unknown>[]): Promise<void> {
  for (let offset = 0; offset < requests.length; offset += 25) {
    let pending = requests.slice(offset, offset + 25);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= BATCH_ATTEMPTS) throw new Error(`BatchWriteItem left ${pending.length} items unwritten after ${BATCH_ATTEMPTS} attempts`);
      if (attempt > 0) await backoff(attempt);
      const output = await documents.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (output.UnprocessedItems?.[tableName] ?? []) as Record<string, unknown>[];
    }
  }
}
