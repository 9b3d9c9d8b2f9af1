import { randomUUID } from "node:crypto";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { makeS3Client } from "../../../lambdas/adapters/s3Client.js";
import { S3PayloadStore } from "../../../lambdas/adapters/s3PayloadStore.js";
import { startMoto } from "../../support/moto.js";
import { describePayloadStoreContract } from "./payloadStore.contract.js";

describePayloadStoreContract("S3PayloadStore on moto", async () => {
  const server = await startMoto();
  const client = makeS3Client({ endpoint: server.endpoint });
  const bucket = `aloft-${randomUUID()}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    store: new S3PayloadStore(client, bucket),
    dispose: async () => {
      client.destroy();
      await server.close();
    },
  };
});
