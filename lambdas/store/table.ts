import {
  CreateTableCommand,
  DescribeTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type TableDescription,
} from "@aws-sdk/client-dynamodb";

/** The TTL attribute (epoch seconds) on logs, cache entries and idempotency keys. */
export const TTL_ATTRIBUTE = "expiresAt";

/** The three overloaded global secondary indexes (docs/data-model.md). */
export const INDEX_NAMES = ["GSI1", "GSI2", "GSI3"] as const;

/** One of the table's global secondary indexes. */
export type IndexName = (typeof INDEX_NAMES)[number];

/**
 * The control plane's one table: `PK`/`SK` strings, GSI1–GSI3 (`GSIxPK`/`GSIxSK`, projection ALL),
 * on-demand capacity. TTL on `expiresAt` is enabled separately (UpdateTimeToLive; the CDK stack does it).
 *
 * @example
 * ```ts
 * await client.send(new CreateTableCommand(tableDefinition("aloft")));
 * ```
 */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: "PK", AttributeType: "S" },
      { AttributeName: "SK", AttributeType: "S" },
      ...INDEX_NAMES.flatMap((index) => [
        { AttributeName: `${index}PK`, AttributeType: "S" as const },
        { AttributeName: `${index}SK`, AttributeType: "S" as const },
      ]),
    ],
    KeySchema: [
      { AttributeName: "PK", KeyType: "HASH" },
      { AttributeName: "SK", KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: INDEX_NAMES.map((index) => ({
      IndexName: index,
      KeySchema: [
        { AttributeName: `${index}PK`, KeyType: "HASH" as const },
        { AttributeName: `${index}SK`, KeyType: "RANGE" as const },
      ],
      Projection: { ProjectionType: "ALL" as const },
    })),
  };
}

/**
 * Creates the table if it does not exist, then waits until it and its indexes are ACTIVE.
 * Safe to call concurrently and repeatedly.
 *
 * @example
 * ```ts
 * await ensureTable(makeDynamoDbClient({ endpoint }), "aloft");
 * ```
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let table = await describe(client, tableName);
  if (table === undefined) {
    try {
      await client.send(new CreateTableCommand(tableDefinition(tableName)));
    } catch (error) {
      if (!(error instanceof Error && error.name === "ResourceInUseException")) throw error;
    }
  }
  for (let delay = 25; ; delay = Math.min(delay * 2, 1_000)) {
    table = await describe(client, tableName);
    if (table !== undefined && isActive(table)) return;
    if (Date.now() > deadline) {
      throw new Error(`table ${tableName} is not ACTIVE after ${options.timeoutMs ?? 120_000} ms (status ${table?.TableStatus ?? "missing"})`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if (error instanceof Error && error.name === "ResourceNotFoundException") return undefined;
    throw error;
  }
}

function isActive(table: TableDescription): boolean {
  return (
    table.TableStatus === "ACTIVE" &&
    (table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === undefined || index.IndexStatus === "ACTIVE")
  );
}
