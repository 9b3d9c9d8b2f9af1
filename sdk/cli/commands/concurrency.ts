import type { Command } from "commander";
import type { AloftClient } from "../../api/client.js";
import { withApi } from "../apiErrors.js";
import { addCommandGroup } from "../commandGroup.js";
import { colorsFor, formatCount } from "../stateText.js";
import { renderTable, writeJson, writeLines } from "../table.js";
import { terminalText } from "../terminalText.js";
import { UsageError } from "../usageError.js";

/**
 * The largest concurrency limit the API takes.
 *
 * @example
 * ```ts
 * parseConcurrencyLimit(String(MAX_CONCURRENCY_LIMIT)); // ok
 * ```
 */
export const MAX_CONCURRENCY_LIMIT = 100_000;

/**
 * Adds `aloft concurrency ls|set|rm` to the program.
 *
 * @example
 * ```ts
 * addConcurrencyCommand(program);
 * await program.parseAsync(["node", "aloft", "concurrency", "set", "warehouse", "4"]);
 * ```
 */
export function addConcurrencyCommand(program: Command): Command {
  const concurrency = addCommandGroup(program, "concurrency", "list, set and remove concurrency limits by tag");
  concurrency
    .command("ls")
    .description("list the limits: tag, limit and slots in use")
    .option("--json", "print the limits as a JSON array and nothing else")
    .action(async (options: { json?: boolean }) => {
      process.exitCode = await withApi((client) => listLimits(client, options));
    });
  concurrency
    .command("set")
    .description("create or change the limit of a tag: at most <limit> task runs with the tag run at once (0 stops them all)")
    .argument("<tag>", "the tag")
    .argument("<limit>", `a whole number from 0 to ${formatCount(MAX_CONCURRENCY_LIMIT)}`)
    .option("--json", "print the limit as JSON and nothing else")
    .action(async (tag: string, limit: string, options: { json?: boolean }) => {
      process.exitCode = await withApi((client) => setLimit(client, tag, limit, options));
    });
  concurrency
    .command("rm")
    .description("remove the limit of a tag")
    .argument("<tag>", "the tag")
    .option("--json", 'print {"tag", "removed": true} and nothing else')
    .action(async (tag: string, options: { json?: boolean }) => {
      process.exitCode = await withApi((client) => removeLimit(client, tag, options));
    });
  return concurrency;
}

/**
 * `aloft concurrency ls`: a table of limits (tag, limit, active slots), or the API's limits as a
 * JSON array.
 *
 * @example
 * ```ts
 * process.exitCode = await listLimits(new AloftClient(), {});
 * ```
 */
export async function listLimits(client: AloftClient, options: { json?: boolean }): Promise<number> {
  const limits = await client.concurrencyLimits.list();
  if (options.json) {
    writeJson(limits);
    return 0;
  }
  const colors = colorsFor(process.stdout);
  if (limits.length === 0) {
    process.stdout.write(`${colors.dim("No concurrency limits.")}\n`);
    return 0;
  }
  const rows = [...limits]
    .sort((a, b) => a.tag.localeCompare(b.tag))
    .map((limit) => [terminalText(limit.tag), formatCount(limit.limit), limit.activeSlots >= limit.limit && limit.limit > 0 ? colors.yellow(formatCount(limit.activeSlots)) : formatCount(limit.activeSlots)]);
  writeLines(renderTable(colors, ["Tag", "Limit", "Active slots"], rows));
  return 0;
}

/**
 * `aloft concurrency set <tag> <limit>`.
 *
 * @example
 * ```ts
 * process.exitCode = await setLimit(new AloftClient(), "warehouse", "4", {});
 * ```
 */
export async function setLimit(client: AloftClient, tag: string, limitText: string, options: { json?: boolean }): Promise<number> {
  const limit = parseConcurrencyLimit(limitText);
  const saved = await client.concurrencyLimits.set(tag, limit);
  if (options.json) writeJson(saved);
  else process.stdout.write(`limit of ${terminalText(saved.tag)} set to ${formatCount(saved.limit)} (${formatCount(saved.activeSlots)} active)\n`);
  return 0;
}

/**
 * `aloft concurrency rm <tag>`; an unknown tag is a usage error (exit 2).
 *
 * @example
 * ```ts
 * process.exitCode = await removeLimit(new AloftClient(), "warehouse", {});
 * ```
 */
export async function removeLimit(client: AloftClient, tag: string, options: { json?: boolean }): Promise<number> {
  await client.concurrencyLimits.delete(tag);
  if (options.json) writeJson({ tag, removed: true });
  else process.stdout.write(`limit of ${terminalText(tag)} removed\n`);
  return 0;
}

/**
 * Reads a limit: a whole number from 0 to 100,000.
 *
 * @example
 * ```ts
 * parseConcurrencyLimit("4"); // 4
 * parseConcurrencyLimit("-1"); // UsageError
 * ```
 */
export function parseConcurrencyLimit(text: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!(value >= 0 && value <= MAX_CONCURRENCY_LIMIT)) throw new UsageError(`limit "${text}" must be a whole number from 0 to ${MAX_CONCURRENCY_LIMIT}`);
  return value;
}
