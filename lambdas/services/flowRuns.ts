import { createHash } from "node:crypto";
import { approvalJournalKey, ENGINE_APPROVAL_PREFIX } from "../../sdk/api/approvals.js";
import { isTerminal, makeState, type State } from "../../sdk/model/states.js";
import type { FlowRunRecord, Page, RunnerInfo } from "../store/records.js";
import type { FlowRunFilter, PageRequest } from "../store/store.js";
import type { ServiceDeps } from "./context.js";
import { notFound, ServiceError } from "./errors.js";
import { crashRun } from "./monitoring.js";
import { PayloadCodec } from "./payloads.js";
import { applyProposal, type Proposal, type TransitionOutcome, type TransitionPort } from "./transitions.js";

/** `POST /v1/flow-runs`, validated. */
export interface CreateFlowRunInput {
  id?: string;
  flowName: string;
  name?: string;
  parameters?: Record<string, unknown>;
  deploymentId?: string;
  idempotencyKey?: string;
  tags?: string[];
  parentRunId?: string;
  scheduledTime?: string;
  initialState?: "SCHEDULED" | "PENDING";
  entrypoint?: string;
}

/**
 * The answer to a runner's heartbeat: the run's state and what the runner does next.
 *
 * @example
 * ```ts
 * const { action } = await flowRuns.heartbeat(runId, { runnerToken });
 * if (action === "stop") process.exit(0);
 * ```
 */
export interface HeartbeatAnswer {
  state: State;
  action: "continue" | "cancel" | "stop";
}

/** Idempotency keys are remembered this long. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/**
 * Flow-run use cases: create (idempotent by key), read, list, and every state change through the
 * orchestration rules.
 *
 * @example
 * ```ts
 * const runs = new FlowRunService(deps);
 * const { run } = await runs.create({ flowName: "etl", initialState: "PENDING" });
 * await runs.proposeState(run.id, { state: { type: "RUNNING" } });
 * ```
 */
export class FlowRunService {
  private readonly port: TransitionPort<FlowRunRecord>;
  private readonly codec: PayloadCodec;

  constructor(private readonly deps: ServiceDeps) {
    this.codec = new PayloadCodec(deps.payloads);
    const { store } = deps;
    this.port = {
      entity: "flow run",
      read: (id) => store.getFlowRun(id),
      write: (id, version, state, patch) => store.transitionFlowRun(id, version, state, patch),
      // Flow runs take no tag slots (task runs do, as in Prefect); deployment limits come with work pools.
      usages: async () => [],
      takeSlots: async () => true,
      releaseSlots: async () => {},
      countField: "runCount",
      count: (run) => run.runCount,
    };
  }

  async create(input: CreateFlowRunInput): Promise<{ run: FlowRunRecord; created: boolean }> {
    const { store } = this.deps;
    if (input.deploymentId !== undefined && !(await store.getDeploymentById(input.deploymentId))) {
      throw new ServiceError("VALIDATION", `deployment ${input.deploymentId} does not exist`, [
        { field: "body.deploymentId", message: `no deployment has id ${input.deploymentId}` },
      ]);
    }
    const now = this.deps.now();
    const id = input.id ?? this.deps.newId();
    const initial = input.initialState ?? "SCHEDULED";
    const run: FlowRunRecord = {
      id,
      flowName: input.flowName,
      name: input.name ?? `${input.flowName}-${id.slice(0, 8)}`,
      parameters: await this.codec.store(["runs", id, "parameters"], input.parameters ?? {}),
      tags: [...new Set(input.tags ?? [])],
      state: makeState(initial === "PENDING" ? "Pending" : "Scheduled", now),
      version: 0,
      createdAt: new Date(now).toISOString(),
      runCount: 0,
    };
    if (initial === "SCHEDULED") run.scheduledTime = input.scheduledTime ?? run.createdAt;
    for (const key of ["deploymentId", "parentRunId", "idempotencyKey", "entrypoint"] as const) {
      if (input[key] !== undefined) run[key] = input[key];
    }
    const outcome = await this.codec.writing(
      run.parameters,
      async () => {
        if (input.id !== undefined && !input.idempotencyKey) {
          // A client-chosen id is its own idempotency key: a resent create returns the stored run.
          const existing = await store.getFlowRun(input.id);
          if (existing) return { run: existing, created: false };
        }
        return store.createFlowRun(run, input.idempotencyKey ? { idempotencyKey: input.idempotencyKey, idempotencyTtlSeconds: IDEMPOTENCY_TTL_SECONDS } : {});
      },
      // A create that found the run (same id or idempotency key) keeps the stored run's parameters.
      (found) => found.run.parameters,
    );
    return { run: await this.present(outcome.run), created: outcome.created };
  }

  async get(id: string): Promise<FlowRunRecord> {
    return this.present((await this.deps.store.getFlowRun(id)) ?? notFound("flow run", id));
  }

  async list(filter: FlowRunFilter, page: PageRequest): Promise<Page<FlowRunRecord>> {
    const found = await this.deps.store.listFlowRuns(filter, page);
    return { ...found, items: await Promise.all(found.items.map((run) => this.present(run))) };
  }

  /** Decides and applies a proposed state; a missing run is 404. A large result is stored by reference. */
  async proposeState(id: string, proposal: Proposal): Promise<TransitionOutcome<FlowRunRecord>> {
    if (proposal.result !== undefined) proposal = { ...proposal, result: await this.codec.store(["runs", id, "result"], proposal.result) };
    // A refused proposal (a stale runner's COMPLETED, a duplicate) leaves the run's result as it was, and no payload behind.
    const outcome = await this.codec.writing(proposal.result, () => applyProposal(this.port, id, proposal, this.deps.now), (applied) => applied.run?.result);
    if (!outcome.run) notFound("flow run", id);
    this.reportFinished(outcome);
    return outcome;
  }

  /** Asks the run to stop: SCHEDULED runs are cancelled at once, running ones go to CANCELLING. */
  cancel(id: string, transitionId?: string): Promise<TransitionOutcome<FlowRunRecord>> {
    return this.proposeState(id, { state: { type: "CANCELLING", message: "cancelled by a user" }, controlPlane: true, ...(transitionId ? { transitionId } : {}) });
  }

  /**
   * Re-opens a FAILED, CRASHED or CANCELLED run (COMPLETED with `force`) as SCHEDULED / AwaitingRetry;
   * whoever runs it next resumes from its journal.
   */
  async retry(id: string, options: { force?: boolean; transitionId?: string } = {}): Promise<TransitionOutcome<FlowRunRecord>> {
    const run = await this.get(id);
    if (!isTerminal(run.state.type)) {
      throw new ServiceError(
        "CONFLICT",
        `flow run ${id} is ${run.state.type}; only a FAILED, CRASHED or CANCELLED run (or a COMPLETED one with force) can be retried`,
      );
    }
    return this.rescheduled(
      await this.proposeState(id, {
        state: { type: "SCHEDULED", name: "AwaitingRetry", message: "retried by a user" },
        retry: true,
        controlPlane: true,
        ...(options.force ? { force: true } : {}),
        ...(options.transitionId ? { transitionId: options.transitionId } : {}),
      }),
    );
  }

  /** Tells `onRunRescheduled` about a deployment run this proposal made SCHEDULED again (a retry, a resume). */
  private async rescheduled(outcome: TransitionOutcome<FlowRunRecord>): Promise<TransitionOutcome<FlowRunRecord>> {
    const { decision, run } = outcome;
    const written = decision.status === "ACCEPT" && decision.rule !== "duplicate-transition";
    if (written && run?.state.type === "SCHEDULED" && run.deploymentId !== undefined) await this.deps.onRunRescheduled?.(run);
    return outcome;
  }

  /**
   * Resumes a PAUSED run: a Suspended run (its process has exited) is re-scheduled as Resuming for a
   * runner to pick up; a Paused run (its process is waiting) goes back to RUNNING. A Step Functions
   * run waiting for approval has its task token completed with `{ approved: true, input }` (what
   * `waitForApproval` returns) and goes back to RUNNING.
   */
  async resume(id: string, transitionId?: string, input?: unknown): Promise<TransitionOutcome<FlowRunRecord>> {
    const run = await this.get(id);
    if (run.state.type !== "PAUSED") {
      throw new ServiceError("CONFLICT", `flow run ${id} is ${run.state.type}, not PAUSED; only a paused run can be resumed`);
    }
    if (run.approvalToken !== undefined) return this.approve(run, input, transitionId);
    const state = run.state.name === "Suspended" ? ({ type: "SCHEDULED", name: "Resuming" } as const) : ({ type: "RUNNING", name: "Running" } as const);
    return this.rescheduled(await this.proposeState(id, { state, controlPlane: true, ...(transitionId ? { transitionId } : {}) }));
  }

  /**
   * Suspends a run at an approval: PAUSED "Suspended" with the approval's token kept on the run until
   * `resume` completes it (the Step Functions task Lambda, with `executionArn`, and `waitForApproval`
   * in the local engine call this).
   */
  async awaitApproval(id: string, request: { taskToken: string; stateName?: string; timeoutSeconds?: number; executionArn?: string }): Promise<TransitionOutcome<FlowRunRecord>> {
    if (request.executionArn !== undefined && (await this.deps.store.getFlowRun(id))?.state.type === "PENDING") {
      // The execution runs, but its RUNNING status event has not been mirrored yet: record it now, under
      // the transition id the mirror uses, so that the event, when it comes, changes nothing.
      await this.proposeState(id, { state: { type: "RUNNING" }, controlPlane: true, transitionId: `sfn:${request.executionArn}:RUNNING` });
    }
    const waiting = request.stateName === undefined ? "waiting for approval" : `waiting for approval at ${request.stateName}`;
    const message = request.timeoutSeconds === undefined ? waiting : `${waiting} (times out after ${request.timeoutSeconds}s)`;
    const outcome = await this.proposeState(id, {
      state: { type: "PAUSED", name: "Suspended", message },
      approvalToken: request.taskToken,
      controlPlane: true,
      transitionId: `approval:${createHash("sha256").update(request.taskToken).digest("hex").slice(0, 32)}`,
    });
    if (outcome.decision.status !== "ACCEPT") {
      throw new ServiceError("CONFLICT", `flow run ${id} cannot wait for approval: ${outcome.decision.reason ?? `it is ${outcome.run?.state.type}`}`);
    }
    return outcome;
  }

  private async approve(run: FlowRunRecord, input: unknown, transitionId: string | undefined): Promise<TransitionOutcome<FlowRunRecord>> {
    const approval = { approved: true, input: input ?? null };
    if (run.approvalToken!.startsWith(ENGINE_APPROVAL_PREFIX)) {
      // The run's own process waits (polling): it finds the approval in the run's journal.
      const key = approvalJournalKey(run.approvalToken!);
      const value = await this.codec.store(["runs", run.id, "journal", key], approval);
      await this.codec.writing(value, () => this.deps.store.putJournalEntry({ runId: run.id, key, value, createdAt: new Date(this.deps.now()).toISOString() }), (put) => put.entry.value);
      return this.proposeState(run.id, { state: { type: "RUNNING", name: "Running", message: "approved" }, controlPlane: true, ...(transitionId ? { transitionId } : {}) });
    }
    const callbacks = this.deps.stepFunctionsCallbacks;
    if (!callbacks) throw new ServiceError("CONFLICT", `flow run ${run.id} waits for a Step Functions approval, and this control plane has no Step Functions client to complete it`);
    if (!(await callbacks.sendTaskSuccess(run.approvalToken!, approval))) {
      throw new ServiceError("CONFLICT", `the approval flow run ${run.id} waited for can no longer be completed: it timed out or its execution ended`);
    }
    return this.proposeState(run.id, { state: { type: "RUNNING", name: "Running", message: "approved" }, controlPlane: true, ...(transitionId ? { transitionId } : {}) });
  }

  /**
   * Records a runner's heartbeat (one conditional write, only while its token holds the run) and
   * tells the runner what to do: `continue`; `cancel` when the run is CANCELLING (abort the flow,
   * then propose CANCELLED); `stop` when its token no longer holds the run (it was crashed and
   * re-scheduled, claimed by another runner, or finished): exit without reporting anything.
   */
  async heartbeat(id: string, beat: { runnerToken: string; runner?: RunnerInfo }): Promise<HeartbeatAnswer> {
    const outcome = await this.deps.store.heartbeatFlowRun(id, beat.runnerToken, new Date(this.deps.now()).toISOString(), beat.runner);
    if (!outcome) notFound("flow run", id);
    const { run, recorded } = outcome;
    const action = !recorded ? "stop" : run.state.type === "CANCELLING" ? "cancel" : "continue";
    return { state: run.state, action };
  }

  /**
   * A runner's supervisor (a worker, or the local server's pool) saw the runner's process die with
   * the run in hand and reports why: the run is CRASHED at once with that reason (error
   * `RunnerLost`) instead of after three missed heartbeats, and re-scheduled by the same rules as a
   * crash the monitor finds (see {@link crashRun}): a run that died before it started — while its
   * code loaded — is handed out again up to 5 times, a started one while it has retries left. Only
   * the holder of the run's claim can report it (its `runnerToken`); a run claimed again, or moved on,
   * meanwhile is left alone (REJECT).
   */
  async reportCrash(id: string, report: { runnerToken: string; reason: string }): Promise<TransitionOutcome<FlowRunRecord>> {
    for (let attempt = 0; ; attempt++) {
      const run = await this.get(id);
      const { last, rescheduled } = await crashRun(this, run, {
        reason: report.reason,
        runnerToken: report.runnerToken,
        transitionId: `runner-lost:${id}:${createHash("sha256").update(report.runnerToken).digest("hex").slice(0, 16)}`,
      });
      // The run moved between the read and the crash (its runner's last report): judge it again.
      if (last.decision.rule === "run-changed" && attempt < 3) continue;
      if (rescheduled?.deploymentId !== undefined) await this.deps.onRunRescheduled?.(rescheduled);
      return last;
    }
  }

  history(id: string) {
    return this.deps.store.getStateHistory(id);
  }

  /** Tells `onFlowRunFinished` about a run this proposal wrote into a terminal state. */
  private reportFinished({ decision, run }: TransitionOutcome<FlowRunRecord>): void {
    const { onFlowRunFinished } = this.deps;
    if (onFlowRunFinished === undefined || run === undefined) return;
    // Only a write moves a run; a duplicate transition id is ACCEPTed without one.
    const written = (decision.status === "ACCEPT" || decision.status === "REJECT") && decision.write !== undefined;
    if (!written || !isTerminal(run.state.type)) return;
    try {
      onFlowRunFinished(run);
    } catch {
      // Reporting (metrics) must never undo or fail a transition that is already written.
    }
  }

  /** The run with its large values read back from the payload store. */
  private async present(run: FlowRunRecord): Promise<FlowRunRecord> {
    const [parameters, result] = await Promise.all([this.codec.resolve(run.parameters), this.codec.resolve(run.result)]);
    const presented = { ...run, parameters };
    if (result !== undefined) presented.result = result;
    return presented;
  }

}
