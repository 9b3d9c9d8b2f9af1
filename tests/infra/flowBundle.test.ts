import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AloftControlPlane, FlowBundle } from "../../infra/index.js";
import { buildFlowBundle } from "../../infra/flowBundleBuild.js";
import { runCfnLint } from "../support/cfnLint.js";
import { arnWithSuffix, expectedStatements, statementsOfRole } from "./controlPlaneFixture.js";

const CDK_CONTEXT = (JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as { context: Record<string, unknown> }).context;
const SDK = fileURLToPath(new URL("../../sdk/index.ts", import.meta.url));

let directory: string;
let entries: { etl: string; report: string };
let app: App;
let stack: Stack;
let controlPlane: AloftControlPlane;
let etl: FlowBundle;
let report: FlowBundle;
let template: Template;
const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId((construct.node.defaultChild ?? construct) as never);
const getAtt = (construct: { node: { defaultChild?: unknown } }, attribute = "Arn") => ({ "Fn::GetAtt": [logicalId(construct), attribute] });

/** Two tiny flows files, each importing the SDK by path (so the bundle must carry it) and a local module. */
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "aloft-flow-bundle-"));
  await writeFile(join(directory, "greeting.ts"), 'export const greeting = (name: string): string => `hello ${name}`;\n');
  const flowsFile = (flowName: string) =>
    `import { flow } from ${JSON.stringify(SDK)};\nimport { greeting } from "./greeting.js";\n` +
    `export const main = flow({ name: ${JSON.stringify(flowName)}, run: async (params: { name: string }) => greeting(params.name) });\n`;
  entries = { etl: join(directory, "etl.ts"), report: join(directory, "report.ts") };
  await writeFile(entries.etl, flowsFile("etl"));
  await writeFile(entries.report, flowsFile("report"));

  app = new App({ context: CDK_CONTEXT, outdir: join(directory, "cdk.out") });
  stack = new Stack(app, "AloftFlows");
  controlPlane = new AloftControlPlane(stack, "Aloft", { stage: "prod" });
  etl = new FlowBundle(stack, "Etl", {
    controlPlane,
    entry: entries.etl,
    deployments: [{ name: "nightly-etl", flow: "etl", parameters: { name: "orders", retries: 2, dryRun: false }, tags: ["nightly"], workPool: "lambda" }],
  });
  report = new FlowBundle(stack, "Report", { controlPlane, entry: entries.report, deployments: [{ name: "report", flow: "report" }], removeDeploymentsOnDelete: true });
  template = Template.fromStack(stack);
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("FlowBundle", () => {
  it("names the bundle by its content: the same entry gives the same bundleId, other code another", () => {
    expect(etl.bundleId).toMatch(/^flows-[0-9a-f]{24}$/);
    expect(buildFlowBundle(entries.etl, join(directory, "again")).bundleId).toBe(etl.bundleId);
    expect(report.bundleId).not.toBe(etl.bundleId);
  });

  it("changes the bundleId when the entry's code changes", async () => {
    const entry = join(directory, "changing.ts");
    await writeFile(entry, "export const version = 1;\n");
    const before = buildFlowBundle(entry, join(directory, "changing-1")).bundleId;
    await writeFile(entry, "export const version = 2;\n");
    expect(buildFlowBundle(entry, join(directory, "changing-2")).bundleId).not.toBe(before);
  });

  it("carries an inline source map unless sourceMap is false", () => {
    const withMap = buildFlowBundle(entries.etl, join(directory, "with-map"));
    const withoutMap = buildFlowBundle(entries.etl, join(directory, "without-map"), { sourceMap: false });
    expect(readFileSync(withMap.file, "utf8")).toContain("//# sourceMappingURL=data:application/json;base64,");
    expect(readFileSync(withoutMap.file, "utf8")).not.toContain("sourceMappingURL");
    expect(withoutMap.bundleId).not.toBe(withMap.bundleId);
  });

  it("stages a self-contained ES module that Node imports from a folder without node_modules, exporting the flow", () => {
    const staged = etl.asset.assetPath;
    const hash = createHash("sha256").update(readFileSync(join(app.outdir, staged))).digest("hex");
    expect(etl.bundleId).toBe(`flows-${hash.slice(0, 24)}`);
    // Where the runner keeps bundles: a temporary folder with nothing to resolve imports from.
    const isolated = join(directory, "isolated", etl.bundleId);
    mkdirSync(isolated, { recursive: true });
    copyFileSync(join(app.outdir, staged), join(isolated, "index.mjs"));
    const script = `const m = await import(${JSON.stringify(pathToFileURL(join(isolated, "index.mjs")).href)}); console.log(JSON.stringify({ type: typeof m.main, kind: m.main.kind, name: m.main.name }));`;
    const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: isolated, encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({ type: "function", kind: "flow", name: "etl" });
  });

  it("uploads the bundle to bundles/<bundleId>/index.mjs and registers the deployments on that bundleId", () => {
    expect(etl.bundleKey).toBe(`bundles/${etl.bundleId}/index.mjs`);
    template.hasResourceProperties("Custom::AloftFlowBundle", {
      ServiceToken: getAtt(etl.node.findChild("RegistrationProvider").node.findChild("framework-onEvent")),
      BundleId: etl.bundleId,
      SourceBucket: stack.resolve(etl.asset.s3BucketName),
      SourceKey: etl.asset.s3ObjectKey,
      Deployments: JSON.stringify([{ name: "nightly-etl", flow: "etl", parameters: { name: "orders", retries: 2, dryRun: false }, tags: ["nightly"], workPool: "lambda" }]),
      RemoveDeploymentsOnDelete: "false",
    });
    template.hasResourceProperties("Custom::AloftFlowBundle", { BundleId: report.bundleId, RemoveDeploymentsOnDelete: "true" });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: { ALOFT_TABLE_NAME: { Ref: logicalId(controlPlane.data.table) }, ALOFT_PAYLOAD_BUCKET: { Ref: logicalId(controlPlane.data.bucket) }, ALOFT_BUNDLE_PREFIX: "bundles/" } },
      Runtime: "nodejs24.x",
    });
  });

  it("lets the registration function use deployment items, read its staged bundle, write only its bundle's key, and use the two keys", () => {
    const table = getAtt(controlPlane.data.table);
    const statements = (bundle: FlowBundle, itemActions: string[]) =>
      expectedStatements([
        { actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [getAtt(bundle.node.findChild("RegistrationLogGroup"))] },
        { actions: itemActions, resources: [table] },
        { actions: ["dynamodb:Query"], resources: [arnWithSuffix(table, "/index/*")] },
        { actions: ["s3:GetObject"], resources: [stack.resolve(bundle.asset.bucket.arnForObjects(bundle.asset.s3ObjectKey))] },
        { actions: ["s3:PutObject"], resources: [arnWithSuffix(getAtt(controlPlane.data.bucket), `/bundles/${bundle.bundleId}/index.mjs`)] },
        { actions: ["kms:Decrypt", "kms:GenerateDataKey"], resources: [getAtt(controlPlane.data.tableKey), getAtt(controlPlane.data.bucketKey)] },
      ]);
    expect(statementsOfRole(template, logicalId(etl.registrationRole))).toEqual(statements(etl, ["dynamodb:GetItem", "dynamodb:PutItem"]));
    expect(statementsOfRole(template, logicalId(report.registrationRole))).toEqual(statements(report, ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"]));
    expect(JSON.stringify(stack.resolve(etl.asset.bucket.arnForObjects(etl.asset.s3ObjectKey)))).toContain(etl.asset.s3ObjectKey);
  });

  it("leaves the runner function reading any bundle under bundles/, so Lambda pools need nothing more", () => {
    const runner = statementsOfRole(template, logicalId(controlPlane.functions.runner.role));
    expect(runner).toContainEqual({ actions: ["s3:GetObject"], resources: [arnWithSuffix(getAtt(controlPlane.data.bucket), "/bundles/*")] });
  });

  it("refuses bad props, naming every problem at once", () => {
    const scratch = new Stack(new App({ context: CDK_CONTEXT }), "Bad");
    const plane = { stage: "dev" } as unknown as AloftControlPlane;
    expect(
      () =>
        new FlowBundle(scratch, "Bad", {
          controlPlane: plane,
          entry: join(directory, "missing.ts"),
          deployments: [
            { name: "etl", flow: "etl" },
            { name: "etl", flow: "" },
            { name: "-bad name", flow: "etl" },
          ],
        }),
    ).toThrow(
      new RegExp(
        `^Bad/Bad: entry .*missing\\.ts does not exist; deployments\\[1\\]\\.name "etl" is listed twice; deployments\\[1\\]\\.flow: .+; deployments\\[2\\]\\.name: .+$`,
      ),
    );
  });

  it("has no unacknowledged cdk-nag AwsSolutions finding", () => {
    const findings = new AwsSolutionsChecks(app).validateScope(app).violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}: ${violation.description}`),
    );
    expect(findings).toEqual([]);
  });

  it("passes cfn-lint without errors or warnings", async () => {
    const file = join(directory, "flows.template.json");
    await writeFile(file, JSON.stringify(template.toJSON(), null, 1));
    // W3005: CDK adds an explicit DependsOn on each function's role, which a GetAtt already implies.
    const result = await runCfnLint([file], ["--ignore-checks", "W3005"]);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
  });
});
