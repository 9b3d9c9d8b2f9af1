import type { Command } from "commander";
import { watchRun } from "../watchRun.js";
import { AloftClient } from "../../api/client.js";
import type { ArtifactResponse, FlowRunResponse, ListFlowRunsQuery, LogLine, RunStateType, StateHistoryEntry, TaskRunResponse } from "../../api/types.js";
import { formatLogLine } from "../../engine/recorder.js";
import { formatMs } from "../../model/duration.js";
import { isTerminal, STATE_TYPES, type StateType } from "../../model/states.js";
import { resumeRun } from "../../runner/resumeRun.js";
import { FAILURE_EXIT_CODE, withApi } from "../apiErrors.js";
import { addCommandGroup } from "../commandGroup.js";
import { colorsFor, formatCount, formatSpan, formatStateCounts, paintState, type Colors } from "../stateText.js";
import { briefJson, formatTime, renderTable, writeJson, writeLines } from "../table.js";
import { terminalLine, terminalText } from "../terminalText.js";
import { UsageError } from "../usageError.js";
import { INTERRUPTED_EXIT_CODE } from "./run.js";

/**
 * How many runs `aloft runs ls` lists unless `--limit` says otherwise.
 *
 * @example
 * ```ts
 * await listRuns({ limit: String(DEFAULT_RUNS_LIMIT) });
 * ```
 */
export const DEFAULT_RUNS_LIMIT = 20;

/**
 * How often `aloft runs logs --follow` asks for new lines, in milliseconds.
 *
 * @example
 * ```ts
 * await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
 * ```
 */
export const FOLLOW_POLL_MS = 1_000;

/**
 * A mapped task with more task runs than this is one row of counts in `aloft runs inspect`.
 *
 * @example
 * ```ts
 * if (group.length > MAP_COLLAPSE_AT) rows.push(mapRow(group));
 * ```
 */
export const MAP_COLLAPSE_AT = 10;

const LOG_PAGE_LIMIT = 1_000;
const TASK_RUN_PAGE_LIMIT = 1_000;
const RETRYABLE: readonly StateType[] = ["FAILED", "CRASHED", "CANCELLED"];

/**
 * The options of `aloft runs ls`, as commander parses them.
 *
 * @example
 * ```ts
 * const options: ListRunsOptions = { state: "failed", flow: "etl", limit: "50" };
 * ```
 */
export interface ListRunsOptions {
  state?: string;
  flow?: string;
  tag?: string;
  deployment?: string;
  limit?: string;
  wide?: boolean;
  json?: boolean;
}

/**
 * Adds `aloft runs ls|inspect|logs|cancel|resume|retry` to the program.
 *
 * @example
 * ```ts
 * addRunsCommand(program);
 * await program.parseAsync(["node", "aloft", "runs", "ls", "--state", "failed"]);
 * ```
 */
export function addRunsCommand(program: Command): Command {
  const runs = addCommandGroup(program, "runs", "list, inspect, follow, cancel, resume and retry flow runs on the control plane");
  runs
    .command("ls")
    .description("list flow runs, newest first")
    .option("--state <type>", "only runs in this state type (completed, failed, running, …)")
    .option("--flow <name>", "only runs of this flow")
    .option("--tag <tag>", "only runs with this tag")
    .option("--deployment <name-or-id>", "only runs of this deployment")
    .option("--limit <n>", `how many runs, 1 to 1000 (default ${DEFAULT_RUNS_LIMIT})`)
    .option("--wide", "show whole run ids")
    .option("--json", "print the runs as a JSON array and nothing else")
    .action(async (options: ListRunsOptions) => {
      process.exitCode = await withApi((client) => listRuns(client, options));
    });
  runs
    .command("inspect")
    .description("show a flow run: its state, parameters, timings, state history, task runs and artifacts")
    .argument("<id>", "the flow run's id")
    .option("--json", "print { run, history, taskRuns, artifacts } as JSON and nothing else")
    .action(async (id: string, options: { json?: boolean }) => {
      process.exitCode = await withApi((client) => inspectRun(client, id, options));
    });
  runs
    .command("logs")
    .description("print a flow run's log lines, oldest first")
    .argument("<id>", "the flow run's id")
    .option("-f, --follow", "keep printing new lines until the run has ended")
    .option("--json", "print each line as a JSON object on a line of its own")
    .addHelpText("after", "\nExit codes: 0 all lines printed (with --follow: the run ended), 2 no such run, 130 stopped with Ctrl-C.")
    .action(async (id: string, options: { follow?: boolean; json?: boolean }) => {
      process.exitCode = await withApi((client) => printLogs(client, id, options));
    });
  runs
    .command("cancel")
    .description("cancel a flow run (it stops at its next task or check if it is running)")
    .argument("<id>", "the flow run's id")
    .option("--json", "print the API's decision as JSON")
    .addHelpText("after", "\nExit codes: 0 cancelled or cancelling, 1 refused (the run has already ended), 2 no such run.")
    .action(async (id: string, options: { json?: boolean }) => {
      process.exitCode = await withApi((client) => cancelRun(client, id, options));
    });
  runs
    .command("resume")
    .description("resume a paused flow run; a run waiting for approval continues with --input as what waitForApproval returns")
    .argument("<id>", "the flow run's id")
    .option("--input <json>", "JSON handed to the run as the approval's input")
    .option("--json", "print the API's decision as JSON")
    .addHelpText("after", "\nExit codes: 0 resumed, 1 refused (the run is not paused, or its approval timed out), 2 no such run or invalid --input.")
    .action(async (id: string, options: { input?: string; json?: boolean }) => {
      const input = parseInput(options.input);
      process.exitCode = await withApi((client) => resumeRunCommand(client, id, { ...options, ...(input === undefined ? {} : { input: input.value }) }));
    });
  runs
    .command("retry")
    .description("re-execute a failed, crashed or cancelled flow run here, from its journal: completed tasks are not run again")
    .argument("<id>", "the flow run's id")
    .option("--force", "re-execute a completed run too")
    .option("--json", "print the run as the API reports it when it ends, and nothing else")
    .addHelpText("after", "\nExit codes: 0 completed, 1 refused or ended other than completed, 2 no such run, 130 cancelled with Ctrl-C.")
    .action(async (id: string, options: { force?: boolean; json?: boolean }) => {
      // Re-executing a run is long-lived: the engine's reports get the client's full retries.
      process.exitCode = await withApi((client) => retryRun(client, id, options), new AloftClient());
    });
  return runs;
}

/**
 * `aloft runs ls`: a table of the newest `--limit` runs (id, flow, name, state, started, duration)
 * or, with `--json`, the API's runs as a JSON array, following the API's cursors through short pages.
 * Resolves to the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await listRuns(new AloftClient(), { state: "failed", limit: "5" });
 * ```
 */
export async function listRuns(client: AloftClient, options: ListRunsOptions): Promise<number> {
  const query: ListFlowRunsQuery = { limit: parseLimit(options.limit) };
  if (options.state !== undefined) query.state = parseStateType(options.state);
  if (options.flow !== undefined) query.flow = options.flow;
  if (options.tag !== undefined) query.tag = options.tag;
  if (options.deployment !== undefined) query.deployment = options.deployment;
  // A filtered page may be short (the API bounds each page's reads): read on until `limit` runs or the end.
  const items: FlowRunResponse[] = [];
  for await (const run of client.flowRuns.iterate(query)) {
    items.push(run);
    if (items.length === query.limit) break;
  }
  if (options.json) {
    writeJson(items);
    return 0;
  }
  const colors = colorsFor(process.stdout);
  if (items.length === 0) {
    process.stdout.write(`${colors.dim("No flow runs.")}\n`);
    return 0;
  }
  const now = Date.now();
  const rows = items.map((run) => [
    terminalText(options.wide ? run.id : run.id.slice(0, 8)),
    terminalText(run.flowName),
    terminalText(run.name),
    paintState(colors, run.state.type, terminalText(run.state.name)),
    formatTime(run.startTime),
    runDuration(run, now),
  ]);
  writeLines(renderTable(colors, ["ID", "Flow", "Name", "State", "Started", "Duration"], rows));
  return 0;
}

/**
 * `aloft runs inspect <id>`: the run's fields and timings, its state history with the time between
 * states, its task runs (a large mapped task collapsed to one row of counts) and its artifacts.
 *
 * @example
 * ```ts
 * process.exitCode = await inspectRun(new AloftClient(), "4f8c…", { json: false });
 * ```
 */
export async function inspectRun(client: AloftClient, id: string, options: { json?: boolean }): Promise<number> {
  const run = await client.flowRuns.get(id);
  const [history, taskRuns, artifacts] = await Promise.all([client.flowRuns.history(id), allTaskRuns(client, id), client.flowRuns.artifacts(id)]);
  if (options.json) {
    writeJson({ run, history, taskRuns, artifacts });
    return 0;
  }
  const colors = colorsFor(process.stdout);
  const now = Date.now();
  writeLines([
    ...runFields(run, colors, now),
    "",
    colors.bold("State history"),
    ...historyLines(history, colors),
    "",
    colors.bold("Task runs"),
    ...taskRunLines(taskRuns, colors, now),
    "",
    colors.bold("Artifacts"),
    ...artifactLines(artifacts, colors),
  ]);
  return 0;
}

/**
 * `aloft runs logs <id> [--follow]`: every log line, oldest first, page after page. With `follow`
 * it asks again every second and stops once the run has ended and no new line has come since.
 *
 * @example
 * ```ts
 * process.exitCode = await printLogs(new AloftClient(), "4f8c…", { follow: true });
 * ```
 */
export async function printLogs(client: AloftClient, id: string, options: { follow?: boolean; json?: boolean }): Promise<number> {
  let run = await client.flowRuns.get(id);
  const emit = options.json
    ? (line: LogLine) => process.stdout.write(`${JSON.stringify(line)}\n`)
    : (line: LogLine) => process.stdout.write(`${formatLogLine({ ...line, flowName: run.flowName })}\n`);
  const reader = new LogReader(client, id);
  if (!options.follow) {
    await reader.readNew(emit);
    return 0;
  }
  const onInterrupt = () => process.exit(INTERRUPTED_EXIT_CODE);
  process.on("SIGINT", onInterrupt);
  try {
    // Lines can reach the API shortly after the run's last state: stop only when the run had
    // already ended before a whole read that found nothing new.
    let endedBefore = false;
    for (;;) {
      const ended = isTerminal(run.state.type);
      const printed = await reader.readNew(emit);
      if (ended && endedBefore && printed === 0) return 0;
      endedBefore = ended;
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
      run = await client.flowRuns.get(id);
    }
  } finally {
    process.off("SIGINT", onInterrupt);
  }
}

/**
 * Reads a run's log lines in order, each once, across calls. The API's last page carries no
 * cursor, so the reader keeps the cursor that led to that page and the lines it printed from it:
 * the next call reads that page again and prints only the lines it has not printed (counting
 * identical lines), then follows cursors as far as they go.
 *
 * @example
 * ```ts
 * const reader = new LogReader(client, runId);
 * await reader.readNew((line) => console.log(line.message)); // everything so far
 * await reader.readNew((line) => console.log(line.message)); // only what came since
 * ```
 */
export class LogReader {
  private cursor: string | undefined;
  /** The lines already printed from the page that starts at `cursor`, by identity, with counts. */
  private printed = new Map<string, number>();

  constructor(
    private readonly client: AloftClient,
    private readonly runId: string,
  ) {}

  /** Emits the lines not emitted before; resolves to how many. */
  async readNew(emit: (line: LogLine) => void): Promise<number> {
    let count = 0;
    for (;;) {
      const page = await this.client.flowRuns.logs(this.runId, { limit: LOG_PAGE_LIMIT, ...(this.cursor !== undefined ? { cursor: this.cursor } : {}) });
      const alreadyPrinted = new Map(this.printed);
      const onPage = new Map<string, number>();
      for (const line of page.items) {
        const key = identityOf(line);
        onPage.set(key, (onPage.get(key) ?? 0) + 1);
        const left = alreadyPrinted.get(key) ?? 0;
        if (left > 0) {
          alreadyPrinted.set(key, left - 1);
          continue;
        }
        emit(line);
        count += 1;
      }
      if (page.cursor === undefined) {
        this.printed = onPage;
        return count;
      }
      this.cursor = page.cursor;
      this.printed = new Map();
    }
  }
}

/**
 * `aloft runs cancel <id>`: asks the API to cancel the run and prints its decision. Resolves to 0
 * when accepted, 1 when refused.
 *
 * @example
 * ```ts
 * process.exitCode = await cancelRun(new AloftClient(), "4f8c…", {});
 * ```
 */
export async function cancelRun(client: AloftClient, id: string, options: { json?: boolean }): Promise<number> {
  const decision = await client.flowRuns.cancel(id);
  if (options.json) writeJson(decision);
  if (decision.status === "ACCEPT") {
    if (!options.json) {
      const colors = colorsFor(process.stdout);
      const state = paintState(colors, decision.state.type, terminalText(decision.state.name));
      const shownId = terminalText(id);
      process.stdout.write(decision.state.type === "CANCELLING" ? `flow run ${shownId} is ${state}: it stops at its next task or check\n` : `flow run ${shownId} ${state}\n`);
    }
    return 0;
  }
  process.stderr.write(`error: flow run ${terminalText(id)} was not cancelled: ${terminalLine(decision.reason ?? `it is ${decision.state.name}`)}\n`);
  return FAILURE_EXIT_CODE;
}

/**
 * `aloft runs resume <id> [--input json]`: asks the API to resume a paused run (completing its
 * approval with the input) and prints its decision. Resolves to 0 when resumed, 1 when refused.
 *
 * @example
 * ```ts
 * process.exitCode = await resumeRunCommand(new AloftClient(), "4f8c…", { input: { ok: true } });
 * ```
 */
export async function resumeRunCommand(client: AloftClient, id: string, options: { input?: unknown; json?: boolean }): Promise<number> {
  const decision = await client.flowRuns.resume(id, options.input === undefined ? {} : { input: options.input });
  if (options.json) writeJson(decision);
  if (decision.status === "ACCEPT") {
    if (!options.json) process.stdout.write(`flow run ${terminalText(id)} ${paintState(colorsFor(process.stdout), decision.state.type, terminalText(decision.state.name))}\n`);
    return 0;
  }
  process.stderr.write(`error: flow run ${terminalText(id)} was not resumed: ${terminalLine(decision.reason ?? `it is ${decision.state.name}`)}\n`);
  return FAILURE_EXIT_CODE;
}

function parseInput(text: string | undefined): { value: unknown } | undefined {
  if (text === undefined) return undefined;
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    throw new UsageError(`--input is not JSON: ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`);
  }
}

/**
 * `aloft runs retry <id>`: re-executes the run in this process from its journal, with the live
 * view of `aloft run`, and prints its summary. A deployment's run is re-opened on the control plane
 * instead, for its work pool or state machine to resume. Resolves to 0 when it completes, 1 when the run
 * cannot be retried or ends otherwise, 130 when Ctrl-C cancelled it.
 *
 * @example
 * ```ts
 * process.exitCode = await retryRun(new AloftClient(), "4f8c…", { force: false });
 * ```
 */
export async function retryRun(client: AloftClient, id: string, options: { force?: boolean; json?: boolean }): Promise<number> {
  const stored = await client.flowRuns.get(id);
  const type = stored.state.type;
  if (!RETRYABLE.includes(type) && !(options.force && type === "COMPLETED")) {
    const why = type === "COMPLETED" ? "it completed (pass --force to run it again)" : `it is ${stored.state.name}; only a failed, crashed or cancelled run can be retried`;
    process.stderr.write(`error: flow run ${terminalText(id)} was not retried: ${terminalLine(why)}\n`);
    return FAILURE_EXIT_CODE;
  }

  if (stored.deploymentId !== undefined) return requeueDeploymentRun(client, stored, options);
  const { code, printSummary } = await watchRun(options, (recorder, signal) => resumeRun(id, { client, force: options.force === true, recorder, signal }));
  if (options.json) writeJson(await client.flowRuns.get(id));
  else printSummary();
  return code;
}

/**
 * A deployment's run is retried where its deployment runs it: the control plane re-opens it, queues it
 * for the work pool (or starts its state machine), and the runner resumes it from its journal.
 */
async function requeueDeploymentRun(client: AloftClient, stored: FlowRunResponse, options: { force?: boolean; json?: boolean }): Promise<number> {
  const outcome = await client.flowRuns.retry(stored.id, options.force ? { force: true } : {});
  if (outcome.status !== "ACCEPT") {
    process.stderr.write(`error: flow run ${terminalText(stored.id)} was not retried: ${terminalLine(outcome.reason ?? `it is ${stored.state.name}`)}\n`);
    return FAILURE_EXIT_CODE;
  }
  if (options.json) writeJson(await client.flowRuns.get(stored.id));
  else {
    const id = terminalText(stored.id);
    process.stdout.write(`flow run ${id} re-opened (${terminalText(outcome.state.name)}); its deployment's runner resumes it from its journal — follow it with: aloft runs logs ${id} --follow\n`);
  }
  return 0;
}

/**
 * Reads `--limit`: a whole number from 1 to 1000; the default when absent.
 *
 * @example
 * ```ts
 * parseLimit("50"); // 50
 * parseLimit("0"); // UsageError: --limit must be a whole number from 1 to 1000, got "0"
 * ```
 */
export function parseLimit(text: string | undefined, fallback: number = DEFAULT_RUNS_LIMIT): number {
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!(value >= 1 && value <= 1_000)) throw new UsageError(`--limit must be a whole number from 1 to 1000, got "${text}"`);
  return value;
}

/**
 * Reads `--state`: a state type in any case.
 *
 * @example
 * ```ts
 * parseStateType("failed"); // "FAILED"
 * ```
 */
export function parseStateType(text: string): RunStateType {
  const upper = text.trim().toUpperCase();
  const match = STATE_TYPES.find((type) => type === upper);
  if (match === undefined) throw new UsageError(`--state "${text}" is not a state type (expected one of ${STATE_TYPES.map((type) => type.toLowerCase()).join(", ")})`);
  return match;
}

async function allTaskRuns(client: AloftClient, id: string): Promise<TaskRunResponse[]> {
  const taskRuns: TaskRunResponse[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.flowRuns.taskRuns(id, { limit: TASK_RUN_PAGE_LIMIT, ...(cursor !== undefined ? { cursor } : {}) });
    taskRuns.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return taskRuns.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

function runDuration(run: { state: { type: StateType }; startTime?: string; endTime?: string }, now: number): string {
  if (run.startTime === undefined) return "—";
  if (run.endTime === undefined && isTerminal(run.state.type)) return "—";
  return formatSpan(run.startTime, run.endTime, now);
}

function runFields(run: FlowRunResponse, colors: Colors, now: number): string[] {
  const fields: Array<[string, string | undefined]> = [
    ["Flow run", colors.bold(terminalText(run.name))],
    ["ID", terminalText(run.id)],
    ["Flow", terminalText(run.flowName)],
    ["State", paintState(colors, run.state.type, terminalText(run.state.name)) + (run.state.message ? colors.dim(` — ${terminalLine(run.state.message)}`) : "")],
    ["Deployment", optional(run.deploymentId)],
    ["Parent run", optional(run.parentRunId)],
    ["Tags", run.tags.length > 0 ? run.tags.map(terminalText).join(", ") : undefined],
    ["Parameters", briefJson(run.parameters ?? {})],
    ["Created", formatTime(run.createdAt, true)],
    ["Scheduled", run.scheduledTime === undefined ? undefined : formatTime(run.scheduledTime, true)],
    ["Started", formatTime(run.startTime, true)],
    ["Ended", formatTime(run.endTime, true)],
    ["Duration", runDuration(run, now)],
    ["Run count", formatCount(run.runCount)],
    ["Entrypoint", optional(run.entrypoint)],
    ["Result", run.state.type === "COMPLETED" && run.result !== undefined ? briefJson(run.result) : undefined],
    ["Error", run.error && run.state.type !== "COMPLETED" ? `${colors.red(terminalText(run.error.name))}: ${terminalLine(run.error.message)}` : undefined],
  ];
  const shown = fields.filter((field): field is [string, string] => field[1] !== undefined);
  const width = Math.max(...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `${colors.dim(label.padEnd(width))}  ${value}`);
}

function historyLines(history: readonly StateHistoryEntry[], colors: Colors): string[] {
  if (history.length === 0) return [colors.dim("No states recorded.")];
  const rows = history.map((entry, index) => {
    const previous = history[index - 1];
    const after = previous === undefined ? "" : `+${formatMs(Math.max(0, Date.parse(entry.state.timestamp) - Date.parse(previous.state.timestamp)))}`;
    return [formatTime(entry.state.timestamp, true), paintState(colors, entry.state.type, terminalText(entry.state.name)), after, terminalLine(entry.state.message ?? "")];
  });
  return renderTable(colors, ["Time", "State", "After", "Message"], rows).map((line) => line.trimEnd());
}

function taskRunLines(taskRuns: readonly TaskRunResponse[], colors: Colors, now: number): string[] {
  if (taskRuns.length === 0) return [colors.dim("No task runs.")];
  const mappedCounts = new Map<string, number>();
  for (const taskRun of taskRuns) if (taskRun.mapIndex !== undefined) mappedCounts.set(taskRun.taskName, (mappedCounts.get(taskRun.taskName) ?? 0) + 1);
  const collapsed = new Set([...mappedCounts].filter(([, count]) => count > MAP_COLLAPSE_AT).map(([name]) => name));
  const rows: string[][] = [];
  const groupsDone = new Set<string>();
  for (const taskRun of taskRuns) {
    if (taskRun.mapIndex !== undefined && collapsed.has(taskRun.taskName)) {
      if (groupsDone.has(taskRun.taskName)) continue;
      groupsDone.add(taskRun.taskName);
      rows.push(mapRow(taskRuns.filter((other) => other.taskName === taskRun.taskName && other.mapIndex !== undefined), colors, now));
      continue;
    }
    rows.push([terminalText(taskRun.name), paintState(colors, taskRun.state.type, terminalText(taskRun.state.name)), formatCount(taskRun.attempts), runDuration(taskRun, now)]);
  }
  return renderTable(colors, ["Task run", "State", "Attempts", "Duration"], rows);
}

function mapRow(group: readonly TaskRunResponse[], colors: Colors, now: number): string[] {
  const counts: Partial<Record<StateType, number>> = {};
  let attempts = 0;
  let start: string | undefined;
  let end: string | undefined;
  let running = false;
  for (const taskRun of group) {
    counts[taskRun.state.type] = (counts[taskRun.state.type] ?? 0) + 1;
    attempts += taskRun.attempts;
    if (taskRun.startTime !== undefined && (start === undefined || taskRun.startTime < start)) start = taskRun.startTime;
    if (taskRun.endTime !== undefined && (end === undefined || taskRun.endTime > end)) end = taskRun.endTime;
    if (!isTerminal(taskRun.state.type)) running = true;
  }
  const first = group[0]!;
  const duration = start === undefined ? "—" : formatSpan(start, running ? undefined : end, now);
  return [`${terminalText(first.taskName)} ×${formatCount(group.length)}`, formatStateCounts(colors, counts), formatCount(attempts), duration];
}

function artifactLines(artifacts: readonly ArtifactResponse[], colors: Colors): string[] {
  if (artifacts.length === 0) return [colors.dim("No artifacts.")];
  const rows = artifacts.map((artifact) => [terminalText(artifact.key), terminalText(artifact.type), formatTime(artifact.createdAt), terminalLine(artifact.description ?? "")]);
  return renderTable(colors, ["Key", "Type", "Created", "Description"], rows).map((line) => line.trimEnd());
}

function optional(text: string | undefined): string | undefined {
  return text === undefined ? undefined : terminalText(text);
}

function identityOf(line: LogLine): string {
  return JSON.stringify([line.timestamp, line.level, line.taskRunId ?? null, line.message, line.fields ?? null]);
}

