import type { FlowRunRecord, RunnerInfo } from "../store/records.js";
import type { FlowRunFilter, Store } from "../store/store.js";
import type { FlowRunService } from "./flowRuns.js";
import type { TransitionOutcome } from "./transitions.js";
import type { StateMachines } from "./ports.js";

/** A SCHEDULED run this long past its due time is Late. */
export const LATE_AFTER_SECONDS = 15;
/** Runs of one state type read per sweep at most (pages of 100, newest first). */
export const MAX_RUNS_PER_SWEEP = 2_000;
/** A runner that misses this many heartbeats in a row is considered gone and its run CRASHED. */
export const MISSED_HEARTBEATS = 3;
/** How often runners beat unless `ALOFT_HEARTBEAT_SECONDS` says otherwise. */
export const DEFAULT_HEARTBEAT_SECONDS = 10;
/** How long a claimed (PENDING) run may wait for its runner to start before it is CRASHED. */
export const DEFAULT_LAUNCH_TIMEOUT_SECONDS = 300;
/** How long a CANCELLING run's runner has to stop by itself before it is stopped. */
export const DEFAULT_CANCEL_GRACE_SECONDS = 30;
/** A run whose runner dies before starting it is claimed again at most this many times, whatever its retries. */
export const MAX_LAUNCH_CRASHES = 5;
/** How the crash reason of a run that never started (crashed while PENDING) begins. */
const NEVER_STARTED = "the run never started: ";

/**
 * The intervals the run lifecycle is measured in (seconds, fractions allowed).
 *
 * @example
 * ```ts
 * const timings: LifecycleTimings = { heartbeatSeconds: 0.2, launchTimeoutSeconds: 5, cancelGraceSeconds: 1 };
 * ```
 */
export interface LifecycleTimings {
  /** How often runners beat; a run is CRASHED after {@link MISSED_HEARTBEATS} intervals without one. */
  heartbeatSeconds: number;
  /** How long a claimed run may stay PENDING without a sign of its runner. */
  launchTimeoutSeconds: number;
  /** How long a CANCELLING run's runner has to stop before the monitor stops it. */
  cancelGraceSeconds: number;
}

/**
 * The default timings, overridden by `ALOFT_HEARTBEAT_SECONDS`, `ALOFT_LAUNCH_TIMEOUT_SECONDS` and
 * `ALOFT_CANCEL_GRACE_SECONDS`. Throws naming the variable when one is not a positive number.
 *
 * @example
 * ```ts
 * lifecycleTimings({ ALOFT_HEARTBEAT_SECONDS: "0.2" }).heartbeatSeconds; // 0.2
 * ```
 */
export function lifecycleTimings(env: NodeJS.ProcessEnv = process.env, overrides: Partial<LifecycleTimings> = {}): LifecycleTimings {
  return {
    heartbeatSeconds: overrides.heartbeatSeconds ?? secondsFrom(env, "ALOFT_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_SECONDS),
    launchTimeoutSeconds: overrides.launchTimeoutSeconds ?? secondsFrom(env, "ALOFT_LAUNCH_TIMEOUT_SECONDS", DEFAULT_LAUNCH_TIMEOUT_SECONDS),
    cancelGraceSeconds: overrides.cancelGraceSeconds ?? secondsFrom(env, "ALOFT_CANCEL_GRACE_SECONDS", DEFAULT_CANCEL_GRACE_SECONDS),
  };
}

function secondsFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`${name} must be a positive number of seconds, not "${raw.slice(0, 40)}"`);
  return seconds;
}

/**
 * What one sweep did (run ids in each list).
 *
 * @example
 * ```ts
 * const { crashed, rescheduled } = await monitor.sweep();
 * if (crashed.length > 0) logger.warn("runs crashed", { crashed, rescheduled });
 * ```
 */
export interface SweepOutcome {
  /** Runs marked Late by this sweep. */
  late: string[];
  /** Runs sent to their queue again: Late deployment runs, and crashed runs re-scheduled for a retry. */
  requeued: string[];
  /** Runs marked CRASHED because their runner stopped beating (or never started). */
  crashed: string[];
  /** Of those, the runs re-scheduled (AwaitingRetry) because the flow has retries left. */
  rescheduled: string[];
  /** CANCELLING runs whose grace period ran out, now CANCELLED. */
  cancelled: string[];
  /** Of those, the runs whose runner was stopped (a process killed, an ECS task stopped). */
  stopped: string[];
  /** Runs examined. */
  examined: number;
}

/**
 * What the monitor needs: the store and flow runs, the time, the timings, where a run goes to be
 * dispatched again (its pool's queue), and how a runner is stopped (the launcher of its kind;
 * false when it cannot be, e.g. a Lambda invocation).
 *
 * @example
 * ```ts
 * const deps: RunMonitorDeps = { store, flowRuns, now: Date.now, timings: lifecycleTimings(), enqueue: (run) => queue.send({ runId: run.id }), stopRunner: (runner, reason) => ecs.stop(runner, reason) };
 * ```
 */
export interface RunMonitorDeps {
  store: Store;
  flowRuns: FlowRunService;
  now: () => number;
  timings: LifecycleTimings;
  enqueue: (run: FlowRunRecord) => Promise<void>;
  stopRunner: (runner: RunnerInfo, reason: string) => Promise<boolean>;
  /** Stops the executions of cancelled runs of "step-functions" deployments (on AWS); without it they are cancelled after the grace period only. */
  stateMachines?: Pick<StateMachines, "stop">;
}

/**
 * The monitor's sweep (every minute on AWS, every heartbeat interval in the local server):
 *
 * - **Late:** a SCHEDULED run more than {@link LATE_AFTER_SECONDS} past its due time was not
 *   dispatched (its message was lost, or its creator died before sending it). It is renamed Late,
 *   keeping its due time (transition id `late:<runId>:<version>`, so once per wait), and a deployment run is
 *   queued again. Every monitor write names the version of the run it judged, so a run that moved
 *   since the listing (claimed, started, finished) is left alone.
 * - **Crashed:** a run held by a runner (it has a runner token) that is RUNNING, PAUSED (not
 *   Suspended) or waiting for an in-process retry, with no heartbeat for {@link MISSED_HEARTBEATS}
 *   intervals — or PENDING with no sign of its runner for the launch timeout — is CRASHED with the
 *   reason. The proposal carries the token the monitor read, so a run claimed again meanwhile is
 *   left alone. If the flow has retries left (`runCount <= retries`, as the runner reported them) the
 *   run is re-scheduled (AwaitingRetry, which clears the token) and queued: the next runner resumes
 *   from the journal, and the lost runner's reports and heartbeats are refused ("stop"). A run that
 *   crashed while PENDING never started, like a failed launch: it is re-scheduled whatever its
 *   retries, up to {@link MAX_LAUNCH_CRASHES} times.
 * - **Cancelled:** a run CANCELLING for longer than the grace period has a runner that did not stop:
 *   it is stopped through its launcher (the runner its heartbeats described) and the run CANCELLED.
 *   A cancelled run of a "step-functions" deployment has no runner: its execution is stopped at once.
 *
 * @example
 * ```ts
 * const monitor = new RunMonitor({ store, flowRuns, now: Date.now, timings: lifecycleTimings(), enqueue, stopRunner });
 * const { crashed, late } = await monitor.sweep();
 * ```
 */
export class RunMonitor {
  constructor(private readonly deps: RunMonitorDeps) {}

  async sweep(): Promise<SweepOutcome> {
    const outcome: SweepOutcome = { late: [], requeued: [], crashed: [], rescheduled: [], cancelled: [], stopped: [], examined: 0 };
    for (const stateType of ["SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING"] as const) {
      for await (const run of this.runsIn({ stateType })) {
        outcome.examined++;
        if (run.state.type !== stateType) continue;
        if (stateType === "CANCELLING") await this.checkCancelling(run, outcome);
        else if (run.runnerToken !== undefined) await this.checkRunner(run, outcome);
        else if (stateType === "SCHEDULED") await this.checkLate(run, outcome);
      }
    }
    return outcome;
  }

  /** The runs of a state type, newest first, at most {@link MAX_RUNS_PER_SWEEP} (GSI3, one partition per type). */
  private async *runsIn(filter: FlowRunFilter): AsyncGenerator<FlowRunRecord> {
    let cursor: string | undefined;
    let read = 0;
    do {
      const page = await this.deps.store.listFlowRuns(filter, { limit: 100, ...(cursor === undefined ? {} : { cursor }) });
      cursor = page.cursor;
      read += page.items.length;
      yield* page.items;
    } while (cursor !== undefined && read < MAX_RUNS_PER_SWEEP);
  }

  private async checkLate(run: FlowRunRecord, outcome: SweepOutcome): Promise<void> {
    if (run.state.name === "Late" || run.scheduledTime === undefined) return;
    if (Date.parse(run.scheduledTime) >= this.deps.now() - LATE_AFTER_SECONDS * 1000) return;
    const { decision } = await this.deps.flowRuns.proposeState(run.id, {
      state: { type: "SCHEDULED", name: "Late", scheduledTime: run.scheduledTime },
      transitionId: `late:${run.id}:${run.version}`,
      controlPlane: true,
      // The listing may be stale: a run claimed since must not be taken back.
      expectVersion: run.version,
    });
    if (decision.status !== "ACCEPT" || decision.rule === "duplicate-transition") return;
    outcome.late.push(run.id);
    if (run.deploymentId !== undefined) {
      await this.deps.enqueue(run);
      outcome.requeued.push(run.id);
    }
  }

  /** Crashes a runner-held run whose runner shows no sign of life, and re-schedules it when the flow has retries left. */
  private async checkRunner(run: FlowRunRecord, outcome: SweepOutcome): Promise<void> {
    if (run.state.type === "PAUSED" && run.state.name === "Suspended") return; // its process has exited, by design
    const reason = this.silenceReason(run);
    if (reason === undefined) return;
    const { crashed, rescheduled } = await crashRun(this.deps.flowRuns, run, {
      reason,
      transitionId: `crash:${run.id}:${run.version}`,
      ...(run.runnerToken === undefined ? {} : { runnerToken: run.runnerToken }),
      // A beat, or a transition, that lands after the listing wins: the runner is alive.
      expectHeartbeatAt: run.heartbeatAt ?? null,
    });
    if (!crashed) return;
    outcome.crashed.push(run.id);
    if (!rescheduled) return;
    outcome.rescheduled.push(run.id);
    await this.deps.enqueue(rescheduled);
    outcome.requeued.push(run.id);
  }

  /** Why the run's runner is presumed gone, or undefined while it shows signs of life. */
  private silenceReason(run: FlowRunRecord): string | undefined {
    const { heartbeatSeconds, launchTimeoutSeconds } = this.deps.timings;
    const entered = Date.parse(run.state.timestamp);
    const beat = run.heartbeatAt === undefined ? Number.NaN : Date.parse(run.heartbeatAt);
    const lastSign = Number.isNaN(beat) ? entered : Math.max(entered, beat);
    const silentMs = this.deps.now() - lastSign;
    const heartbeatLimitMs = MISSED_HEARTBEATS * heartbeatSeconds * 1000;
    if (run.state.type === "PENDING" && Number.isNaN(beat)) {
      if (silentMs <= Math.max(launchTimeoutSeconds * 1000, heartbeatLimitMs)) return undefined;
      return `${NEVER_STARTED}it was claimed at ${run.state.timestamp} and no runner reported within the launch timeout of ${launchTimeoutSeconds}s`;
    }
    if (silentMs <= heartbeatLimitMs) return undefined;
    const last = Number.isNaN(beat) ? `since the run became ${run.state.type} at ${run.state.timestamp}` : `since ${run.heartbeatAt}`;
    const silence = `no heartbeat ${last} (${(silentMs / 1000).toFixed(1)}s, more than ${MISSED_HEARTBEATS} intervals of ${heartbeatSeconds}s)`;
    return run.state.type === "PENDING" ? `${NEVER_STARTED}its runner stopped heartbeating before starting it: ${silence}` : `the runner stopped heartbeating: ${silence}`;
  }

  /** Stops a runner that ignored a cancel request for longer than the grace period, and cancels its run. */
  private async checkCancelling(run: FlowRunRecord, outcome: SweepOutcome): Promise<void> {
    const { cancelGraceSeconds } = this.deps.timings;
    if (this.deps.now() - Date.parse(run.state.timestamp) <= cancelGraceSeconds * 1000) {
      await this.stopExecution(run, outcome);
      return;
    }
    const reason = `the runner did not stop within ${cancelGraceSeconds}s of the cancel request`;
    let stopped = false;
    if (run.runner !== undefined) stopped = await this.deps.stopRunner(run.runner, `flow run ${run.id} was cancelled and ${reason}`);
    const { decision } = await this.deps.flowRuns.proposeState(run.id, {
      state: { type: "CANCELLED", message: stopped ? `${reason}, so it was stopped` : reason },
      transitionId: `cancel-grace:${run.id}:${run.version}`,
      controlPlane: true,
      expectVersion: run.version,
    });
    if (decision.status !== "ACCEPT" || decision.rule === "duplicate-transition") return;
    outcome.cancelled.push(run.id);
    if (stopped) outcome.stopped.push(run.id);
  }

  /**
   * A cancelled run of a "step-functions" deployment has no runner to hear it: its execution is
   * stopped at once (the mirror then records the run CANCELLED from the ABORTED execution).
   */
  private async stopExecution(run: FlowRunRecord, outcome: SweepOutcome): Promise<void> {
    const { stateMachines, store } = this.deps;
    if (stateMachines === undefined || run.runnerToken !== undefined || run.deploymentId === undefined) return;
    const deployment = await store.getDeploymentById(run.deploymentId);
    if (deployment?.engine !== "step-functions" || deployment.stateMachineArn === undefined) return;
    if (await stateMachines.stop({ stateMachineArn: deployment.stateMachineArn, runId: run.id, reason: `flow run ${run.id} was cancelled` })) {
      outcome.stopped.push(run.id);
    }
  }
}

/**
 * Why a run's runner is gone and how that crash is made: the reason (the state message and the
 * `RunnerLost` error), an idempotent transition id, and what the crash is conditional on.
 *
 * @example
 * ```ts
 * const crash: RunnerCrash = { reason: "runner process 4242 exited with code 1", transitionId: `runner-lost:${run.id}:${tag}`, runnerToken };
 * ```
 */
export interface RunnerCrash {
  reason: string;
  transitionId: string;
  /** The token of the runner that is gone: a run claimed again meanwhile is left alone. */
  runnerToken?: string;
  /** The runner's last heartbeat as seen: refused if it beat since (it is alive). */
  expectHeartbeatAt?: string | null;
}

/**
 * What {@link crashRun} did: whether the run is now CRASHED by this crash, and the run as
 * re-scheduled (SCHEDULED / AwaitingRetry, to be queued) when it had attempts left.
 *
 * @example
 * ```ts
 * const { crashed, rescheduled } = await crashRun(flowRuns, run, crash);
 * if (rescheduled) await enqueue(rescheduled);
 * ```
 */
export interface CrashOutcome {
  crashed: boolean;
  rescheduled?: FlowRunRecord;
  /** The last transition made (the retry's, else the crash's): what a caller answers with. */
  last: TransitionOutcome<FlowRunRecord>;
}

/**
 * Crashes a run whose runner is gone — found silent by the monitor, or seen dying by the worker
 * that supervised it — and re-schedules it when it has attempts left. The crash names the version of
 * the run it was judged on, so a run that moved since is left alone. A run that crashed while
 * PENDING never started (its runner died before, or while, loading the flow's code): it is handed
 * out again like a failed launch, whatever its retries (they are not known before the code loads),
 * up to {@link MAX_LAUNCH_CRASHES} times; a started one while `runCount <= retries`.
 *
 * @example
 * ```ts
 * const { crashed, rescheduled } = await crashRun(flowRuns, run, { reason, transitionId: `crash:${run.id}:${run.version}`, runnerToken: run.runnerToken });
 * ```
 */
export async function crashRun(flowRuns: Pick<FlowRunService, "proposeState" | "history">, run: FlowRunRecord, crash: RunnerCrash): Promise<CrashOutcome> {
  const reason = (run.state.type === "PENDING" && !crash.reason.startsWith(NEVER_STARTED) ? `${NEVER_STARTED}${crash.reason}` : crash.reason).slice(0, 4_000);
  const crashing = await flowRuns.proposeState(run.id, {
    state: { type: "CRASHED", message: reason },
    error: { name: "RunnerLost", message: reason },
    transitionId: crash.transitionId,
    ...(crash.runnerToken === undefined ? {} : { runnerToken: crash.runnerToken }),
    ...(crash.expectHeartbeatAt === undefined ? {} : { expectHeartbeatAt: crash.expectHeartbeatAt }),
    expectVersion: run.version,
  });
  if (crashing.decision.status !== "ACCEPT" || crashing.decision.rule === "duplicate-transition") return { crashed: false, last: crashing };
  const crashed = crashing.run ?? run;
  let message: string;
  if (run.state.type === "PENDING") {
    // Like a failed launch: the flow never ran under this claim, so its retries are not spent.
    const launchCrashes = (await flowRuns.history(run.id)).filter((entry) => entry.state.type === "CRASHED" && entry.state.message?.startsWith(NEVER_STARTED) === true).length;
    if (launchCrashes >= MAX_LAUNCH_CRASHES) return { crashed: true, last: crashing };
    message = `re-scheduled: its runner died before starting it (${launchCrashes} of at most ${MAX_LAUNCH_CRASHES} times)`;
  } else {
    if (crashed.retries === undefined || crashed.runCount > crashed.retries) return { crashed: true, last: crashing };
    message = `re-scheduled after a crash: attempt ${crashed.runCount} of ${crashed.retries + 1} crashed (${reason})`;
  }
  const retry = await flowRuns.proposeState(run.id, {
    state: { type: "SCHEDULED", name: "AwaitingRetry", message: message.slice(0, 4_000) },
    retry: true,
    controlPlane: true,
    transitionId: `${crash.transitionId}:retry`,
  });
  if (retry.decision.status !== "ACCEPT" || retry.decision.rule === "duplicate-transition") return { crashed: true, last: crashing };
  return { crashed: true, rescheduled: retry.run ?? crashed, last: retry };
}
