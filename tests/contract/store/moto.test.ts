import { randomUUID } from "node:crypto";
import { makeDynamoDbClient } from "../../../lambdas/adapters/awsClients.js";
import { DynamoDbStore } from "../../../lambdas/store/dynamoDbStore.js";
import { ensureTable } from "../../../lambdas/store/table.js";
import { startMoto } from "../../support/moto.js";
import { countCommands } from "../../support/countingDynamoDb.js";
import { describeStoreContract } from "./store.contract.js";

describeStoreContract("DynamoDbStore on moto", async () => {
  const server = await startMoto();
  const client = makeDynamoDbClient({ endpoint: server.endpoint });
  const tableName = `aloft-${randomUUID()}`;
  await ensureTable(client, tableName);
  return {
    store: new DynamoDbStore({ client, tableName }),
    commands: countCommands(client),
    dispose: async () => {
      client.destroy();
      await server.close();
    },
  };
}, { serializesConcurrentWrites: false });
