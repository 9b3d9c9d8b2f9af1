import type { FlowRun, TaskRunSummary } from "../model/runs.js";
import { isTerminal, type State, type StateType } from "../model/states.js";

/**
 * One task run that is not part of a `.map`; its summary object is the engine's, so it always shows
 * the current state.
 *
 * @example
 * ```ts
 * const row: TaskRow = { kind: "task", taskRun, depth: 1 };
 * ```
 */
export interface TaskRow {
  kind: "task";
  taskRun: TaskRunSummary;
  /** 1 for task runs of the root flow run, 2 inside a subflow, … */
  depth: number;
}

/**
 * Every mapped task run of one task in one flow run, collapsed into counts by state.
 *
 * @example
 * ```ts
 * row.counts.COMPLETED; // 9812
 * ```
 */
export interface MapRow {
  kind: "map";
  taskName: string;
  depth: number;
  /** Task runs created so far. */
  total: number;
  /** Task runs in a final state. */
  finished: number;
  counts: Record<StateType, number>;
  /** Attempts made, summed over the task runs. */
  attempts: number;
  startTime: string;
  /** When the last task run finished, while every created one is finished. */
  endTime: string | undefined;
}

/**
 * A subflow run.
 *
 * @example
 * ```ts
 * const row: FlowRow = { kind: "flow", run: subflowRun, depth: 1 };
 * ```
 */
export interface FlowRow {
  kind: "flow";
  run: FlowRun;
  depth: number;
}

/**
 * A line of progress: a task run, a mapped task, or a subflow run.
 *
 * @example
 * ```ts
 * const label = row.kind === "map" ? row.taskName : row.kind === "task" ? row.taskRun.name : row.run.name;
 * ```
 */
export type Row = TaskRow | MapRow | FlowRow;

interface Member {
  row: MapRow;
  type: StateType;
  attempts: number;
}

/**
 * Keeps the picture of a flow run from recorder events, in constant time per event whatever the
 * number of task runs: rows in creation order, mapped task runs folded into one row per task.
 * The live view and the summary table both read it.
 *
 * @example
 * ```ts
 * const tracker = new RunTracker();
 * tracker.flowRunCreated(run);
 * tracker.taskRunCreated(taskRun);
 * tracker.rows.length; // 1
 * ```
 */
export class RunTracker {
  /** The flow run the CLI started (the first flow run seen without a parent). */
  root: FlowRun | undefined;
  readonly rows: Row[] = [];
  private readonly flowDepths = new Map<string, number>();
  private readonly mapRows = new Map<string, MapRow>();
  private readonly mapRowsByFlowRun = new Map<string, MapRow[]>();
  private readonly members = new Map<string, Member>();

  /** Records a flow run; returns its row when it is a subflow run. */
  flowRunCreated(run: FlowRun): FlowRow | undefined {
    if (run.parentRunId === undefined || this.root === undefined) {
      this.root ??= run;
      this.flowDepths.set(run.id, 0);
      return undefined;
    }
    const depth = (this.flowDepths.get(run.parentRunId) ?? 0) + 1;
    this.flowDepths.set(run.id, depth);
    const row: FlowRow = { kind: "flow", run, depth };
    this.rows.push(row);
    return row;
  }

  /** How deep a flow run is: 0 for the root, 1 for its subflows, … */
  flowDepth(flowRunId: string | undefined): number {
    return flowRunId === undefined ? 0 : (this.flowDepths.get(flowRunId) ?? 0);
  }

  /** The map rows of one flow run's own task runs. */
  mapRowsOf(flowRunId: string): readonly MapRow[] {
    return this.mapRowsByFlowRun.get(flowRunId) ?? [];
  }

  /** Records a new task run: a row of its own, or one more in its task's map row. */
  taskRunCreated(taskRun: TaskRunSummary): void {
    const depth = this.flowDepth(taskRun.flowRunId) + 1;
    if (taskRun.mapIndex === undefined) {
      this.rows.push({ kind: "task", taskRun, depth });
      return;
    }
    const key = `${taskRun.flowRunId ?? ""}\u0000${taskRun.taskName}`;
    let row = this.mapRows.get(key);
    if (!row) {
      row = { kind: "map", taskName: taskRun.taskName, depth, total: 0, finished: 0, counts: emptyCounts(), attempts: 0, startTime: taskRun.startTime, endTime: undefined };
      this.mapRows.set(key, row);
      this.rows.push(row);
      const siblings = this.mapRowsByFlowRun.get(taskRun.flowRunId ?? "") ?? [];
      siblings.push(row);
      this.mapRowsByFlowRun.set(taskRun.flowRunId ?? "", siblings);
    }
    row.total += 1;
    row.endTime = undefined;
    row.counts[taskRun.state.type] += 1;
    row.attempts += taskRun.attempts;
    if (isTerminal(taskRun.state.type)) row.finished += 1;
    this.members.set(taskRun.id, { row, type: taskRun.state.type, attempts: taskRun.attempts });
  }

  /**
   * Records a task run's new state. Returns the map row it belongs to (if mapped) and whether
   * this change finished it.
   */
  taskRunStateChanged(taskRun: TaskRunSummary, state: State): { mapRow: MapRow | undefined; finished: boolean } {
    const member = this.members.get(taskRun.id);
    if (!member) return { mapRow: undefined, finished: isTerminal(state.type) };
    const { row } = member;
    const wasTerminal = isTerminal(member.type);
    const finished = !wasTerminal && isTerminal(state.type);
    row.counts[member.type] -= 1;
    row.counts[state.type] += 1;
    row.attempts += taskRun.attempts - member.attempts;
    member.type = state.type;
    member.attempts = taskRun.attempts;
    if (finished) {
      row.finished += 1;
      if (row.finished === row.total) row.endTime = state.timestamp;
    }
    return { mapRow: row, finished };
  }
}

function emptyCounts(): Record<StateType, number> {
  return { SCHEDULED: 0, PENDING: 0, RUNNING: 0, PAUSED: 0, CANCELLING: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0, CRASHED: 0 };
}
