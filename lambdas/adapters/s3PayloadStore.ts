import type { S3Client } from "@aws-sdk/client-s3";
import { lazyClient, type ClientSource } from "./awsClients.js";
import { awsSdk } from "./awsSdk.js";
import type { PayloadStore } from "../services/payloads.js";

/**
 * The AWS payload store: one S3 object per key in the control plane's bucket (encrypted with the
 * bucket's KMS key by the bucket's default encryption), under a prefix. Given a client factory, it
 * loads the S3 SDK on its first put or get, so a function whose values all fit inline never does.
 *
 * @example
 * ```ts
 * const payloads = new S3PayloadStore(() => loadS3Client(), process.env.ALOFT_BUCKET!, "payloads/");
 * ```
 */
export class S3PayloadStore implements PayloadStore {
  private readonly client: () => Promise<S3Client>;

  constructor(
    client: ClientSource<S3Client>,
    private readonly bucket: string,
    private readonly prefix = "payloads/",
  ) {
    this.client = lazyClient(client);
  }

  async put(key: string, json: string): Promise<void> {
    const client = await this.client();
    const { PutObjectCommand } = awsSdk("@aws-sdk/client-s3");
    await client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${key}`, Body: json, ContentType: "application/json" }));
  }

  async get(key: string): Promise<string> {
    const client = await this.client();
    const { GetObjectCommand } = awsSdk("@aws-sdk/client-s3");
    const output = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${key}` }));
    if (!output.Body) throw new Error(`payload ${key} is empty`);
    return output.Body.transformToString("utf8");
  }

  async delete(key: string): Promise<void> {
    const client = await this.client();
    const { DeleteObjectCommand } = awsSdk("@aws-sdk/client-s3");
    // S3 answers 204 for a key that does not exist: deleting twice is fine.
    await client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${key}` }));
  }
}
