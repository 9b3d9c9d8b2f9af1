import type { Recorder } from "../engine/recorder.js";
import type { Artifact, FlowRun, LogEntry, TaskRunSummary } from "../model/runs.js";
import type { State } from "../model/states.js";

/**
 * A recorder that keeps everything, for assertions: every flow run and task run, the full state
 * history of each, logs and artifacts.
 *
 * @example
 * ```ts
 * const recorder = new MemoryRecorder();
 * await etl.run(params, { recorder, replaceRecorder: true });
 * expect(recorder.stateNamesOf(recorder.taskRuns[0]!.id)).toEqual(["Pending", "Running", "Completed"]);
 * ```
 */
export class MemoryRecorder implements Recorder {
  readonly flowRuns: FlowRun[] = [];
  readonly taskRuns: TaskRunSummary[] = [];
  readonly logs: LogEntry[] = [];
  readonly artifacts: Artifact[] = [];
  /** Run id (flow or task) → its states in order. */
  readonly history = new Map<string, State[]>();

  flowRunCreated(run: FlowRun): void {
    this.flowRuns.push(run);
  }
  flowRunStateChanged(run: FlowRun, state: State): void {
    this.push(run.id, state);
  }
  taskRunCreated(taskRun: TaskRunSummary): void {
    this.taskRuns.push(taskRun);
  }
  taskRunStateChanged(taskRun: TaskRunSummary, state: State): void {
    this.push(taskRun.id, state);
  }
  log(entry: LogEntry): void {
    this.logs.push(entry);
  }
  artifact(artifact: Artifact): void {
    this.artifacts.push(artifact);
  }

  /** The state names a run went through, in order. */
  stateNamesOf(runId: string): string[] {
    return (this.history.get(runId) ?? []).map((state) => state.name);
  }

  private push(id: string, state: State): void {
    const states = this.history.get(id);
    if (states) states.push(state);
    else this.history.set(id, [state]);
  }
}
