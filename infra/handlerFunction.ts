import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { acknowledge, resourceFinding } from "./acknowledgements.js";

/** The six control-plane functions, named after their modules in `lambdas/handlers/`. */
export type HandlerName = "api" | "scheduler" | "dispatcher" | "monitor" | "mirror" | "runner";

/** The CloudWatch namespace of the custom metrics the functions publish (Powertools Metrics). */
export const METRICS_NAMESPACE = "Aloft";
/** `POWERTOOLS_SERVICE_NAME` of a function (`aloft-api`…), hence the `service` dimension of its metrics. */
export function serviceName(handler: HandlerName): string {
  return `aloft-${handler}`;
}

/**
 * How every Aloft Lambda function is bundled: the local esbuild (never Docker), minified ESM for
 * Node 24 with source maps, the AWS SDK v3 left to the runtime.
 */
export const LAMBDA_BUNDLING: nodejs.BundlingOptions = {
  format: nodejs.OutputFormat.ESM,
  minify: true,
  sourceMap: true,
  target: "node24",
  mainFields: ["module", "main"],
  // CommonJS dependencies bundled into ESM still call require().
  banner: "import { createRequire as __aloftCreateRequire } from 'node:module'; const require = __aloftCreateRequire(import.meta.url);",
  // The Node 24 runtime ships AWS SDK v3; everything else is bundled.
  externalModules: ["@aws-sdk/*"],
  forceDockerBundling: false,
  logLevel: nodejs.LogLevel.ERROR,
};

/** Options for {@link HandlerFunction}. */
export interface HandlerFunctionProps {
  handler: HandlerName;
  description: string;
  stage: string;
  logRetention: logs.RetentionDays;
  removalPolicy: RemovalPolicy;
  timeout: Duration;
  memorySize: number;
  environment: Record<string, string>;
}

/**
 * One control-plane Lambda function: `lambdas/handlers/<name>.ts` bundled by the local esbuild as
 * minified ESM for Node 24 on arm64, X-Ray tracing on, Powertools configured by environment, its
 * own log group, and a role that starts with nothing but writing to that log group (and X-Ray);
 * everything else is added statement by statement with {@link HandlerFunction.allow}.
 */
export class HandlerFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    requireLocalEsbuild();
    const root = packageRoot();
    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.role = new iam.Role(this, "Role", {
      description: `Aloft ${props.handler} function (${props.stage})`,
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    });
    this.logGroup.grantWrite(this.role);
    this.function = new nodejs.NodejsFunction(this, "Function", {
      description: props.description,
      entry: handlerEntry(root, props.handler),
      handler: "handler",
      projectRoot: root,
      depsLockFilePath: existsSync(join(root, "package-lock.json")) ? join(root, "package-lock.json") : join(root, "package.json"),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        ALOFT_STAGE: props.stage,
        POWERTOOLS_SERVICE_NAME: serviceName(props.handler),
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: "INFO",
        // Responses carry run payloads; they stay out of traces.
        POWERTOOLS_TRACER_CAPTURE_RESPONSE: "false",
        // Stack traces point into the TypeScript sources (the bundles carry source maps).
        NODE_OPTIONS: "--enable-source-maps",
        ...props.environment,
      },
      bundling: LAMBDA_BUNDLING,
    });
    // The X-Ray statement CDK adds for active tracing.
    acknowledge(this.role, "AwsSolutions-IAM5", "X-Ray PutTraceSegments and PutTelemetryRecords do not support resource-level permissions.", "Resource::*");
  }

  /**
   * Adds one statement to the function's role. A resource with a wildcard needs `wildcardReason`,
   * which becomes the cdk-nag acknowledgement of exactly that resource on exactly this role.
   */
  allow(actions: string[], resources: string[], wildcardReason?: string, conditions?: Record<string, Record<string, unknown>>): void {
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources, ...(conditions ? { conditions } : {}) }));
    acknowledgeWildcards(this.role, resources, wildcardReason);
  }
}

/** Acknowledges each wildcard resource of a statement on `role`; a wildcard without a reason is an error. */
export function acknowledgeWildcards(role: iam.IRole, resources: string[], reason: string | undefined): void {
  for (const resource of resources) {
    const finding = resourceFinding(role, resource);
    if (!finding.includes("*")) continue;
    if (reason === undefined) throw new Error(`${role.node.path}: the wildcard resource ${finding} needs a stated reason`);
    acknowledge(role, "AwsSolutions-IAM5", reason, finding);
  }
}

/** The folder holding aloft's package.json: the repository, or node_modules/aloft once installed. */
export function packageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(directory, "package.json")) && existsSync(join(directory, "lambdas"))) return directory;
    if (existsSync(join(directory, "package.json")) && existsSync(join(directory, "dist", "lambdas"))) return directory;
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`aloft/infra: no package root (package.json next to lambdas/) above ${fileURLToPath(import.meta.url)}`);
    directory = parent;
  }
}

/**
 * A module of the aloft package, in the form this code runs from: the TypeScript source when
 * aloft/infra runs from source (a checkout, its tests), the compiled `dist/…/*.js` when it runs
 * compiled (an installed package, or `aloft/infra` imported through the package's exports). Code
 * bundled with an author's flows must use the same form as the flows' own `import "aloft"`, so the
 * bundle holds one copy of the SDK.
 *
 * @example
 * ```ts
 * packageModule("lambdas/handlers/task.ts"); // "/…/node_modules/aloft/dist/lambdas/handlers/task.js"
 * ```
 */
export function packageModule(sourcePath: string): string {
  const root = packageRoot();
  const fromSource = !fileURLToPath(import.meta.url).startsWith(join(root, "dist") + sep);
  const candidates = [join(root, sourcePath), join(root, "dist", sourcePath.replace(/\.ts$/, ".js"))];
  const ordered = fromSource ? candidates : [...candidates].reverse();
  const found = ordered.find((candidate) => existsSync(candidate));
  if (found === undefined) throw new Error(`aloft/infra: ${sourcePath} is missing (looked for ${ordered.join(" and ")})`);
  return found;
}

/** The handler's TypeScript source in a checkout, or its compiled module in an installed package. */
function handlerEntry(root: string, handler: HandlerName): string {
  const candidates = [join(root, "lambdas", "handlers", `${handler}.ts`), join(root, "dist", "lambdas", "handlers", `${handler}.js`)];
  const entry = candidates.find((candidate) => existsSync(candidate));
  if (entry === undefined) throw new Error(`aloft/infra: the ${handler} handler is missing (looked for ${candidates.join(" and ")})`);
  return entry;
}

/**
 * NodejsFunction falls back to bundling in Docker when it cannot find esbuild; the control plane
 * never does, so a missing esbuild is an error here, before any bundling starts.
 */
function requireLocalEsbuild(): void {
  const fromCdk = createRequire(createRequire(import.meta.url).resolve("aws-cdk-lib"));
  try {
    fromCdk.resolve("esbuild");
  } catch {
    throw new Error("aloft/infra bundles its functions with a local esbuild and never with Docker: install it next to aws-cdk-lib (npm install --save-dev --save-exact esbuild@0.28.2)");
  }
}
