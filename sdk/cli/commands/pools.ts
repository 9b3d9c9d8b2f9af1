import { Option, type Command } from "commander";
import type { AloftClient } from "../../api/client.js";
import type { CreateWorkPoolRequest, WorkPoolResponse } from "../../api/types.js";
import { withApi } from "../apiErrors.js";
import { addCommandGroup } from "../commandGroup.js";
import { colorsFor } from "../stateText.js";
import { formatTime, renderTable, writeJson, writeLines } from "../table.js";
import { terminalText } from "../terminalText.js";
import { UsageError } from "../usageError.js";

/** The kinds of pool `--type` takes. */
export const POOL_TYPES = ["lambda", "fargate", "local"] as const;

/**
 * The options of `aloft pools create`, as commander parses them.
 *
 * @example
 * ```ts
 * const options: CreatePoolOptions = { type: "fargate", cpu: "1024", memory: "4096", env: ["STAGE=prod"], queue: ["default:1", "backfill:5:2"] };
 * ```
 */
export interface CreatePoolOptions {
  type: (typeof POOL_TYPES)[number];
  memory?: string;
  cpu?: string;
  timeout?: string;
  env: string[];
  image?: string;
  queue: string[];
  description?: string;
  paused?: boolean;
  json?: boolean;
}

const repeatable = (value: string, previous: string[]) => [...previous, value];

/**
 * Adds `aloft pools ls|create|pause|resume` to the program.
 *
 * @example
 * ```ts
 * addPoolsCommand(program);
 * await program.parseAsync(["node", "aloft", "pools", "create", "etl", "--type", "fargate", "--cpu", "1024", "--memory", "4096"]);
 * ```
 */
export function addPoolsCommand(program: Command): Command {
  const pools = addCommandGroup(program, "pools", "list, create, pause and resume work pools: where deployment runs run");
  pools
    .command("ls")
    .description("list work pools: type, status, queues by priority")
    .option("--json", "print the pools as a JSON array and nothing else")
    .action(async (options: { json?: boolean }) => {
      process.exitCode = await withApi((client) => listPools(client, options));
    });
  pools
    .command("create")
    .description('create a work pool (with one queue, "default", unless --queue is given)')
    .argument("<name>", "the pool's name (letters, digits, '_' and '-')")
    .addOption(new Option("--type <type>", "where its runs run").choices(POOL_TYPES).makeOptionMandatory())
    .option("--memory <MiB>", "fargate pools: task memory in MiB")
    .option("--cpu <units>", "fargate pools: task CPU units (1024 = 1 vCPU)")
    .option("--timeout <seconds>", "how long a run may take (lambda pools: at most 900)")
    .option("--env <key=value>", "an environment variable for its runners (repeatable)", repeatable, [])
    .option("--image <uri>", "fargate pools: the container image its runners run")
    .option("--queue <name:priority[:limit]>", "a queue: its priority (1 is the highest) and optionally its concurrency limit (repeatable)", repeatable, [])
    .option("--description <text>", "what it is for")
    .option("--paused", "create it paused: no runs are taken until it is resumed")
    .option("--json", "print the created pool as JSON and nothing else")
    .action(async (name: string, options: CreatePoolOptions) => {
      process.exitCode = await withApi((client) => createPool(client, name, options));
    });
  for (const [action, paused] of [["pause", true], ["resume", false]] as const) {
    pools
      .command(action)
      .description(paused ? "stop taking new runs from a pool, or from one of its queues (runs already taken carry on)" : "take runs from a pool, or one of its queues, again")
      .argument("<name>", "the pool's name")
      .option("--queue <name>", `${action} only this queue`)
      .option("--json", "print the pool as JSON and nothing else")
      .action(async (name: string, options: { queue?: string; json?: boolean }) => {
        process.exitCode = await withApi((client) => setPoolPaused(client, name, paused, options));
      });
  }
  return pools;
}

/**
 * `aloft pools ls`: a table of every pool (name, type, status, queues by priority, updated) or, with
 * `--json`, the API's pools as a JSON array.
 *
 * @example
 * ```ts
 * process.exitCode = await listPools(new AloftClient(), {});
 * ```
 */
export async function listPools(client: AloftClient, options: { json?: boolean }): Promise<number> {
  const pools: WorkPoolResponse[] = [];
  for await (const pool of client.workPools.iterate({ limit: 1_000 })) pools.push(pool);
  if (options.json) {
    writeJson(pools);
    return 0;
  }
  const colors = colorsFor(process.stdout);
  if (pools.length === 0) {
    process.stdout.write(`${colors.dim("No work pools.")}\n`);
    return 0;
  }
  const rows = pools.map((pool) => [
    terminalText(pool.name),
    terminalText(pool.type),
    pool.paused ? colors.yellow("paused") : colors.green("active"),
    describeQueues(pool),
    formatTime(pool.updatedAt),
  ]);
  writeLines(renderTable(colors, ["Name", "Type", "Status", "Queues", "Updated"], rows));
  return 0;
}

/**
 * `aloft pools create <name>`: creates the pool and prints its name, type and queues.
 *
 * @example
 * ```ts
 * process.exitCode = await createPool(new AloftClient(), "etl", { type: "fargate", cpu: "1024", memory: "4096", env: [], queue: [] });
 * ```
 */
export async function createPool(client: AloftClient, name: string, options: CreatePoolOptions): Promise<number> {
  const request: CreateWorkPoolRequest = { name, type: options.type };
  const jobSettings: NonNullable<CreateWorkPoolRequest["jobSettings"]> = {};
  if (options.memory !== undefined) jobSettings.memory = wholeNumber("--memory", options.memory);
  if (options.cpu !== undefined) jobSettings.cpu = wholeNumber("--cpu", options.cpu);
  if (options.timeout !== undefined) jobSettings.timeout = wholeNumber("--timeout", options.timeout);
  if (options.env.length > 0) jobSettings.environment = parseEnvironment(options.env);
  if (options.image !== undefined) jobSettings.image = options.image;
  if (Object.keys(jobSettings).length > 0) request.jobSettings = jobSettings;
  if (options.queue.length > 0) request.queues = options.queue.map(parseQueue);
  if (options.description !== undefined) request.description = options.description;
  if (options.paused) request.paused = true;
  const pool = await client.workPools.create(request);
  if (options.json) writeJson(pool);
  else process.stdout.write(`created ${terminalText(pool.type)} pool ${terminalText(pool.name)}${pool.paused ? ", paused" : ""}; queues: ${describeQueues(pool)}\n`);
  return 0;
}

/**
 * `aloft pools pause|resume <name> [--queue <queue>]`.
 *
 * @example
 * ```ts
 * process.exitCode = await setPoolPaused(new AloftClient(), "etl", true, { queue: "backfill" });
 * ```
 */
export async function setPoolPaused(client: AloftClient, name: string, paused: boolean, options: { queue?: string; json?: boolean }): Promise<number> {
  const target = options.queue === undefined ? {} : { queue: options.queue };
  const pool = paused ? await client.workPools.pause(name, target) : await client.workPools.resume(name, target);
  if (options.json) writeJson(pool);
  else {
    const name = terminalText(pool.name);
    process.stdout.write(`${paused ? "paused" : "resumed"} ${options.queue === undefined ? `pool ${name}` : `queue ${terminalText(options.queue)} of pool ${name}`}\n`);
  }
  return 0;
}

/**
 * Reads `--queue name:priority[:limit]`.
 *
 * @example
 * ```ts
 * parseQueue("backfill:5:2"); // { name: "backfill", priority: 5, concurrencyLimit: 2 }
 * ```
 */
export function parseQueue(text: string): { name: string; priority: number; concurrencyLimit?: number } {
  const [name = "", priority, limit, ...rest] = text.split(":");
  if (name === "" || priority === undefined || rest.length > 0) throw new UsageError(`--queue "${text}" must be name:priority or name:priority:limit (e.g. backfill:5:2)`);
  const queue: { name: string; priority: number; concurrencyLimit?: number } = { name, priority: wholeNumber(`--queue ${name} priority`, priority) };
  if (limit !== undefined) queue.concurrencyLimit = wholeNumber(`--queue ${name} limit`, limit);
  return queue;
}

/**
 * Reads repeated `--env KEY=value` into an object; a key given twice is a usage error.
 *
 * @example
 * ```ts
 * parseEnvironment(["STAGE=prod", "URL=a=b"]); // { STAGE: "prod", URL: "a=b" }
 * ```
 */
export function parseEnvironment(pairs: readonly string[]): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    const key = at === -1 ? "" : pair.slice(0, at);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new UsageError(`--env "${pair}" must be KEY=value with KEY made of letters, digits and '_'`);
    if (Object.hasOwn(environment, key)) throw new UsageError(`--env ${key} is given twice`);
    environment[key] = pair.slice(at + 1);
  }
  return environment;
}

function wholeNumber(option: string, text: string): number {
  if (!/^\d{1,9}$/.test(text.trim())) throw new UsageError(`${option} "${text}" must be a whole number`);
  return Number(text.trim());
}

/** `default (1), backfill (5, limit 2, paused)`: queues by priority. */
function describeQueues(pool: WorkPoolResponse): string {
  return [...pool.queues]
    .sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name))
    .map((queue) => {
      const notes = [String(queue.priority), ...(queue.concurrencyLimit === undefined ? [] : [`limit ${queue.concurrencyLimit}`]), ...(queue.paused ? ["paused"] : [])];
      return `${terminalText(queue.name)} (${notes.join(", ")})`;
    })
    .join(", ");
}
