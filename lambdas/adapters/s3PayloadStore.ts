import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { PayloadStore } from "../services/payloads.js";

/**
 * The AWS payload store: one S3 object per key in the control plane's bucket (encrypted with the
 * bucket's KMS key by the bucket's default encryption), under a prefix.
 *
 * @example
 * ```ts
 * const payloads = new S3PayloadStore(makeS3Client(), process.env.ALOFT_BUCKET!, "payloads/");
 * ```
 */
export class S3PayloadStore implements PayloadStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix = "payloads/",
  ) {}

  async put(key: string, json: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${key}`, Body: json, ContentType: "application/json" }));
  }

  async get(key: string): Promise<string> {
    const output = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${key}` }));
    if (!output.Body) throw new Error(`payload ${key} is empty`);
    return output.Body.transformToString("utf8");
  }
}
