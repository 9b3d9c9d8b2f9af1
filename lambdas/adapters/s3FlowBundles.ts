import { randomUUID } from "node:crypto";
import { access, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { S3Client } from "@aws-sdk/client-s3";
import { lazyClient, type ClientSource } from "./awsClients.js";
import { awsSdk } from "./awsSdk.js";
import type { FlowBundles } from "../services/ports.js";

const BUNDLE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Flow bundles in S3: bundle `<id>` is the ES module `s3://<bucket>/<prefix><id>/index.mjs`. It is
 * downloaded once per execution environment into `directory` (Lambda: under /tmp) and imported;
 * later loads of the same id reuse the imported module. Given a client factory, it loads the S3 SDK
 * on its first download.
 *
 * @example
 * ```ts
 * const bundles = new S3FlowBundles(() => loadS3Client(), "aloft-payloads", "bundles/", "/tmp/aloft-bundles");
 * const exports = await bundles.load("etl-3f2a9c");
 * ```
 */
export class S3FlowBundles implements FlowBundles {
  private readonly loaded = new Map<string, Promise<Record<string, unknown>>>();

  private readonly client: () => Promise<S3Client>;

  constructor(
    client: ClientSource<S3Client>,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly directory: string,
  ) {
    this.client = lazyClient(client);
  }

  load(bundleId: string): Promise<Record<string, unknown>> {
    if (!BUNDLE_ID.test(bundleId)) {
      return Promise.reject(new Error(`bundle id "${bundleId.slice(0, 64)}" is not valid: use letters, digits, ".", "_" and "-" (at most 128)`));
    }
    let module = this.loaded.get(bundleId);
    if (!module) {
      module = this.download(bundleId).then((path) => import(pathToFileURL(path).href) as Promise<Record<string, unknown>>);
      // A failed download is tried again by the next load, not remembered.
      module.catch(() => this.loaded.delete(bundleId));
      this.loaded.set(bundleId, module);
    }
    return module;
  }

  private async download(bundleId: string): Promise<string> {
    const folder = join(this.directory, bundleId);
    const path = join(folder, "index.mjs");
    if (await exists(path)) return path;
    const key = `${this.prefix}${bundleId}/index.mjs`;
    const client = await this.client();
    const { GetObjectCommand } = awsSdk("@aws-sdk/client-s3");
    const output = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!output.Body) throw new Error(`flow bundle s3://${this.bucket}/${key} is empty`);
    await mkdir(folder, { recursive: true });
    // Written aside and renamed, so a concurrent or interrupted download never leaves half a module.
    const partial = join(folder, `.index-${randomUUID()}.mjs`);
    try {
      await writeFile(partial, await output.Body.transformToByteArray());
      await rename(partial, path);
    } finally {
      await rm(partial, { force: true });
    }
    return path;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
