import { randomUUID } from "node:crypto";
import type { Journal, JournalRecord } from "../engine/journal.js";
import type { Recorder } from "../engine/recorder.js";
import { messageOf } from "../model/errors.js";
import type { Artifact, FlowRun, LogEntry, TaskRunSummary } from "../model/runs.js";
import { isTerminal, type State } from "../model/states.js";

/** The calls the link makes; `AloftClient` provides them (tests pass a fake). */
export interface ControlPlaneCalls {
  createFlowRun(body: {
    id: string;
    flowName: string;
    name: string;
    parameters?: Record<string, unknown>;
    tags?: string[];
    parentRunId?: string;
    initialState: "PENDING";
    entrypoint?: string;
  }): Promise<{ state: { type: string } }>;
  proposeFlowRunState(id: string, body: ProposalBody): Promise<unknown>;
  createTaskRun(body: { id: string; flowRunId: string; taskName: string; name: string; tags?: string[]; mapIndex?: number }): Promise<unknown>;
  proposeTaskRunState(id: string, body: ProposalBody): Promise<unknown>;
  createLogs(logs: LogBody[]): Promise<unknown>;
  createArtifact(body: { flowRunId: string; taskRunId?: string; key: string; type: Artifact["type"]; data: unknown; description?: string }): Promise<unknown>;
  listJournal(runId: string): Promise<Array<{ key: string; value: unknown }>>;
  putJournalEntry(runId: string, key: string, value: unknown): Promise<{ value: unknown }>;
}

/** A proposed state as the API takes it. */
export interface ProposalBody {
  state: { type: State["type"]; name: string; message?: string };
  transitionId: string;
  result?: unknown;
  error?: { name: string; message: string; code?: string; stack?: string };
}

/** A log line as the API takes it. */
export interface LogBody {
  flowRunId: string;
  taskRunId?: string;
  taskRunName?: string;
  timestamp: string;
  level: LogEntry["level"];
  message: string;
  fields?: Record<string, unknown>;
}

/** Log lines are sent when this many are waiting, or after {@link LOG_FLUSH_MS}. */
export const LOG_BATCH_SIZE = 500;
/** The longest a log line waits before it is sent. */
export const LOG_FLUSH_MS = 250;

/**
 * Connects the local engine to a control plane: a recorder that reports flow runs, task runs,
 * states, logs and artifacts without ever blocking the flow (each run's reports are sent in order on
 * their own queue; logs in batches), and a journal whose writes are acknowledged by the API before a
 * task's result reaches the flow. Failed reports are retried by the client, then dropped with one
 * warning on stderr: telemetry never fails a flow. Journal failures do fail it: a result that cannot
 * be made durable must not be built upon.
 *
 * @example
 * ```ts
 * const link = new ControlPlaneLink(clientCalls);
 * const run = await etl.run(params, { recorder: link.recorder, journal: link.journal });
 * await link.flush();
 * ```
 */
export class ControlPlaneLink {
  /** Per run (flow or task run): the chain of its reports, creation first. */
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Flow runs whose creation the recorder has queued. */
  private readonly created = new Map<string, Promise<unknown>>();
  /** Runs that already existed (a retried run): their first Pending must be proposed, not skipped. */
  private readonly reopened = new Set<string>();
  private logs: LogBody[] = [];
  private logTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private warned = false;

  constructor(
    private readonly api: ControlPlaneCalls,
    private readonly options: { entrypointOf?: (flowName: string) => string | undefined } = {},
  ) {}

  readonly recorder: Recorder = {
    flowRunCreated: (run) => this.flowRunCreated(run),
    flowRunStateChanged: (run, state) => this.flowRunStateChanged(run, state),
    taskRunCreated: (taskRun) => this.taskRunCreated(taskRun),
    taskRunStateChanged: (taskRun, state) => this.taskRunStateChanged(taskRun, state),
    log: (entry) => this.log(entry),
    artifact: (artifact) => this.artifact(artifact),
    flush: () => this.flush(),
  };

  readonly journal: Journal = {
    load: async (runId) => {
      await this.runReady(runId);
      return new Map((await this.api.listJournal(runId)).map((entry) => [entry.key, entry.value]));
    },
    put: async (runId: string, record: JournalRecord) => {
      await this.runReady(runId);
      await this.api.putJournalEntry(runId, record.key, record.value);
    },
  };

  /** Resolves when every report so far has been sent (or given up on). */
  async flush(): Promise<void> {
    this.sendLogs();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private flowRunCreated(run: FlowRun): void {
    const entrypoint = this.options.entrypointOf?.(run.flowName);
    const body: Parameters<ControlPlaneCalls["createFlowRun"]>[0] = { id: run.id, flowName: run.flowName, name: run.name, initialState: "PENDING" };
    if (isRecord(run.parameters)) body.parameters = run.parameters;
    if (run.tags.length > 0) body.tags = run.tags;
    if (run.parentRunId !== undefined) body.parentRunId = run.parentRunId;
    if (entrypoint !== undefined) body.entrypoint = entrypoint;
    const creation = this.enqueue(run.id, async () => {
      const stored = await this.api.createFlowRun(body);
      if (stored.state.type !== "PENDING") this.reopened.add(run.id);
    });
    this.created.set(run.id, creation);
  }

  private flowRunStateChanged(run: FlowRun, state: State): void {
    if (state.name === "Pending" && run.attempts === 0) {
      // The create carried PENDING; a run that already existed (being retried) claims it now.
      this.enqueue(run.id, async () => {
        if (this.reopened.has(run.id)) await this.api.proposeFlowRunState(run.id, proposal(state));
      });
      return;
    }
    const body = proposal(state);
    if (state.type === "COMPLETED" && run.result !== undefined) body.result = run.result;
    if ((state.type === "FAILED" || state.type === "CRASHED") && run.error) body.error = run.error;
    this.enqueue(run.id, () => this.api.proposeFlowRunState(run.id, body));
  }

  private taskRunCreated(taskRun: TaskRunSummary): void {
    const flowRunId = taskRun.flowRunId;
    if (flowRunId === undefined) return; // standalone task runs have no flow run to belong to
    const body: Parameters<ControlPlaneCalls["createTaskRun"]>[0] = { id: taskRun.id, flowRunId, taskName: taskRun.taskName, name: taskRun.name };
    if (taskRun.tags) body.tags = taskRun.tags;
    if (taskRun.mapIndex !== undefined) body.mapIndex = taskRun.mapIndex;
    this.enqueue(taskRun.id, async () => {
      await this.runReady(flowRunId);
      await this.api.createTaskRun(body);
    });
  }

  private taskRunStateChanged(taskRun: TaskRunSummary, state: State): void {
    if (taskRun.flowRunId === undefined) return;
    if (state.name === "Pending" && taskRun.attempts === 0 && state.timestamp === taskRun.startTime) return; // carried by the create
    const body = proposal(state);
    this.enqueue(taskRun.id, () => this.api.proposeTaskRunState(taskRun.id, body));
    if (isTerminal(state.type)) {
      // The task run's chain ends here; forget it once drained.
      const chain = this.chains.get(taskRun.id);
      const forget = () => {
        if (this.chains.get(taskRun.id) === chain) this.chains.delete(taskRun.id);
      };
      void chain?.then(forget, forget);
    }
  }

  private log(entry: LogEntry): void {
    if (entry.flowRunId === undefined) return;
    const body: LogBody = { flowRunId: entry.flowRunId, timestamp: entry.timestamp, level: entry.level, message: entry.message };
    if (entry.taskRunId !== undefined) body.taskRunId = entry.taskRunId;
    if (entry.taskRunName !== undefined) body.taskRunName = entry.taskRunName;
    if (entry.fields !== undefined) body.fields = entry.fields;
    this.logs.push(body);
    if (this.logs.length >= LOG_BATCH_SIZE) this.sendLogs();
    else this.logTimer ??= setTimeout(() => this.sendLogs(), LOG_FLUSH_MS).unref();
  }

  private artifact(artifact: Artifact): void {
    const flowRunId = artifact.flowRunId;
    if (flowRunId === undefined) return;
    const body: Parameters<ControlPlaneCalls["createArtifact"]>[0] = { flowRunId, key: artifact.key, type: artifact.type, data: artifact.data };
    if (artifact.taskRunId !== undefined) body.taskRunId = artifact.taskRunId;
    if (artifact.description !== undefined) body.description = artifact.description;
    this.track(
      (async () => {
        await this.runReady(flowRunId);
        await this.api.createArtifact(body);
      })(),
    );
  }

  private sendLogs(): void {
    if (this.logTimer) clearTimeout(this.logTimer);
    this.logTimer = undefined;
    if (this.logs.length === 0) return;
    const batch = this.logs;
    this.logs = [];
    this.track(
      (async () => {
        await Promise.all([...new Set(batch.map((log) => log.flowRunId))].map((id) => this.runReady(id)));
        await this.api.createLogs(batch);
      })(),
    );
  }

  /** Waits for a flow run's creation report (if this link made one). */
  private async runReady(runId: string): Promise<void> {
    await this.created.get(runId);
  }

  private enqueue(id: string, send: () => Promise<unknown>): Promise<unknown> {
    const previous = this.chains.get(id) ?? Promise.resolve();
    const next = previous.then(send, send);
    this.chains.set(id, next);
    this.track(next);
    return next;
  }

  private track(promise: Promise<unknown>): void {
    const settled = promise.catch((error: unknown) => this.warn(error));
    this.inFlight.add(settled);
    void settled.finally(() => this.inFlight.delete(settled));
  }

  private warn(error: unknown): void {
    if (this.warned) return;
    this.warned = true;
    process.stderr.write(`aloft: could not report to the control plane (${messageOf(error)}); the flow goes on, some of its telemetry is lost\n`);
  }
}

function proposal(state: State): ProposalBody {
  const body: ProposalBody = { state: { type: state.type, name: state.name }, transitionId: randomUUID() };
  if (state.message !== undefined) body.state.message = state.message.slice(0, 4_000);
  return body;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
