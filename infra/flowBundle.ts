import { existsSync } from "node:fs";
import { join } from "node:path";
import { Annotations, CfnOutput, CustomResource, Duration, RemovalPolicy, Stack, Stage } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3assets from "aws-cdk-lib/aws-s3-assets";
import * as cr from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";
import { CreateDeploymentRequestSchema } from "../sdk/api/schemas.js";
import { isDevStage, type AloftControlPlane } from "./controlPlane.js";
import { acknowledge } from "./acknowledgements.js";
import { BUNDLE_PREFIX } from "./dataStores.js";
import { buildFlowBundle } from "./flowBundleBuild.js";
import { compileAtSynth } from "./compilation/synthCompilation.js";
import type { CompiledFlowDefinition, CompiledFlows } from "./compilation/compileForStateMachines.js";
import { FlowStateMachine, stateMachineName, type StateMachineType } from "./flowStateMachine.js";
import { FlowTaskFunction } from "./flowTaskFunction.js";
import { LAMBDA_BUNDLING, acknowledgeWildcards, packageRoot } from "./handlerFunction.js";

/** One deployment a {@link FlowBundle} creates, or moves to its bundle on every deploy. */
export interface FlowBundleDeployment {
  /** The deployment's name (`aloft deployments run <name>`): letters, digits, `.`, `_`, `/` and `-`. */
  readonly name: string;
  /** The name of a flow the entry file exports. */
  readonly flow: string;
  /** Default parameters of its runs. @default {} */
  readonly parameters?: Record<string, unknown>;
  /** Tags of its runs. @default [] */
  readonly tags?: string[];
  /** The work pool its runs go to. @default - the control plane's default pool */
  readonly workPool?: string;
  readonly description?: string;
  /**
   * How its runs execute: `"durable"` by a runner (Lambda or Fargate), or `"step-functions"` as
   * executions of a state machine compiled from the flow, which the bundle deploys.
   * @default "durable"
   */
  readonly engine?: "durable" | "step-functions";
  /**
   * The state machine's type, for engine "step-functions": STANDARD (exactly once, up to a year,
   * approvals, subflows and Fargate tasks) or EXPRESS (at least once, at most five minutes, billed by
   * duration instead of state transitions).
   * @default "STANDARD"
   */
  readonly stateMachineType?: StateMachineType;
}

/** Options for {@link FlowBundle}. */
export interface FlowBundleProps {
  /** The control plane the bundle is uploaded to and registered with. */
  readonly controlPlane: AloftControlPlane;
  /** The author's flows file (TypeScript or JavaScript), bundled with everything it imports. */
  readonly entry: string;
  /** Deployments kept pointed at this bundle. @default [] */
  readonly deployments?: FlowBundleDeployment[];
  /**
   * Whether deleting this construct (or the stack) deletes its deployments, and an update deletes
   * the deployments dropped from `deployments`. Bundles themselves always stay: runs in flight and
   * older deployments use them.
   * @default false
   */
  readonly removeDeploymentsOnDelete?: boolean;
  /**
   * Whether the bundle carries an inline source map, so stack traces of failed runs point into the
   * flows' TypeScript. It roughly doubles the bundle and adds tens of milliseconds to a runner's first
   * load of it.
   * @default true
   */
  readonly sourceMap?: boolean;
}

const KEY_USE = ["kms:Decrypt", "kms:GenerateDataKey"];

/**
 * An author's flows, deployed: at synth, `entry` is bundled by the local esbuild (never Docker) into
 * one ES module whose content hash is its {@link FlowBundle.bundleId}; at deploy, a custom resource
 * copies it to `s3://<payload bucket>/bundles/<bundleId>/index.mjs` and creates or updates the
 * listed deployments so they run that bundle. Both runners load the bundle from there: the
 * control plane's runner Lambda (it may already read `bundles/*`) and the Fargate runner image.
 * Unchanged code keeps its bundle id, so a deploy without code changes moves nothing.
 *
 * Deployments with engine "step-functions" are compiled at synth into one state machine each
 * (`aloft-<stage>_<deployment>`, plus one per subflow), with the bundle's task Lambda; their runs
 * execute there instead of in a runner.
 *
 * @example
 * ```ts
 * import { App, Stack } from "aws-cdk-lib";
 * import { AloftControlPlane, FlowBundle } from "aloft/infra";
 *
 * const stack = new Stack(new App(), "Aloft-prod");
 * const controlPlane = new AloftControlPlane(stack, "Aloft", { stage: "prod" });
 * const etl = new FlowBundle(stack, "Etl", {
 *   controlPlane,
 *   entry: "flows/etl.ts",
 *   deployments: [
 *     { name: "nightly-etl", flow: "etl", parameters: { failFirstAttempts: 0 } },
 *     { name: "etl-on-step-functions", flow: "etl-step-functions", engine: "step-functions" },
 *   ],
 * });
 * etl.bundleId; // "flows-3f2a9c…"
 * etl.stateMachines["etl-on-step-functions"]?.stateMachine.attrArn;
 * ```
 */
export class FlowBundle extends Construct {
  /** `flows-<content hash>`: what deployments name in `bundleId`. */
  readonly bundleId: string;
  /** The bundle's key in the payload bucket: `bundles/<bundleId>/index.mjs`. */
  readonly bundleKey: string;
  /** The staged bundle, published with the app's file assets. */
  readonly asset: s3assets.Asset;
  readonly registrationFunction: nodejs.NodejsFunction;
  readonly registrationRole: iam.Role;
  /** The custom resource that uploads the bundle and registers the deployments. */
  readonly registration: CustomResource;
  /** The task Lambda of the bundle's state machines; only when a deployment has engine "step-functions". */
  readonly taskFunction?: FlowTaskFunction;
  /** The state machine of each deployment with engine "step-functions", by deployment name. */
  readonly stateMachines: Readonly<Record<string, FlowStateMachine>>;

  constructor(scope: Construct, id: string, props: FlowBundleProps) {
    super(scope, id);
    const deployments = props.deployments ?? [];
    validateProps(this.node.path, props, deployments);
    const { controlPlane } = props;
    const { table, tableKey, bucket, bucketKey } = controlPlane.data;
    const removing = props.removeDeploymentsOnDelete ?? false;

    const stage = Stage.of(this);
    if (stage === undefined) throw new Error(`${this.node.path}: a FlowBundle can only be bundled inside a CDK app`);
    const built = buildFlowBundle(props.entry, join(stage.outdir, "aloft-flow-bundles"), { sourceMap: props.sourceMap ?? true });
    this.bundleId = built.bundleId;
    this.bundleKey = `${BUNDLE_PREFIX}${built.bundleId}/index.mjs`;
    this.asset = new s3assets.Asset(this, "Bundle", { path: built.file });

    // Log groups follow the control plane's default: destroyed with dev stages, kept otherwise.
    const removalPolicy = isDevStage(controlPlane.stage) ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const stateMachines: Record<string, FlowStateMachine> = {};
    const compiledDeployments = deployments.filter((deployment) => deployment.engine === "step-functions");
    if (compiledDeployments.length > 0) {
      const staging = join(stage.outdir, "aloft-flow-bundles", built.bundleId);
      const compiled = compileAtSynth(props.entry, staging, compiledDeployments.map((deployment) => ({ flow: deployment.flow, type: deployment.stateMachineType ?? "STANDARD" })));
      const needsTasks = [...compiled.requested, ...Object.values(compiled.subflows)].some((definition) => definition.substitutions.includes("AloftTaskFunctionArn"));
      if (needsTasks) this.taskFunction = new FlowTaskFunction(this, "Tasks", { controlPlane, entry: props.entry, stagingDirectory: join(staging, "task"), removalPolicy });
      compiledDeployments.forEach((deployment, index) => {
        stateMachines[deployment.name] = this.deployStateMachine(controlPlane, deployment, compiled.requested[index]!, compiled);
      });
    }
    this.stateMachines = stateMachines;
    const logGroup = new logs.LogGroup(this, "RegistrationLogGroup", { retention: logs.RetentionDays.ONE_MONTH, removalPolicy });
    this.registrationRole = new iam.Role(this, "RegistrationRole", {
      description: `Aloft flow bundle registration (${controlPlane.stage})`,
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    });
    logGroup.grantWrite(this.registrationRole);
    const allow = (actions: string[], resources: string[], reason?: string) => {
      this.registrationRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources }));
      acknowledgeWildcards(this.registrationRole, resources, reason);
    };
    allow(["dynamodb:GetItem", "dynamodb:PutItem", ...(removing ? ["dynamodb:DeleteItem"] : [])].sort(), [table.tableArn]);
    allow(["dynamodb:Query"], [`${table.tableArn}/index/*`], "Deployments are looked up by id on one of the table's global secondary indexes, whose ARNs are the table ARN plus /index/<name>.");
    allow(["s3:GetObject"], [this.asset.bucket.arnForObjects(this.asset.s3ObjectKey)]);
    allow(["s3:PutObject"], [bucket.arnForObjects(this.bundleKey)]);
    allow(KEY_USE, [tableKey.keyArn, bucketKey.keyArn]);

    this.registrationFunction = new nodejs.NodejsFunction(this, "RegistrationFunction", {
      description: "Aloft: uploads a flow bundle and points its deployments at it",
      entry: registrationEntry(),
      handler: "handler",
      projectRoot: packageRoot(),
      depsLockFilePath: lockFile(),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(2),
      role: this.registrationRole,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        ALOFT_TABLE_NAME: table.tableName,
        ALOFT_PAYLOAD_BUCKET: bucket.bucketName,
        ALOFT_BUNDLE_PREFIX: BUNDLE_PREFIX,
        NODE_OPTIONS: "--enable-source-maps",
      },
      bundling: LAMBDA_BUNDLING,
    });

    const provider = new cr.Provider(this, "RegistrationProvider", {
      onEventHandler: this.registrationFunction,
      logGroup: new logs.LogGroup(this, "ProviderLogGroup", { retention: logs.RetentionDays.ONE_MONTH, removalPolicy }),
    });
    acknowledgeProvider(provider, this.registrationFunction);

    this.registration = new CustomResource(this, "Registration", {
      serviceToken: provider.serviceToken,
      resourceType: "Custom::AloftFlowBundle",
      properties: {
        BundleId: this.bundleId,
        SourceBucket: this.asset.s3BucketName,
        SourceKey: this.asset.s3ObjectKey,
        Deployments: Stack.of(this).toJsonString(
          deployments.map((deployment) => {
            const machine = stateMachines[deployment.name];
            return machine === undefined ? deploymentProperty(deployment) : { ...deploymentProperty(deployment), stateMachineArn: machine.stateMachine.attrArn };
          }),
        ),
        RemoveDeploymentsOnDelete: String(removing),
      },
    });

    new CfnOutput(this, "BundleIdOutput", { value: this.bundleId, description: `Bundle id of ${props.entry}` });
  }

  /**
   * The deployment's state machine, named `aloft-<stage>_<deployment>`, after the state machines of
   * the subflows it starts (`aloft-<stage>_<deployment>_<subflow>`, STANDARD), transitively.
   */
  private deployStateMachine(controlPlane: AloftControlPlane, deployment: FlowBundleDeployment, root: CompiledFlowDefinition, compiled: CompiledFlows): FlowStateMachine {
    const made = new Map<string, FlowStateMachine>();
    const build = (definition: CompiledFlowDefinition, path: string[]): FlowStateMachine => {
      const subflows: Record<string, FlowStateMachine["stateMachine"]> = {};
      for (const child of definition.subflows) {
        if (path.includes(child)) throw new Error(`${this.node.path}: deployment ${deployment.name}: flow ${[...path, child].join(" → ")} starts itself; a state machine cannot contain itself`);
        const existing = made.get(child) ?? build(compiled.subflows[child]!, [...path, child]);
        made.set(child, existing);
        subflows[child.replace(/[^A-Za-z0-9]/g, "_")] = existing.stateMachine;
      }
      const isRoot = path.length === 1;
      const id = `StateMachine${constructIdPart(deployment.name)}${isRoot ? "" : `Subflow${constructIdPart(definition.flow)}`}`;
      const machine = new FlowStateMachine(this, id, {
        controlPlane,
        stateMachineName: isRoot ? stateMachineName(controlPlane, deployment.name) : stateMachineName(controlPlane, deployment.name, definition.flow),
        purpose: isRoot ? `deployment ${deployment.name}` : `subflow ${definition.flow} of deployment ${deployment.name}`,
        type: definition.type,
        compiled: definition,
        ...(this.taskFunction ? { taskFunction: this.taskFunction.function } : {}),
        subflows,
      });
      // Where the state machine will behave a little differently from the local engine (rounded delays, …).
      for (const warning of definition.warnings) Annotations.of(machine).addWarningV2("aloft:compile-warning", `flow ${definition.flow}: ${warning}`);
      return machine;
    };
    return build(root, [root.flow]);
  }
}

function deploymentProperty(deployment: FlowBundleDeployment): Record<string, unknown> {
  const { name, flow, parameters, tags, workPool, description, engine } = deployment;
  return Object.fromEntries(Object.entries({ name, flow, parameters, tags, workPool, description, engine }).filter(([, value]) => value !== undefined));
}

/** A deployment or flow name as a construct id part: letters and digits, each other character as `-`. */
function constructIdPart(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, "-");
}

/** The Provider framework's function logs with a managed policy and invokes the onEvent function and its versions (`<arn>:*`), as CDK writes it. */
function acknowledgeProvider(provider: cr.Provider, onEvent: lambda.IFunction): void {
  const role = (provider.node.tryFindChild("framework-onEvent") as lambda.Function | undefined)?.role;
  if (role === undefined) throw new Error(`${provider.node.path}: the custom-resources Provider has no framework-onEvent function; its IAM findings cannot be acknowledged`);
  acknowledge(role, "AwsSolutions-IAM4", "The custom-resources Provider framework function logs with AWSLambdaBasicExecutionRole, which CDK attaches to it.", "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole");
  acknowledgeWildcards(role, [`${onEvent.functionArn}:*`], "The custom-resources Provider framework may invoke the registration function and its versions (<arn>:*); CDK writes this statement.");
}

function validateProps(path: string, props: FlowBundleProps, deployments: FlowBundleDeployment[]): void {
  const problems: string[] = [];
  if (!existsSync(props.entry)) problems.push(`entry ${props.entry} does not exist`);
  const seen = new Set<string>();
  for (const [index, deployment] of deployments.entries()) {
    if (seen.has(deployment.name)) problems.push(`deployments[${index}].name "${deployment.name}" is listed twice`);
    seen.add(deployment.name);
    if (deployment.stateMachineType !== undefined && deployment.engine !== "step-functions") {
      problems.push(`deployments[${index}].stateMachineType is only for engine "step-functions"`);
    }
    if (deployment.engine === "step-functions") {
      const machineName = deployment.name.replace(/[^A-Za-z0-9_-]/g, "-");
      const other = deployments.findIndex((candidate, at) => at < index && candidate.engine === "step-functions" && candidate.name.replace(/[^A-Za-z0-9_-]/g, "-") === machineName);
      if (other >= 0 && deployments[other]!.name !== deployment.name) {
        problems.push(`deployments[${index}].name "${deployment.name}" and deployments[${other}].name "${deployments[other]!.name}" give the same state machine name`);
      }
    }
    const { flow, ...fields } = deploymentProperty(deployment);
    // The API's own schema, so a deployment that synthesizes is one the control plane accepts.
    const parsed = CreateDeploymentRequestSchema.safeParse({ ...fields, flowName: flow, bundleId: "flows-0" });
    for (const issue of parsed.error?.issues ?? []) {
      const field = issue.path.map((key) => (key === "flowName" ? "flow" : String(key))).join(".");
      problems.push(`deployments[${index}].${field}: ${issue.message}`);
    }
  }
  if (problems.length > 0) throw new Error(`${path}: ${problems.join("; ")}`);
}

/** The registration handler's TypeScript source in a checkout, or its compiled module in an installed package. */
function registrationEntry(): string {
  const root = packageRoot();
  const candidates = [join(root, "infra", "registration", "handler.ts"), join(root, "dist", "infra", "registration", "handler.js")];
  const entry = candidates.find((candidate) => existsSync(candidate));
  if (entry === undefined) throw new Error(`aloft/infra: the flow bundle registration handler is missing (looked for ${candidates.join(" and ")})`);
  return entry;
}

function lockFile(): string {
  const root = packageRoot();
  return existsSync(join(root, "package-lock.json")) ? join(root, "package-lock.json") : join(root, "package.json");
}
