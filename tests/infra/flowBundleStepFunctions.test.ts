import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { App, Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileFlow, findFlow } from "../../sdk/index.js";
import { AloftControlPlane, FlowBundle } from "../../infra/index.js";
import { runCfnLint } from "../support/cfnLint.js";
import { arnWithSuffix, expectedStatements, statementsOfRole } from "./controlPlaneFixture.js";

const CDK_CONTEXT = (JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as { context: Record<string, unknown> }).context;
const SDK = fileURLToPath(new URL("../../sdk/index.ts", import.meta.url));

/** A flows file with a flow that starts a subflow, and a short flow for an Express machine. */
const FLOWS = `import { flow, task } from ${JSON.stringify(SDK)};
export const extract = task({ name: "sfn-extract", retries: 2, retryDelay: 5, run: async (day: string) => [day, day] });
export const count = task({ name: "sfn-count", run: async (rows: string[]) => rows.length });
export const loadOrders = flow({ name: "sfn-load-orders", run: async (params: { rows: string[] }) => count(params.rows) });
export const etl = flow({
  name: "sfn-etl",
  run: async (params: { day: string }) => {
    const rows = await extract(params.day);
    return loadOrders({ rows });
  },
});
export const quick = flow({ name: "sfn-quick", run: async (params: { day: string }) => extract(params.day) });
`;

let directory: string;
let entry: string;
let stack: Stack;
let app: App;
let controlPlane: AloftControlPlane;
let bundle: FlowBundle;
let template: Template;
const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId((construct.node.defaultChild ?? construct) as never);
const getAtt = (construct: { node: { defaultChild?: unknown } }, attribute = "Arn") => ({ "Fn::GetAtt": [logicalId(construct), attribute] });

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "aloft-sfn-bundle-"));
  entry = join(directory, "flows.ts");
  await writeFile(entry, FLOWS);
  app = new App({ context: CDK_CONTEXT, outdir: join(directory, "cdk.out") });
  stack = new Stack(app, "AloftStepFunctionsFlows");
  controlPlane = new AloftControlPlane(stack, "Aloft", { stage: "prod" });
  bundle = new FlowBundle(stack, "Flows", {
    controlPlane,
    entry,
    deployments: [
      { name: "nightly-etl", flow: "sfn-etl", engine: "step-functions", parameters: { day: "2026-11-21" } },
      { name: "reports/quick", flow: "sfn-quick", engine: "step-functions", stateMachineType: "EXPRESS" },
      { name: "durable-etl", flow: "sfn-etl" },
    ],
  });
  template = Template.fromStack(stack);
  // The same flows, compiled in this process, are what the machines must hold.
  await import(pathToFileURL(entry).href);
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function machineNamed(name: string): Record<string, unknown> {
  const found = Object.values(template.findResources("AWS::StepFunctions::StateMachine")).find(
    (resource) => (resource as { Properties: { StateMachineName: string } }).Properties.StateMachineName === name,
  ) as { Properties: Record<string, unknown> } | undefined;
  if (found === undefined) throw new Error(`no state machine named ${name}`);
  return found.Properties;
}

describe("FlowBundle, engine step-functions", () => {
  it("deploys one state machine per step-functions deployment, holding the flow compiled by compileFlow, and one for its subflow", async () => {
    template.resourceCountIs("AWS::StepFunctions::StateMachine", 3);
    const etl = machineNamed("aloft-prod_nightly-etl");
    expect(etl.StateMachineType).toBe("STANDARD");
    expect(etl.DefinitionString).toBe(JSON.stringify((await compileFlow(findFlow("sfn-etl"), { type: "STANDARD" })).definition));
    expect(etl.DefinitionString).toContain('"Resource":"arn:aws:states:::states:startExecution.sync:2"');
    const child = machineNamed("aloft-prod_nightly-etl_sfn-load-orders");
    expect(child.StateMachineType).toBe("STANDARD");
    expect(child.DefinitionString).toBe(JSON.stringify((await compileFlow(findFlow("sfn-load-orders"), { type: "STANDARD" })).definition));
    const quick = machineNamed("aloft-prod_reports-quick");
    expect(quick.StateMachineType).toBe("EXPRESS");
    expect(quick.DefinitionString).toBe(JSON.stringify((await compileFlow(findFlow("sfn-quick"), { type: "EXPRESS" })).definition));
  });

  it("fills the placeholders with the bundle's task function and the subflow's state machine", () => {
    const etl = bundle.stateMachines["nightly-etl"]!;
    const child = bundle.node.findChild("StateMachinenightly-etlSubflowsfn-load-orders") as typeof etl;
    expect(machineNamed("aloft-prod_nightly-etl").DefinitionSubstitutions).toEqual({
      AloftTaskFunctionArn: getAtt(bundle.taskFunction!.function),
      AloftStateMachineArn_sfn_load_orders: getAtt(child.stateMachine),
    });
    expect(machineNamed("aloft-prod_nightly-etl_sfn-load-orders").DefinitionSubstitutions).toEqual({ AloftTaskFunctionArn: getAtt(bundle.taskFunction!.function) });
    expect(statementsOfRole(template, logicalId(etl.role)).filter((statement) => !statement.actions.some((action) => action.startsWith("logs:") || action.startsWith("xray:")))).toEqual(
      expectedStatements([
        { actions: ["lambda:InvokeFunction"], resources: [getAtt(bundle.taskFunction!.function)] },
        { actions: ["states:StartExecution"], resources: [getAtt(child.stateMachine)] },
        {
          actions: ["states:DescribeExecution", "states:StopExecution"],
          resources: [{ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":states:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":execution:", getAtt(child.stateMachine, "Name"), ":*"]] }],
        },
        {
          actions: ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
          resources: [{ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":events:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"]] }],
        },
      ]),
    );
  });

  it("builds the task function from the task handler and the flows file, with the table and payloads/ and nothing more", () => {
    const tasks = bundle.taskFunction!;
    const fn = template.findResources("AWS::Lambda::Function")[logicalId(tasks.function)] as { Properties: Record<string, unknown> };
    expect(fn.Properties).toMatchObject({
      Handler: "index.handler",
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      TracingConfig: { Mode: "Active" },
      Environment: { Variables: { ALOFT_TABLE_NAME: { Ref: logicalId(controlPlane.data.table) }, ALOFT_PAYLOAD_BUCKET: { Ref: logicalId(controlPlane.data.bucket) } } },
    });
    const code = readFileSync(join(app.outdir, "aloft-flow-bundles", bundle.bundleId, "task", "index.mjs"), "utf8");
    expect(code).toContain("sfn-extract");
    expect(code).toContain("aloft.task");
    const table = getAtt(controlPlane.data.table);
    expect(statementsOfRole(template, logicalId(tasks.role))).toEqual(
      expectedStatements([
        { actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [getAtt(tasks.logGroup)] },
        { actions: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], resources: ["*"] },
        { actions: ["dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"], resources: [table] },
        { actions: ["dynamodb:Query"], resources: [arnWithSuffix(table, "/index/*")] },
        { actions: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], resources: [arnWithSuffix(getAtt(controlPlane.data.bucket), "/payloads/*")] },
        { actions: ["kms:Decrypt", "kms:GenerateDataKey"], resources: [getAtt(controlPlane.data.tableKey), getAtt(controlPlane.data.bucketKey)] },
      ]),
    );
  });

  it("registers the step-functions deployments with their engine and state machine ARN, and the durable one as before", () => {
    const registration = template.findResources("Custom::AloftFlowBundle")[logicalId(bundle.registration)] as { Properties: { Deployments: unknown } };
    const deployments = stack.resolve(registration.Properties.Deployments) as { "Fn::Join": [string, unknown[]] };
    const text = deployments["Fn::Join"][1].map((part) => (typeof part === "string" ? part : JSON.stringify(part))).join("");
    expect(text).toBe(
      JSON.stringify([
        { name: "nightly-etl", flow: "sfn-etl", parameters: { day: "2026-11-21" }, engine: "step-functions", stateMachineArn: "@ETL@" },
        { name: "reports/quick", flow: "sfn-quick", engine: "step-functions", stateMachineArn: "@QUICK@" },
        { name: "durable-etl", flow: "sfn-etl" },
      ])
        .replace('"@ETL@"', `"${JSON.stringify(getAtt(bundle.stateMachines["nightly-etl"]!.stateMachine))}"`)
        .replace('"@QUICK@"', `"${JSON.stringify(getAtt(bundle.stateMachines["reports/quick"]!.stateMachine))}"`),
    );
  });

  it("refuses a stateMachineType without engine step-functions, and two deployments whose state machine names collide", () => {
    const scratch = new Stack(new App({ context: CDK_CONTEXT }), "Bad");
    const plane = { stage: "dev" } as unknown as AloftControlPlane;
    expect(
      () =>
        new FlowBundle(scratch, "Bad", {
          controlPlane: plane,
          entry,
          deployments: [
            { name: "a.b", flow: "sfn-etl", engine: "step-functions" },
            { name: "a-b", flow: "sfn-etl", engine: "step-functions" },
            { name: "c", flow: "sfn-etl", stateMachineType: "EXPRESS" },
          ],
        }),
    ).toThrow(
      'Bad/Bad: deployments[1].name "a-b" and deployments[0].name "a.b" give the same state machine name; deployments[2].stateMachineType is only for engine "step-functions"',
    );
  });

  it("fails synth with the compiler's message when a flow cannot be compiled", async () => {
    const bad = join(directory, "bad.ts");
    await writeFile(bad, `import { flow, task } from ${JSON.stringify(SDK)};\nconst one = task({ name: "sfn-one", run: async () => 1 });\nexport const bad = flow({ name: "sfn-bad", run: async () => { const n = await one(); if (n > 0) return "yes"; return "no"; } });\n`);
    const scratch = new Stack(new App({ context: CDK_CONTEXT, outdir: join(directory, "bad.out") }), "Bad");
    const plane = new AloftControlPlane(scratch, "Aloft", { stage: "dev" });
    expect(() => new FlowBundle(scratch, "Bad", { controlPlane: plane, entry: bad, deployments: [{ name: "bad", flow: "sfn-bad", engine: "step-functions" }] })).toThrow(
      new RegExp(`^FlowBundle: compiling sfn-bad from ${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} for Step Functions failed: .*bad\\.ts:3`),
    );
  }, 120_000); // a control plane of its own: six functions bundled

  it("reports the compiler's warnings as synth warnings on the state machine", async () => {
    const approximated = join(directory, "approximated.ts");
    await writeFile(
      approximated,
      `import { flow, task } from ${JSON.stringify(SDK)};\nconst flaky = task({ name: "sfn-flaky", retries: 3, retryDelay: [1, 5, 60], run: async () => 1 });\nexport const f = flow({ name: "sfn-approximated", run: async () => flaky() });\n`,
    );
    const scratch = new Stack(new App({ context: CDK_CONTEXT, outdir: join(directory, "approximated.out") }), "Approximated");
    const plane = new AloftControlPlane(scratch, "Aloft", { stage: "dev" });
    const flows = new FlowBundle(scratch, "Flows", { controlPlane: plane, entry: approximated, deployments: [{ name: "approximated", flow: "sfn-approximated", engine: "step-functions" }] });

    Annotations.fromStack(scratch).hasWarning(`/${flows.stateMachines.approximated!.node.path}`, Match.stringLikeRegexp("^flow sfn-approximated: .*sfn-flaky"));
  }, 120_000); // a control plane of its own: six functions bundled

  it("has no unacknowledged cdk-nag AwsSolutions finding and passes cfn-lint with the state machines deployed", async () => {
    const findings = new AwsSolutionsChecks(app).validateScope(app).violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}: ${violation.description}`),
    );
    expect(findings).toEqual([]);
    const file = join(directory, "flows.template.json");
    await writeFile(file, JSON.stringify(template.toJSON(), null, 1));
    const result = await runCfnLint([file], ["--ignore-checks", "W3005"]);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
  });
});
