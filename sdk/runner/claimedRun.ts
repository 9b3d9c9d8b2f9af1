import { setMaxListeners } from "node:events";
import { ControlPlaneLink, type ControlPlaneCalls, type ProposalBody } from "../api/controlPlaneLink.js";
import type { CacheStore } from "../engine/cache.js";
import type { Journal } from "../engine/journal.js";
import type { Recorder } from "../engine/recorder.js";
import { CancelledError, messageOf, TimedOutError } from "../model/errors.js";
import type { FlowRun } from "../model/runs.js";
import type { State, StateType } from "../model/states.js";

/** Seconds between heartbeats when neither the caller nor `ALOFT_HEARTBEAT_SECONDS` says. */
export const DEFAULT_HEARTBEAT_SECONDS = 10;

/**
 * Where a runner runs, as it reports itself in heartbeats (the control plane stops it there when a
 * cancellation is not obeyed in time).
 *
 * @example
 * ```ts
 * const runner: RunnerInfo = { kind: "process", pid: process.pid, host: "laptop" };
 * ```
 */
export interface RunnerInfo {
  kind: "process" | "lambda" | "ecs";
  pid?: number;
  host?: string;
  taskArn?: string;
  clusterArn?: string;
  requestId?: string;
}

/**
 * What the control plane tells a runner on each heartbeat: go on, cancel the flow (the run is
 * CANCELLING), or stop at once without writing anything (this runner no longer holds the run).
 *
 * @example
 * ```ts
 * const answer: HeartbeatAnswer = { action: "continue" };
 * ```
 */
export interface HeartbeatAnswer {
  action: "continue" | "cancel" | "stop";
  state?: { type: StateType; name?: string };
}

/**
 * The orchestration rules' answer to one of the runner's proposals, whichever way it travelled.
 *
 * @example
 * ```ts
 * const answer: ProposalAnswer = { status: "WAIT", delaySeconds: 5, reason: "the run is due in 5s" };
 * ```
 */
export interface ProposalAnswer {
  status: "ACCEPT" | "REJECT" | "WAIT" | "ABORT";
  rule?: string;
  reason?: string;
  delaySeconds?: number;
}

/** A flow-run proposal from the runner holding the run's claim token. */
export interface RunnerProposal extends ProposalBody {
  runnerToken: string;
  /** The flow's `retries`, reported on RUNNING so the crash monitor knows whether to reschedule. */
  retries?: number;
}

/**
 * The control-plane calls a runner makes: the link's reports and journal, its own state proposals
 * (carrying the claim token) and heartbeats. Over HTTP an `AloftClient` answers them
 * ({@link clientRunnerCalls}); in the runner Lambda the services do, in process.
 *
 * @example
 * ```ts
 * const calls: RunnerCalls = { link: clientCalls(client), propose, heartbeat };
 * ```
 */
export interface RunnerCalls {
  link: ControlPlaneCalls;
  propose(runId: string, body: RunnerProposal): Promise<ProposalAnswer>;
  heartbeat(runId: string, body: { runnerToken: string; runner?: RunnerInfo }): Promise<HeartbeatAnswer>;
}

/** A flow handle, as `flow()` makes it (possibly in a bundle's own copy of the SDK). */
export interface RunnableFlow {
  readonly kind: "flow";
  readonly name: string;
  readonly options?: { readonly retries?: number };
  run(
    params: never,
    options: { runId: string; journal: Journal; recorder: Recorder; replaceRecorder?: boolean; tags?: string[]; signal?: AbortSignal; cache?: CacheStore },
  ): Promise<FlowRun>;
}

/** The claimed run, as far as running it needs. */
export interface ClaimedRunInfo {
  id: string;
  flowName: string;
  parameters: unknown;
  tags: readonly string[];
}

/**
 * What a runner did with a claimed run:
 * - `ran`: the flow ran to a final state (reported with the run's token);
 * - `stopped`: the runner lost the run (it was declared crashed and re-claimed) and stopped without writing;
 * - `failed`: the flow could not start (its code could not be loaded); the run was failed with the reason;
 * - `skipped`: the control plane refused the start (the run was cancelled, or is another runner's).
 *
 * @example
 * ```ts
 * const outcome: RunnerOutcome = { action: "ran", state: run.state };
 * ```
 */
export type RunnerOutcome =
  | { action: "ran"; state: State }
  | { action: "stopped"; reason: string }
  | { action: "failed"; reason: string }
  | { action: "skipped"; reason: string };

/** Options of {@link executeClaimedRun}. */
export interface ExecuteClaimedRunOptions {
  calls: RunnerCalls;
  run: ClaimedRunInfo;
  /** The claim token the claim returned; every write of the run carries it. */
  runnerToken: string;
  /** The run's flow, or why its code could not be loaded (the run is then failed with that reason). */
  loadFlow: () => Promise<RunnableFlow>;
  /** Default: `ALOFT_HEARTBEAT_SECONDS`, else {@link DEFAULT_HEARTBEAT_SECONDS}. */
  heartbeatSeconds?: number;
  /** Aborting it cancels the flow (it ends CANCELLED). */
  signal?: AbortSignal;
  runner?: RunnerInfo;
  cache?: CacheStore;
  /** The work pool's job timeout: a run still going after this many seconds is aborted and ends FAILED (TimedOut). */
  timeoutSeconds?: number;
}

/**
 * Heartbeat interval from the environment (`ALOFT_HEARTBEAT_SECONDS`, fractions allowed), else
 * {@link DEFAULT_HEARTBEAT_SECONDS}.
 *
 * @example
 * ```ts
 * heartbeatSecondsFrom({ ALOFT_HEARTBEAT_SECONDS: "0.5" }); // 0.5
 * ```
 */
export function heartbeatSecondsFrom(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.ALOFT_HEARTBEAT_SECONDS;
  if (raw === undefined || raw === "") return DEFAULT_HEARTBEAT_SECONDS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`ALOFT_HEARTBEAT_SECONDS must be a positive number of seconds, got "${raw}"`);
  return seconds;
}

/**
 * The runner's core, shared by local runner processes, the runner Lambda and Fargate tasks: runs a
 * claimed (PENDING) run of a deployment in durable mode. It proposes RUNNING with the claim token
 * (waiting when the rules say WAIT), heartbeats every interval, and runs the flow with the run's
 * journal in the control plane, so calls an earlier attempt completed return their recorded
 * results instead of running again. A heartbeat answered "cancel" aborts the flow's signal and the
 * run ends CANCELLED; one answered "stop" (the run was declared crashed and claimed again) aborts
 * the flow and fences every further write of this run, journal included, so a runner that was only
 * slow never overwrites the new runner's work.
 *
 * @example
 * ```ts
 * const outcome = await executeClaimedRun({ calls, run, runnerToken, loadFlow: async () => etl, heartbeatSeconds: 10 });
 * if (outcome.action === "ran") console.log(outcome.state.type); // "COMPLETED"
 * ```
 */
export async function executeClaimedRun(options: ExecuteClaimedRunOptions): Promise<RunnerOutcome> {
  const { calls, run, runnerToken } = options;
  const heartbeatMs = (options.heartbeatSeconds ?? heartbeatSecondsFrom()) * 1000;
  const fence = new RunFence(run.id);
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const onOuterAbort = () => controller.abort(new CancelledError(`cancelled: ${messageOf(options.signal?.reason)}`));
  if (options.signal?.aborted) onOuterAbort();
  else options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const deadline = new JobDeadline(options.timeoutSeconds, controller);

  const proposeAs = async (body: ProposalBody & { retries?: number }): Promise<ProposalAnswer> => {
    const answer = await calls.propose(run.id, { ...body, runnerToken });
    if (answer.rule === CLAIMED_BY_ANOTHER) fence.lose(`the run was claimed by another runner: ${answer.reason ?? ""}`.trim(), controller);
    return answer;
  };

  // Beats from the claim on: loading the code can take a while, and a silent claim is declared crashed.
  const heartbeat = new Heartbeat(calls, run.id, runnerToken, options.runner, heartbeatMs, fence, controller);
  heartbeat.start();
  try {
    let flow: RunnableFlow;
    try {
      flow = await options.loadFlow();
    } catch (error) {
      if (fence.lost !== undefined) return { action: "stopped", reason: fence.lost };
      const reason = messageOf(error);
      const answer = await proposeAs({
        state: { type: "FAILED", name: "Failed", message: reason.slice(0, 4_000) },
        error: { name: error instanceof Error && error.name !== "Error" ? error.name : "FlowNotLoaded", message: reason.slice(0, 4_000) },
        transitionId: `runner:${run.id}:${tokenTag(runnerToken)}:load`,
      });
      return answer.status === "ACCEPT" ? { action: "failed", reason } : { action: "skipped", reason: answer.reason ?? answer.status };
    }

    const started = await startRunning(run.id, runnerToken, flow, proposeAs, controller.signal, fence);
    if (started !== undefined) return started;

    const link = new ControlPlaneLink(fencedCalls(calls, run.id, fence, proposeAs, deadline));
    let finished: FlowRun;
    try {
      finished = await flow.run(run.parameters as never, {
        runId: run.id,
        journal: link.journal,
        recorder: link.recorder,
        replaceRecorder: true,
        signal: controller.signal,
        ...(run.tags.length > 0 ? { tags: [...run.tags] } : {}),
        ...(options.cache ? { cache: options.cache } : {}),
      });
    } finally {
      heartbeat.stop();
      await link.flush();
    }
    if (fence.lost !== undefined) return { action: "stopped", reason: fence.lost };
    return { action: "ran", state: deadline.rewriteState(finished.state) };
  } finally {
    heartbeat.stop();
    deadline.clear();
    options.signal?.removeEventListener("abort", onOuterAbort);
  }
}

/** The rule the control plane answers a proposal with when another runner holds the run's claim. */
export const CLAIMED_BY_ANOTHER = "claimed-by-another-runner";

/** Proposes RUNNING (waiting while the rules say WAIT); an outcome when the run must not start. */
async function startRunning(
  runId: string,
  runnerToken: string,
  flow: RunnableFlow,
  propose: (body: ProposalBody & { retries?: number }) => Promise<ProposalAnswer>,
  signal: AbortSignal,
  fence: RunFence,
): Promise<RunnerOutcome | undefined> {
  const body = { state: { type: "RUNNING" as const, name: "Running" }, transitionId: `runner:${runId}:${tokenTag(runnerToken)}:running`, retries: flow.options?.retries ?? 0 };
  const cancel = async (): Promise<RunnerOutcome> => {
    if (fence.lost !== undefined) return { action: "stopped", reason: fence.lost };
    const cancelled = await propose({ state: { type: "CANCELLED", name: "Cancelled", message: "cancelled before it started" }, transitionId: `runner:${runId}:${tokenTag(runnerToken)}:cancelled` });
    return { action: "skipped", reason: `cancelled before it started (${cancelled.status})` };
  };
  for (;;) {
    if (signal.aborted) return cancel();
    const answer = await propose(body);
    if (fence.lost !== undefined) return { action: "stopped", reason: fence.lost };
    if (answer.status === "ACCEPT") return undefined;
    if (answer.status !== "WAIT") return { action: "skipped", reason: answer.reason ?? `the control plane answered ${answer.status} to RUNNING` };
    try {
      await sleep(Math.max(0.05, answer.delaySeconds ?? 1) * 1000, signal);
    } catch {
      return cancel();
    }
  }
}

/** Once a runner has lost its run, nothing it sends for that run may reach the control plane. */
class RunFence {
  lost: string | undefined;
  constructor(readonly runId: string) {}

  lose(reason: string, controller: AbortController): void {
    if (this.lost !== undefined) return;
    this.lost = reason;
    controller.abort(new CancelledError(`stopped: ${reason}`));
  }

  check(): void {
    if (this.lost !== undefined) throw new RunLostError(this.runId, this.lost);
  }
}

/** A write of a run this runner no longer holds; the flow is aborted and the write never sent. */
export class RunLostError extends Error {
  constructor(
    readonly runId: string,
    reason: string,
  ) {
    super(`flow run ${runId} is no longer held by this runner (${reason}); nothing more is written`);
    this.name = "RunLostError";
  }
}

/**
 * The link's calls for the claimed run: proposals carry the claim token (and go through `propose`,
 * whose answer can reveal a lost claim), the run is not created again (it exists: it was claimed),
 * the first Running is not proposed twice, and after the claim is lost nothing of the run is sent.
 * Subflow runs are reported as the link reports them.
 */
function fencedCalls(
  calls: RunnerCalls,
  runId: string,
  fence: RunFence,
  propose: (body: ProposalBody) => Promise<ProposalAnswer>,
  deadline: JobDeadline,
): ControlPlaneCalls {
  const { link } = calls;
  let firstRunningSkipped = false;
  // Telemetry of a lost run is dropped quietly; journal calls fail, so the flow cannot go on.
  const drop = async (send: () => Promise<unknown>): Promise<unknown> => (fence.lost === undefined ? send() : undefined);
  const guard = async <T>(send: () => Promise<T>): Promise<T> => {
    fence.check();
    return send();
  };
  return {
    createFlowRun: (body) => (body.id === runId ? Promise.resolve({ state: { type: "PENDING" } }) : link.createFlowRun(body)),
    proposeFlowRunState: async (id, body) => {
      if (id !== runId) return link.proposeFlowRunState(id, body);
      if (body.state.type === "RUNNING" && body.state.name === "Running" && !firstRunningSkipped) {
        firstRunningSkipped = true;
        return undefined;
      }
      return drop(() => propose(deadline.rewrite(body)));
    },
    createTaskRun: (body) => drop(() => link.createTaskRun(body)),
    proposeTaskRunState: (id, body) => drop(() => link.proposeTaskRunState(id, body)),
    createLogs: (logs) => drop(() => link.createLogs(logs)),
    createArtifact: (body) => drop(() => link.createArtifact(body)),
    listJournal: (id) => guard(() => link.listJournal(id)),
    putJournalEntry: (id, key, value) => guard(() => link.putJournalEntry(id, key, value)),
  };
}

/**
 * The work pool's job timeout: when it passes, the flow is aborted, and the Cancelled the engine
 * then reports becomes FAILED (TimedOut) with the reason: nobody cancelled this run.
 */
class JobDeadline {
  private readonly timer: NodeJS.Timeout | undefined;
  private fired = false;

  constructor(
    private readonly seconds: number | undefined,
    controller: AbortController,
  ) {
    if (seconds === undefined) return;
    this.timer = setTimeout(() => {
      this.fired = true;
      controller.abort(new TimedOutError(this.reason()));
    }, seconds * 1000);
    this.timer.unref();
  }

  rewrite(body: ProposalBody): ProposalBody {
    if (!this.fired || body.state.type !== "CANCELLED") return body;
    const reason = this.reason();
    return { ...body, state: { type: "FAILED", name: "TimedOut", message: reason }, error: { name: "TimedOutError", message: reason } };
  }

  rewriteState(state: State): State {
    if (!this.fired || state.type !== "CANCELLED") return state;
    return { ...state, type: "FAILED", name: "TimedOut", message: this.reason() };
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private reason(): string {
    return `the run exceeded its work pool's timeout of ${String(this.seconds)}s`;
  }
}

/** Beats every interval while the flow runs, and acts on the answers. */
class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private warned = false;

  constructor(
    private readonly calls: RunnerCalls,
    private readonly runId: string,
    private readonly runnerToken: string,
    private readonly runner: RunnerInfo | undefined,
    private readonly intervalMs: number,
    private readonly fence: RunFence,
    private readonly controller: AbortController,
  ) {}

  start(): void {
    this.beat();
    this.timer = setInterval(() => this.beat(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    if (this.inFlight || this.fence.lost !== undefined) return;
    this.inFlight = true;
    const body = this.runner ? { runnerToken: this.runnerToken, runner: this.runner } : { runnerToken: this.runnerToken };
    this.calls
      .heartbeat(this.runId, body)
      .then((answer) => {
        if (answer.action === "stop") {
          this.fence.lose(`the control plane says this runner no longer holds the run${answer.state ? ` (it is ${answer.state.type})` : ""}`, this.controller);
          this.stop();
        } else if (answer.action === "cancel" && !this.controller.signal.aborted) {
          this.controller.abort(new CancelledError(`flow run ${this.runId} was cancelled`));
        }
      })
      .catch((error: unknown) => {
        // A missed beat is not fatal: the monitor allows three. Say so once, then keep trying.
        if (this.warned) return;
        this.warned = true;
        process.stderr.write(`aloft: heartbeat of flow run ${this.runId} failed (${messageOf(error)}); retrying every interval\n`);
      })
      .finally(() => {
        this.inFlight = false;
      });
  }
}

function tokenTag(token: string): string {
  return token.slice(0, 12);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
