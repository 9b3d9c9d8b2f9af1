import type { FlowRun, LogEntry, LogLevel, TaskRunSummary } from "../model/runs.js";
import { isTerminal, type State, type StateType } from "../model/states.js";
import { formatLogLine, passesLevel, type Recorder } from "../engine/recorder.js";
import { RunTracker, type MapRow, type Row } from "./runTracker.js";
import { formatAttempts, formatCount, formatSpan, formatStateCounts, padVisible, paintState, type Colors } from "./stateText.js";
import { terminalText } from "./terminalText.js";
import { oneLine } from "./usageError.js";

/**
 * Where the live view writes: a stream, and for a terminal its size.
 *
 * @example
 * ```ts
 * const out: ViewStream = process.stdout;
 * ```
 */
export interface ViewStream {
  write(text: string): unknown;
  rows?: number;
  columns?: number;
}

/**
 * Options of {@link LiveView}.
 *
 * @example
 * ```ts
 * const options: LiveViewOptions = { out: process.stdout, err: process.stderr, interactive: true, colors, logThreshold: "info" };
 * ```
 */
export interface LiveViewOptions {
  /** Progress goes here. */
  out: ViewStream;
  /** Log lines go here. */
  err: ViewStream;
  /** A terminal: a redrawn block with a spinner. Otherwise plain lines, one per finished task run. */
  interactive: boolean;
  colors: Colors;
  logThreshold: LogLevel | "silent";
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const FRAME_MS = 100;
const NAME_WIDTH_LIMIT = 48;
const ESC = "\u001b[";

/**
 * The `aloft run` progress display, as a {@link Recorder}. On a terminal it redraws a block at most
 * ten times a second: the flow run with a spinner, a line per task run (name, state, attempts,
 * duration), a line per mapped task with counts by state, a line per subflow run; log lines scroll
 * above it. Elsewhere (CI, pipes) it prints plain lines: flow run state changes, each task run as it
 * finishes, and a mapped task's progress every tenth. Each engine event costs constant time.
 *
 * @example
 * ```ts
 * const view = new LiveView({ out: process.stdout, err: process.stderr, interactive: process.stdout.isTTY === true, colors, logThreshold: "info" });
 * view.start();
 * const run = await etl.run(params, { recorder: view, replaceRecorder: true });
 * view.stop();
 * ```
 */
export class LiveView implements Recorder {
  readonly tracker = new RunTracker();
  private readonly options: LiveViewOptions;
  /** Plain mode: how many finished task runs each map row's last progress line showed. */
  private readonly reportedFinished = new Map<MapRow, number>();
  private pendingLogs: string[] = [];
  private drawnLines = 0;
  private tick = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: LiveViewOptions) {
    this.options = options;
  }

  /** On a terminal: hides the cursor, turns off line wrapping and starts redrawing. */
  start(): void {
    if (!this.options.interactive || this.timer) return;
    this.options.out.write(`${ESC}?25l${ESC}?7l`);
    this.timer = setInterval(() => this.frame(), FRAME_MS);
    this.timer.unref();
  }

  /** Stops redrawing, erases the block (the summary table replaces it) and restores the cursor. */
  stop(): void {
    if (!this.options.interactive) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flushLogsAndErase();
    this.options.out.write(`${ESC}?7h${ESC}?25h`);
  }

  /** Restores the cursor and line wrapping at once (for an exit in the middle of a run). */
  restoreTerminal(): void {
    if (this.options.interactive) this.options.out.write(`${ESC}?7h${ESC}?25h`);
  }

  /** Redraws the block now (the timer calls this; tests call it directly). */
  frame(nowMs: number = Date.now()): void {
    this.tick += 1;
    const lines = this.blockLines(nowMs);
    const block = lines.map((line) => `${line}\n`).join("");
    // Erase and redraw in one write unless log lines must be printed in between.
    if (this.pendingLogs.length > 0) {
      this.flushLogsAndErase();
      this.options.out.write(block);
    } else {
      this.options.out.write(this.eraseSequence() + block);
    }
    this.drawnLines = lines.length;
  }

  flowRunCreated(run: FlowRun): void {
    this.tracker.flowRunCreated(run);
  }

  flowRunStateChanged(run: FlowRun, state: State): void {
    if (this.options.interactive || state.name === "Pending") return;
    const { colors } = this.options;
    if (isTerminal(state.type)) for (const row of this.tracker.mapRowsOf(run.id)) this.reportMapProgress(row, true);
    const indent = "  ".repeat(this.tracker.flowDepth(run.id));
    let line = `${indent}${colors.bold(terminalText(run.name))} ${paintState(colors, state.type, terminalText(state.name))}`;
    if (isTerminal(state.type)) line += ` in ${formatSpan(run.startTime, run.endTime, Date.now())}`;
    if (state.message && state.type !== "COMPLETED") line += colors.dim(` — ${oneLine(state.message)}`);
    this.options.out.write(`${line}\n`);
  }

  taskRunCreated(taskRun: TaskRunSummary): void {
    this.tracker.taskRunCreated(taskRun);
  }

  taskRunStateChanged(taskRun: TaskRunSummary, state: State): void {
    const { mapRow, finished } = this.tracker.taskRunStateChanged(taskRun, state);
    if (this.options.interactive || !finished) return;
    const { colors } = this.options;
    if (mapRow) {
      this.reportMapProgress(mapRow, false);
      return;
    }
    const depth = this.tracker.flowDepth(taskRun.flowRunId) + 1;
    let line = `${"  ".repeat(depth)}${terminalText(taskRun.name)} ${paintState(colors, state.type, terminalText(state.name))} ${colors.dim("·")} ${formatAttempts(taskRun.attempts)} ${colors.dim("·")} ${formatSpan(taskRun.startTime, taskRun.endTime, Date.now())}`;
    if (state.message && state.type !== "COMPLETED") line += colors.dim(` — ${oneLine(state.message)}`);
    this.options.out.write(`${line}\n`);
  }

  /**
   * Plain mode: a progress line for a mapped task each time another tenth of its task runs has
   * finished (a tenth of those created so far: `.map` with a concurrency creates them as it goes),
   * and a last one when its flow run ends.
   */
  private reportMapProgress(row: MapRow, final: boolean): void {
    const reported = this.reportedFinished.get(row) ?? 0;
    if (final ? reported === row.finished : row.finished - reported < Math.max(1, Math.ceil(row.total / 10))) return;
    this.reportedFinished.set(row, row.finished);
    const { colors } = this.options;
    const progress = `${formatCount(row.finished)}/${formatCount(row.total)} finished`;
    this.options.out.write(`${"  ".repeat(row.depth)}${mapLabel(row)} ${progress} ${colors.dim("·")} ${formatStateCounts(colors, row.counts)}\n`);
  }

  log(entry: LogEntry): void {
    if (passesLevel(entry.level, this.options.logThreshold)) this.notice(formatLogLine(entry));
  }

  /** Prints a line to the log stream; on a terminal, above the block at the next redraw. */
  notice(text: string): void {
    if (this.options.interactive && this.timer) this.pendingLogs.push(`${text}\n`);
    else this.options.err.write(`${text}\n`);
  }

  /** Moves up to the block's first line and clears to the end of the screen. */
  private eraseSequence(): string {
    return this.drawnLines > 0 ? `${ESC}${this.drawnLines}A\r${ESC}J` : "";
  }

  private flushLogsAndErase(): void {
    const { out, err } = this.options;
    const erase = this.eraseSequence();
    if (erase) out.write(erase);
    this.drawnLines = 0;
    if (this.pendingLogs.length > 0) {
      err.write(this.pendingLogs.join(""));
      this.pendingLogs = [];
    }
  }

  private blockLines(nowMs: number): string[] {
    const { colors, out } = this.options;
    const spinner = SPINNER[this.tick % SPINNER.length]!;
    const root = this.tracker.root;
    const lines: string[] = [];
    if (root) {
      lines.push(`${colors.cyan(spinner)} ${colors.bold(terminalText(root.name))} ${paintState(colors, root.state.type, terminalText(root.state.name))} ${colors.dim(formatSpan(root.startTime, root.endTime, nowMs))}`);
    } else lines.push(`${colors.cyan(spinner)} starting…`);

    // Only the newest rows that fit on screen: the work per frame stays bounded by the screen.
    const { rows } = this.tracker;
    const room = Math.max(2, (out.rows || 24) - 3);
    const first = rows.length > room ? rows.length - (room - 1) : 0;
    if (first > 0) lines.push(colors.dim(`  … ${formatCount(first)} earlier`));
    const visible = rows.slice(first);
    // Labels are padded so the state column lines up across nesting depths.
    const labels = visible.map((row) => truncate(labelOf(row), NAME_WIDTH_LIMIT));
    const width = Math.max(0, ...labels.map((label, i) => label.length + 2 * visible[i]!.depth));
    visible.forEach((row, i) => {
      const label = padVisible(labels[i]!, width - 2 * row.depth);
      lines.push(`${"  ".repeat(row.depth)}${this.iconOf(row, spinner)} ${label}  ${this.detailsOf(row, nowMs)}`);
    });
    return lines;
  }

  private iconOf(row: Row, spinner: string): string {
    const { colors } = this.options;
    let type: StateType;
    if (row.kind === "map") {
      if (row.finished < row.total) return colors.cyan(spinner);
      type = row.counts.FAILED + row.counts.CRASHED > 0 ? "FAILED" : row.counts.CANCELLED > 0 ? "CANCELLED" : "COMPLETED";
    } else type = row.kind === "task" ? row.taskRun.state.type : row.run.state.type;
    switch (type) {
      case "COMPLETED":
        return colors.green("✓");
      case "FAILED":
      case "CRASHED":
        return colors.red("✗");
      case "CANCELLED":
        return colors.yellow("⊘");
      case "RUNNING":
      case "CANCELLING":
        return colors.cyan(spinner);
      case "PAUSED":
      case "SCHEDULED":
      case "PENDING":
        return colors.gray("·");
    }
  }

  private detailsOf(row: Row, nowMs: number): string {
    const { colors } = this.options;
    switch (row.kind) {
      case "task": {
        const { taskRun } = row;
        const attempts = taskRun.attempts > 1 ? `  ${colors.dim(formatAttempts(taskRun.attempts))}` : "";
        return `${paintState(colors, taskRun.state.type, terminalText(taskRun.state.name))}${attempts}  ${colors.dim(formatSpan(taskRun.startTime, taskRun.endTime, nowMs))}`;
      }
      case "map":
        return `${formatStateCounts(colors, row.counts)}  ${colors.dim(formatSpan(row.startTime, row.endTime, nowMs))}`;
      case "flow":
        return `${paintState(colors, row.run.state.type, terminalText(row.run.state.name))}  ${colors.dim(formatSpan(row.run.startTime, row.run.endTime, nowMs))}`;
    }
  }
}

function mapLabel(row: MapRow): string {
  return `${terminalText(row.taskName)} ×${formatCount(row.total)}`;
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

function labelOf(row: Row): string {
  switch (row.kind) {
    case "task":
      return terminalText(row.taskRun.name);
    case "map":
      return mapLabel(row);
    case "flow":
      return `${terminalText(row.run.name)} (subflow)`;
  }
}
