import { Option, type Command } from "commander";
import type { AloftClient } from "../../api/client.js";
import type { CreateDeploymentRequest, DeploymentResponse, RunDeploymentRequest } from "../../api/types.js";
import { withApi } from "../apiErrors.js";
import { addCommandGroup } from "../commandGroup.js";
import { collectParams } from "../runParams.js";
import { colorsFor } from "../stateText.js";
import { formatTime, renderTable, writeJson, writeLines } from "../table.js";
import { terminalText } from "../terminalText.js";
import { UsageError } from "../usageError.js";

/**
 * The options of `aloft deployments create`, as commander parses them.
 *
 * @example
 * ```ts
 * const options: CreateDeploymentOptions = { flow: "etl", entrypoint: "flows/etl.ts:etl", param: ["region=eu"], tag: [] };
 * ```
 */
export interface CreateDeploymentOptions {
  flow: string;
  entrypoint?: string;
  bundle?: string;
  param: string[];
  paramsFile?: string;
  tag: string[];
  pool?: string;
  queue?: string;
  engine?: "durable" | "step-functions";
  version?: string;
  description?: string;
  paused?: boolean;
  json?: boolean;
}

/**
 * The options of `aloft deployments run`, as commander parses them.
 *
 * @example
 * ```ts
 * const options: RunDeploymentOptions = { param: ["day=2026-11-01"], tag: [], idempotencyKey: "ci-42" };
 * ```
 */
export interface RunDeploymentOptions {
  param: string[];
  paramsFile?: string;
  idempotencyKey?: string;
  tag: string[];
  at?: string;
  json?: boolean;
}

const repeatable = (value: string, previous: string[]) => [...previous, value];

/**
 * Adds `aloft deployments ls|create|run` to the program.
 *
 * @example
 * ```ts
 * addDeploymentsCommand(program);
 * await program.parseAsync(["node", "aloft", "deployments", "run", "nightly-etl", "--param", "day=2026-11-01"]);
 * ```
 */
export function addDeploymentsCommand(program: Command): Command {
  const deployments = addCommandGroup(program, "deployments", "list, create and run deployments: named, runnable configurations of a flow");
  deployments
    .command("ls")
    .description("list deployments by name")
    .option("--json", "print the deployments as a JSON array and nothing else")
    .action(async (options: { json?: boolean }) => {
      process.exitCode = await withApi((client) => listDeployments(client, options));
    });
  deployments
    .command("create")
    .description("create a deployment of a flow")
    .argument("<name>", "the deployment's name (letters, digits, '.', '_', '/' and '-')")
    .requiredOption("--flow <name>", "the flow's name")
    .option("--entrypoint <file[:export]>", "the .ts or .js file holding the flow, and optionally its export")
    .option("--bundle <id>", "an uploaded code bundle holding the flow (instead of --entrypoint)")
    .option("--param <key=value>", "a default parameter; the value is JSON if it parses, else a string (repeatable)", repeatable, [])
    .option("--params-file <file>", "a JSON object of default parameters (--param values override it)")
    .option("--tag <tag>", "a tag for the deployment's runs (repeatable)", repeatable, [])
    .option("--pool <name>", "the work pool its runs go to")
    .option("--queue <name>", "the queue of the work pool its runs go to (default: default)")
    .addOption(new Option("--engine <engine>", "how its runs execute").choices(["durable", "step-functions"]))
    .option("--version <version>", "a version label, such as a git commit")
    .option("--description <text>", "what it is for")
    .option("--paused", "create it paused: runs are refused until it is resumed")
    .option("--json", "print the created deployment as JSON and nothing else")
    .action(async (name: string, options: CreateDeploymentOptions) => {
      process.exitCode = await withApi((client) => createDeployment(client, name, options));
    });
  deployments
    .command("run")
    .description("create a run of a deployment and print its id")
    .argument("<name-or-id>", "the deployment's name or id")
    .option("--param <key=value>", "a parameter over the deployment's defaults; the value is JSON if it parses, else a string (repeatable)", repeatable, [])
    .option("--params-file <file>", "a JSON object of parameters (--param values override it)")
    .option("--idempotency-key <key>", "the same key twice makes one run")
    .option("--tag <tag>", "a tag for the run (repeatable)", repeatable, [])
    .option("--at <time>", "when to run it, as an ISO 8601 time (default: now)")
    .option("--json", "print the new run as JSON and nothing else")
    .action(async (nameOrId: string, options: RunDeploymentOptions) => {
      process.exitCode = await withApi((client) => runDeployment(client, nameOrId, options));
    });
  return deployments;
}

/**
 * `aloft deployments ls`: a table of every deployment (name, flow, source, engine, status, revision,
 * updated) or, with `--json`, the API's deployments as a JSON array.
 *
 * @example
 * ```ts
 * process.exitCode = await listDeployments(new AloftClient(), {});
 * ```
 */
export async function listDeployments(client: AloftClient, options: { json?: boolean }): Promise<number> {
  const deployments: DeploymentResponse[] = [];
  for await (const deployment of client.deployments.iterate({ limit: 1_000 })) deployments.push(deployment);
  if (options.json) {
    writeJson(deployments);
    return 0;
  }
  const colors = colorsFor(process.stdout);
  if (deployments.length === 0) {
    process.stdout.write(`${colors.dim("No deployments.")}\n`);
    return 0;
  }
  const rows = deployments.map((deployment) => [
    terminalText(deployment.name),
    terminalText(deployment.flowName),
    terminalText(deployment.entrypoint ?? `bundle ${deployment.bundleId ?? "?"}`),
    terminalText(deployment.engine),
    deployment.paused ? colors.yellow("paused") : colors.green("active"),
    String(deployment.revision),
    formatTime(deployment.updatedAt),
  ]);
  writeLines(renderTable(colors, ["Name", "Flow", "Source", "Engine", "Status", "Revision", "Updated"], rows));
  return 0;
}

/**
 * `aloft deployments create <name>`: creates the deployment and prints its name and id.
 *
 * @example
 * ```ts
 * process.exitCode = await createDeployment(new AloftClient(), "nightly-etl", { flow: "etl", entrypoint: "flows/etl.ts:etl", param: [], tag: [] });
 * ```
 */
export async function createDeployment(client: AloftClient, name: string, options: CreateDeploymentOptions): Promise<number> {
  if ((options.entrypoint === undefined) === (options.bundle === undefined)) {
    throw new UsageError(`deployment ${name} needs exactly one of --entrypoint <file.ts[:export]> and --bundle <id>`);
  }
  const parameters = await collectParams(options.param, options.paramsFile);
  const request: CreateDeploymentRequest = { name, flowName: options.flow, parameters };
  if (options.entrypoint !== undefined) request.entrypoint = options.entrypoint;
  if (options.bundle !== undefined) request.bundleId = options.bundle;
  if (options.tag.length > 0) request.tags = options.tag;
  if (options.pool !== undefined) request.workPool = options.pool;
  if (options.queue !== undefined) request.workQueue = options.queue;
  if (options.engine !== undefined) request.engine = options.engine;
  if (options.version !== undefined) request.version = options.version;
  if (options.description !== undefined) request.description = options.description;
  if (options.paused) request.paused = true;
  const deployment = await client.deployments.create(request);
  if (options.json) writeJson(deployment);
  else process.stdout.write(`created deployment ${terminalText(deployment.name)} (${terminalText(deployment.id)}) of flow ${terminalText(deployment.flowName)}${deployment.paused ? ", paused" : ""}\n`);
  return 0;
}

/**
 * `aloft deployments run <name-or-id>`: creates a run of the deployment and prints the new run's id
 * alone on stdout (so `RUN=$(aloft deployments run nightly-etl)` works).
 *
 * @example
 * ```ts
 * process.exitCode = await runDeployment(new AloftClient(), "nightly-etl", { param: ["day=2026-11-01"], tag: [] });
 * ```
 */
export async function runDeployment(client: AloftClient, nameOrId: string, options: RunDeploymentOptions): Promise<number> {
  const request: RunDeploymentRequest = {};
  const parameters = await collectParams(options.param, options.paramsFile);
  if (Object.keys(parameters).length > 0) request.parameters = parameters;
  if (options.idempotencyKey !== undefined) request.idempotencyKey = options.idempotencyKey;
  if (options.tag.length > 0) request.tags = options.tag;
  if (options.at !== undefined) request.scheduledTime = parseTime(options.at);
  const run = await client.deployments.run(nameOrId, request);
  if (options.json) writeJson(run);
  else process.stdout.write(`${terminalText(run.id)}\n`);
  return 0;
}

/**
 * Reads `--at`: an ISO 8601 time (a date alone is midnight UTC; a time without an offset is local).
 *
 * @example
 * ```ts
 * parseTime("2026-11-01T06:00:00Z"); // "2026-11-01T06:00:00.000Z"
 * ```
 */
export function parseTime(text: string): string {
  const at = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (Number.isNaN(at)) throw new UsageError(`--at "${text}" is not an ISO 8601 time (expected e.g. 2026-11-01T06:00:00Z)`);
  return new Date(at).toISOString();
}
