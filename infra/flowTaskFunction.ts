import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { acknowledge } from "./acknowledgements.js";
import type { AloftControlPlane } from "./controlPlane.js";
import { PAYLOAD_PREFIX } from "./dataStores.js";
import { loadEsbuild, nearestPackageRoot } from "./flowBundleBuild.js";
import { LAMBDA_BUNDLING, METRICS_NAMESPACE, acknowledgeWildcards, packageModule } from "./handlerFunction.js";

/** Options for {@link FlowTaskFunction}. */
export interface FlowTaskFunctionProps {
  readonly controlPlane: AloftControlPlane;
  /** The author's flows file: bundled into the function, so the handler finds its tasks by name. */
  readonly entry: string;
  /** Where the function's code is staged (inside the CDK app's output folder). */
  readonly stagingDirectory: string;
  readonly removalPolicy: RemovalPolicy;
}

/** Item actions a task run needs: read the run, write task-run records, their history and index items. */
const TASK_RUN_ACTIONS = ["dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"];
const KEY_USE = ["kms:Decrypt", "kms:GenerateDataKey"];

/**
 * The task Lambda of a flow bundle's state machines: `lambdas/handlers/task.ts` bundled together
 * with the author's flows file (so every task of the bundle is defined when the handler looks it
 * up), with the control plane's bundling settings (local esbuild, minified ESM for Node 24 on
 * arm64), X-Ray tracing, its own log group, and a role that may use the run-state table (task-run
 * records) and the payload bucket's `payloads/` (values by reference), and nothing else.
 *
 * @example
 * ```ts
 * const tasks = new FlowTaskFunction(this, "Tasks", { controlPlane, entry: "flows/etl.ts", stagingDirectory: "cdk.out/aloft-task", removalPolicy });
 * tasks.function.functionArn;
 * ```
 */
export class FlowTaskFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FlowTaskFunctionProps) {
    super(scope, id);
    const { table, tableKey, bucket, bucketKey } = props.controlPlane.data;
    this.logGroup = new logs.LogGroup(this, "LogGroup", { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: props.removalPolicy });
    this.role = new iam.Role(this, "Role", {
      description: `Aloft task function of a flow bundle (${props.controlPlane.stage})`,
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    });
    this.logGroup.grantWrite(this.role);
    const allow = (actions: string[], resources: string[], reason?: string) => {
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources }));
      acknowledgeWildcards(this.role, resources, reason);
    };
    allow(TASK_RUN_ACTIONS, [table.tableArn]);
    allow(["dynamodb:Query"], [`${table.tableArn}/index/*`], "Task runs are looked up by run and by cache key on the table's global secondary indexes, whose ARNs are the table ARN plus /index/<name>.");
    allow(["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], [bucket.arnForObjects(`${PAYLOAD_PREFIX}*`)], "Task arguments and results over the inline limit are stored by run under payloads/; the function reads, writes and deletes (what a refused write left) only that prefix.");
    allow(KEY_USE, [tableKey.keyArn, bucketKey.keyArn]);

    this.function = new lambda.Function(this, "Function", {
      description: "Aloft task function: runs one task of a flow's state machine",
      code: lambda.Code.fromAsset(buildTaskCode(props.entry, props.stagingDirectory)),
      handler: "index.handler",
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 1024,
      timeout: Duration.minutes(15),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        ALOFT_STAGE: props.controlPlane.stage,
        ALOFT_TABLE_NAME: table.tableName,
        ALOFT_PAYLOAD_BUCKET: bucket.bucketName,
        POWERTOOLS_SERVICE_NAME: "aloft-task",
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: "INFO",
        POWERTOOLS_TRACER_CAPTURE_RESPONSE: "false",
        NODE_OPTIONS: "--enable-source-maps",
      },
    });
    // The X-Ray statement CDK adds for active tracing.
    acknowledge(this.role, "AwsSolutions-IAM5", "X-Ray PutTraceSegments and PutTelemetryRecords do not support resource-level permissions.", "Resource::*");
  }
}

/**
 * Bundles the author's flows (first: they define the tasks) and the task handler into
 * `<stagingDirectory>/index.mjs` with the local esbuild and the settings of every Aloft function
 * ({@link LAMBDA_BUNDLING}: minified ESM for Node 24 with a source map, the AWS SDK left to the
 * runtime). A NodejsFunction would need the generated entry inside one project root with both the
 * author's project and the aloft package.
 */
function buildTaskCode(entry: string, stagingDirectory: string): string {
  const entryFile = resolve(entry);
  if (!existsSync(entryFile)) throw new Error(`FlowBundle: entry ${entry} does not exist`);
  const source = `import ${JSON.stringify(entryFile)};\nexport { handler } from ${JSON.stringify(packageModule("lambdas/handlers/task.ts"))};\n`;
  try {
    loadEsbuild().buildSync({
      stdin: { contents: source, resolveDir: nearestPackageRoot(entryFile), sourcefile: "aloft-task.mjs", loader: "js" },
      outfile: join(stagingDirectory, "index.mjs"),
      bundle: true,
      platform: "node",
      format: LAMBDA_BUNDLING.format === undefined ? "esm" : (LAMBDA_BUNDLING.format as "esm" | "cjs"),
      target: LAMBDA_BUNDLING.target ?? "node24",
      mainFields: LAMBDA_BUNDLING.mainFields ?? ["module", "main"],
      minify: LAMBDA_BUNDLING.minify ?? true,
      sourcemap: LAMBDA_BUNDLING.sourceMap ?? true,
      external: LAMBDA_BUNDLING.externalModules ?? ["@aws-sdk/*"],
      ...(LAMBDA_BUNDLING.banner === undefined ? {} : { banner: { js: LAMBDA_BUNDLING.banner } }),
      legalComments: "none",
      logLevel: "silent",
    });
  } catch (error) {
    const first = (error as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors?.[0];
    const where = first?.location ? ` (${first.location.file}:${first.location.line})` : "";
    throw new Error(`FlowBundle: esbuild could not bundle the task function for ${entry}: ${first ? first.text + where : String(error)}`);
  }
  return stagingDirectory;
}
