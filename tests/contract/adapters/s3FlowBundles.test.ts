import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeS3Client } from "../../../lambdas/adapters/s3Client.js";
import { S3FlowBundles } from "../../../lambdas/adapters/s3FlowBundles.js";
import { startMoto, type MotoServer } from "../../support/moto.js";

let moto: MotoServer;
let s3: S3Client;
let bucket: string;
let directory: string;

beforeAll(async () => {
  moto = await startMoto();
  s3 = makeS3Client({ endpoint: moto.endpoint });
  bucket = `aloft-${randomUUID()}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  directory = await mkdtemp(join(tmpdir(), "aloft-bundles-"));
});

afterAll(async () => {
  s3?.destroy();
  await moto?.close();
  await rm(directory, { recursive: true, force: true });
});

async function upload(bundleId: string, source: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `bundles/${bundleId}/index.mjs`, Body: source }));
}

describe("S3FlowBundles on moto", () => {
  it("downloads <prefix><id>/index.mjs and imports it", async () => {
    const bundleId = `b-${randomUUID()}`;
    await upload(bundleId, 'export const answer = 42; export default "bundle";');

    const exports = await new S3FlowBundles(s3, bucket, "bundles/", directory).load(bundleId);

    expect({ ...exports }).toEqual({ answer: 42, default: "bundle" });
  });

  it("keeps a downloaded bundle for the execution environment", async () => {
    const bundleId = `b-${randomUUID()}`;
    await upload(bundleId, "export const version = 1;");
    await new S3FlowBundles(s3, bucket, "bundles/", directory).load(bundleId);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `bundles/${bundleId}/index.mjs` }));

    // A new instance (a new invocation after a cold start in the same sandbox) finds the file in the folder.
    const exports = await new S3FlowBundles(s3, bucket, "bundles/", directory).load(bundleId);

    expect(exports.version).toBe(1);
  });

  it("fails for a missing bundle, and tries again on the next load", async () => {
    const bundleId = `b-${randomUUID()}`;
    const bundles = new S3FlowBundles(s3, bucket, "bundles/", directory);

    await expect(bundles.load(bundleId)).rejects.toThrow();
    await upload(bundleId, "export const late = true;");

    expect((await bundles.load(bundleId)).late).toBe(true);
  });

  it("refuses a bundle id that could leave its folder", async () => {
    await expect(new S3FlowBundles(s3, bucket, "bundles/", directory).load("../etc")).rejects.toThrow(
      'bundle id "../etc" is not valid: use letters, digits, ".", "_" and "-" (at most 128)',
    );
  });
});
