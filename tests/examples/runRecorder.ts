import type { Artifact, FlowRun, LogEntry, Recorder } from "aloft";

/** A recorder that keeps what a run reports, for assertions. */
export interface CapturingRecorder extends Recorder {
  flowRuns: FlowRun[];
  artifacts: Artifact[];
  logs: LogEntry[];
}

/**
 * Captures every flow run (subflows included), artifact and log line of the runs it is given to.
 *
 * @example
 * ```ts
 * const recorder = capturingRecorder();
 * await etl.run({}, { recorder, replaceRecorder: true });
 * recorder.artifacts.map((a) => a.key);
 * ```
 */
export function capturingRecorder(): CapturingRecorder {
  const flowRuns: FlowRun[] = [];
  const artifacts: Artifact[] = [];
  const logs: LogEntry[] = [];
  return {
    flowRuns,
    artifacts,
    logs,
    flowRunCreated: (run) => flowRuns.push(run),
    artifact: (artifact) => artifacts.push(artifact),
    log: (entry) => logs.push(entry),
  };
}
