import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleRegistration, type RegisteredDeployment } from "../../infra/registration/bundleRegistration.js";
import { copyBundleTo } from "../../infra/registration/handler.js";
import { makeS3Client } from "../../lambdas/adapters/s3Client.js";
import { S3FlowBundles } from "../../lambdas/adapters/s3FlowBundles.js";
import { startTestControlPlane, type TestControlPlane } from "../support/controlPlane.js";
import { startMoto, type MotoServer } from "../support/moto.js";

let controlPlane: TestControlPlane;
let moto: MotoServer;
let s3: S3Client;
let directory: string;
const assets = `cdk-assets-${randomUUID()}`;
const payloads = `aloft-payloads-${randomUUID()}`;
let onEvent: (event: unknown) => Promise<{ PhysicalResourceId: string; Data: { BundleId: string } }>;

beforeAll(async () => {
  [controlPlane, moto] = await Promise.all([startTestControlPlane(), startMoto()]);
  s3 = makeS3Client({ endpoint: moto.endpoint });
  await s3.send(new CreateBucketCommand({ Bucket: assets }));
  await s3.send(new CreateBucketCommand({ Bucket: payloads }));
  directory = await mkdtemp(join(tmpdir(), "aloft-registration-"));
  onEvent = bundleRegistration({ deployments: controlPlane.services.deployments, copyBundle: copyBundleTo(s3, payloads, "bundles/") });
});

afterAll(async () => {
  s3?.destroy();
  await Promise.all([controlPlane?.dispose(), moto?.close()]);
  await rm(directory, { recursive: true, force: true });
});

/** Stages a bundle in the "assets" bucket the way `cdk deploy` publishes the FlowBundle's asset. */
async function stage(source: string): Promise<{ bundleId: string; key: string }> {
  const bundleId = `flows-${randomUUID().slice(0, 8)}`;
  const key = `${randomUUID()}.mjs`;
  await s3.send(new PutObjectCommand({ Bucket: assets, Key: key, Body: source }));
  return { bundleId, key };
}

function properties(bundle: { bundleId: string; key: string }, deployments: RegisteredDeployment[], removeDeploymentsOnDelete = false) {
  return {
    ServiceToken: "arn:aws:lambda:eu-west-1:123456789012:function:provider",
    BundleId: bundle.bundleId,
    SourceBucket: assets,
    SourceKey: bundle.key,
    Deployments: JSON.stringify(deployments),
    RemoveDeploymentsOnDelete: String(removeDeploymentsOnDelete),
  };
}

describe("FlowBundle registration (onEvent, on dynalite and moto)", () => {
  it("on Create, copies the bundle to bundles/<bundleId>/index.mjs and creates the deployments on it", async () => {
    const bundle = await stage("export const answer = 42;");
    const name = `etl-${randomUUID()}`;
    const response = await onEvent({
      RequestType: "Create",
      LogicalResourceId: "EtlRegistration",
      ResourceProperties: properties(bundle, [{ name, flow: "etl", parameters: { limit: 3, dryRun: false }, tags: ["nightly"], description: "Nightly ETL" }]),
    });

    expect(response).toEqual({ PhysicalResourceId: "aloft-flow-bundle/EtlRegistration", Data: { BundleId: bundle.bundleId, Deployments: name } });
    const deployment = await controlPlane.services.deployments.get(name);
    expect(deployment).toMatchObject({
      name,
      flowName: "etl",
      bundleId: bundle.bundleId,
      parameters: { limit: 3, dryRun: false },
      tags: ["nightly"],
      description: "Nightly ETL",
      revision: 1,
    });
    expect(deployment.entrypoint).toBeUndefined();
    // Where the runner looks for it.
    const exports = await new S3FlowBundles(s3, payloads, "bundles/", directory).load(bundle.bundleId);
    expect(exports.answer).toBe(42);
  });

  it("records a step-functions deployment's engine and state machine, and moves it back to durable when the stack says so", async () => {
    const bundle = await stage("export const answer = 42;");
    const name = `etl-sfn-${randomUUID()}`;
    const stateMachineArn = "arn:aws:states:eu-west-1:123456789012:stateMachine:aloft-prod_etl-sfn";
    const created = await onEvent({
      RequestType: "Create",
      LogicalResourceId: "Sfn",
      ResourceProperties: properties(bundle, [{ name, flow: "etl", engine: "step-functions", stateMachineArn }]),
    });

    expect(await controlPlane.services.deployments.get(name)).toMatchObject({ engine: "step-functions", stateMachineArn, bundleId: bundle.bundleId });

    await onEvent({
      RequestType: "Update",
      LogicalResourceId: "Sfn",
      PhysicalResourceId: created.PhysicalResourceId,
      ResourceProperties: properties(bundle, [{ name, flow: "etl" }]),
      OldResourceProperties: properties(bundle, [{ name, flow: "etl", engine: "step-functions", stateMachineArn }]),
    });
    expect((await controlPlane.services.deployments.get(name)).engine).toBe("durable");
  });

  it("on Update, moves the deployments to the new bundle with a new revision, and creates the ones added", async () => {
    const first = await stage("export const version = 1;");
    const second = await stage("export const version = 2;");
    const kept = `etl-${randomUUID()}`;
    const added = `report-${randomUUID()}`;
    const created = await onEvent({ RequestType: "Create", LogicalResourceId: "Etl", ResourceProperties: properties(first, [{ name: kept, flow: "etl" }]) });

    const response = await onEvent({
      RequestType: "Update",
      LogicalResourceId: "Etl",
      PhysicalResourceId: created.PhysicalResourceId,
      ResourceProperties: properties(second, [{ name: kept, flow: "etl-v2", parameters: { limit: 5 } }, { name: added, flow: "report" }]),
      OldResourceProperties: properties(first, [{ name: kept, flow: "etl" }]),
    });

    expect(response.PhysicalResourceId).toBe(created.PhysicalResourceId);
    expect(await controlPlane.services.deployments.get(kept)).toMatchObject({ bundleId: second.bundleId, flowName: "etl-v2", parameters: { limit: 5 }, revision: 2 });
    expect(await controlPlane.services.deployments.get(added)).toMatchObject({ bundleId: second.bundleId, flowName: "report", revision: 1 });
    const exports = await new S3FlowBundles(s3, payloads, "bundles/", directory).load(second.bundleId);
    expect(exports.version).toBe(2);
  });

  it("on Create, takes over a deployment of the same name made by hand", async () => {
    const bundle = await stage("export const answer = 1;");
    const name = `by-hand-${randomUUID()}`;
    await controlPlane.services.deployments.create({ name, flowName: "etl", bundleId: "flows-older" });

    await onEvent({ RequestType: "Create", LogicalResourceId: "Etl", ResourceProperties: properties(bundle, [{ name, flow: "etl" }]) });

    expect(await controlPlane.services.deployments.get(name)).toMatchObject({ bundleId: bundle.bundleId, revision: 2 });
  });

  it("on Delete, leaves the deployments in place by default", async () => {
    const bundle = await stage("export const answer = 1;");
    const name = `etl-${randomUUID()}`;
    const created = await onEvent({ RequestType: "Create", LogicalResourceId: "Etl", ResourceProperties: properties(bundle, [{ name, flow: "etl" }]) });

    await onEvent({ RequestType: "Delete", LogicalResourceId: "Etl", PhysicalResourceId: created.PhysicalResourceId, ResourceProperties: properties(bundle, [{ name, flow: "etl" }]) });

    expect(await controlPlane.services.deployments.get(name)).toMatchObject({ bundleId: bundle.bundleId, revision: 1 });
  });

  it("with removeDeploymentsOnDelete, removes deployments dropped by an Update and the rest on Delete", async () => {
    const bundle = await stage("export const answer = 1;");
    const dropped = `dropped-${randomUUID()}`;
    const kept = `kept-${randomUUID()}`;
    const both = [{ name: dropped, flow: "etl" }, { name: kept, flow: "etl" }];
    const created = await onEvent({ RequestType: "Create", LogicalResourceId: "Etl", ResourceProperties: properties(bundle, both, true) });
    const base = { LogicalResourceId: "Etl", PhysicalResourceId: created.PhysicalResourceId };

    await onEvent({ RequestType: "Update", ...base, ResourceProperties: properties(bundle, [{ name: kept, flow: "etl" }], true), OldResourceProperties: properties(bundle, both, true) });
    await expect(controlPlane.services.deployments.get(dropped)).rejects.toThrow(`deployment ${dropped} does not exist`);
    expect((await controlPlane.services.deployments.get(kept)).bundleId).toBe(bundle.bundleId);

    await onEvent({ RequestType: "Delete", ...base, ResourceProperties: properties(bundle, [{ name: kept, flow: "etl" }], true) });
    await expect(controlPlane.services.deployments.get(kept)).rejects.toThrow(`deployment ${kept} does not exist`);
  });

  it("refuses an event without its properties, naming the missing one", async () => {
    await expect(onEvent({ RequestType: "Create", LogicalResourceId: "Etl", ResourceProperties: { BundleId: "flows-1" } })).rejects.toThrow(
      /^FlowBundle registration: invalid event at ResourceProperties\.SourceBucket: /,
    );
  });
});
