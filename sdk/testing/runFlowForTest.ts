import type { Flow } from "../definitions/flow.js";
import { MemoryCacheStore } from "../engine/cache.js";
import { combineRecorders } from "../engine/recorder.js";
import type { RunOptions } from "../engine/flowRunner.js";
import type { Artifact, FlowRun, LogEntry, TaskRunSummary } from "../model/runs.js";
import type { State } from "../model/states.js";
import { FakeClock } from "./fakeClock.js";
import { MemoryRecorder } from "./memoryRecorder.js";

/**
 * What {@link runFlowForTest} returns: the run and everything recorded while it ran.
 *
 * @example
 * ```ts
 * const { run, taskRuns, statesOf } = await runFlowForTest(etl, { day: "2026-11-01" });
 * ```
 */
export interface FlowTestResult<R> {
  run: FlowRun<R>;
  /** Every task run, of this run and its subflows, in creation order. */
  taskRuns: TaskRunSummary[];
  /** Task runs of one task, by task name. */
  taskRunsOf(taskName: string): TaskRunSummary[];
  /** State names of a run (flow run or task run) by id; the flow run's own when no id is given. */
  statesOf(runId?: string): string[];
  /** Full states of a run by id. */
  historyOf(runId?: string): State[];
  /** Subflow runs, in creation order. */
  childRuns: FlowRun[];
  logs: LogEntry[];
  artifacts: Artifact[];
  clock: FakeClock;
  recorder: MemoryRecorder;
}

/**
 * Runs a flow the way the project's own tests do: on a {@link FakeClock} (retry delays and timeouts
 * take no real time), with an in-memory cache (unless `cache` is given) and a recorder that keeps
 * every state, log and artifact — and no output on the console.
 *
 * @example
 * ```ts
 * import { runFlowForTest } from "aloft/testing";
 * const { run, taskRunsOf, statesOf } = await runFlowForTest(etl, { day: "2026-11-01" });
 * expect(run.state.name).toBe("Completed");
 * expect(statesOf(taskRunsOf("extract")[0]!.id)).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]);
 * ```
 */
export async function runFlowForTest<P, R>(
  flow: Flow<P, R>,
  params: P,
  options: Omit<RunOptions, "clock"> & { clock?: FakeClock } = {},
): Promise<FlowTestResult<R>> {
  const clock = options.clock ?? new FakeClock();
  const recorder = new MemoryRecorder();
  const { recorder: extra, ...rest } = options;
  const run = await flow.run(params, {
    cache: new MemoryCacheStore(),
    ...rest,
    clock,
    recorder: extra ? combineRecorders(recorder, extra) : recorder,
    replaceRecorder: true,
  });
  return {
    run,
    taskRuns: recorder.taskRuns,
    taskRunsOf: (taskName) => recorder.taskRuns.filter((taskRun) => taskRun.taskName === taskName),
    statesOf: (runId = run.id) => recorder.stateNamesOf(runId),
    historyOf: (runId = run.id) => recorder.history.get(runId) ?? [],
    childRuns: recorder.flowRuns.filter((flowRun) => flowRun.id !== run.id),
    logs: recorder.logs,
    artifacts: recorder.artifacts,
    clock,
    recorder,
  };
}
