import type { ArtifactRecord, JournalEntryRecord, LogRecord, Page } from "../store/records.js";
import type { PageRequest } from "../store/store.js";
import type { ServiceDeps } from "./context.js";
import { notFound, ServiceError } from "./errors.js";
import { PayloadCodec } from "./payloads.js";

/** Log lines are kept this long (the TTL attribute; swept locally). */
export const LOG_TTL_SECONDS = 30 * 24 * 3600;

/**
 * Logs, artifacts and the journal of flow runs.
 *
 * @example
 * ```ts
 * const telemetry = new TelemetryService(deps);
 * await telemetry.putLogs([{ flowRunId, timestamp, level: "info", message: "hi" }]);
 * ```
 */
export class TelemetryService {
  private readonly codec: PayloadCodec;

  constructor(private readonly deps: ServiceDeps) {
    this.codec = new PayloadCodec(deps.payloads);
  }

  /**
   * Stores a batch of log lines, all or nothing: a batch with lines of a flow run that does not exist
   * is refused whole (NOT_FOUND, 404) naming each unknown run and the first line of it, and stores
   * nothing (lines of a run nobody can read would only wait for their TTL). One read per distinct run.
   */
  async putLogs(logs: LogRecord[]): Promise<{ accepted: number }> {
    const firstLineOf = new Map<string, number>();
    logs.forEach((log, index) => {
      if (!firstLineOf.has(log.flowRunId)) firstLineOf.set(log.flowRunId, index);
    });
    const runIds = [...firstLineOf.keys()];
    const unknown: string[] = [];
    const checksAtOnce = 25;
    for (let start = 0; start < runIds.length; start += checksAtOnce) {
      const ids = runIds.slice(start, start + checksAtOnce);
      const runs = await Promise.all(ids.map((id) => this.deps.store.getFlowRun(id)));
      for (const [index, id] of ids.entries()) if (runs[index] === undefined) unknown.push(id);
    }
    if (unknown.length > 0) {
      const fields = unknown.map((id) => ({ field: `body.logs[${firstLineOf.get(id)}].flowRunId`, message: `flow run ${id} does not exist` }));
      const named = unknown.length > 5 ? `${unknown.slice(0, 5).join(", ")} and ${unknown.length - 5} more` : unknown.join(", ");
      const detail = unknown.length === 1 ? `flow run ${named} does not exist` : `flow runs ${named} do not exist`;
      throw new ServiceError("NOT_FOUND", `${detail}; no line of the batch was stored`, fields);
    }
    await this.deps.store.putLogs(logs, LOG_TTL_SECONDS);
    return { accepted: logs.length };
  }

  async listLogs(flowRunId: string, page: PageRequest): Promise<Page<LogRecord>> {
    await this.requireRun(flowRunId);
    return this.deps.store.listLogs(flowRunId, page);
  }

  async createArtifact(input: Omit<ArtifactRecord, "id" | "createdAt">): Promise<ArtifactRecord> {
    await this.requireRun(input.flowRunId);
    const artifact: ArtifactRecord = { ...input, id: this.deps.newId(), createdAt: new Date(this.deps.now()).toISOString() };
    const data = await this.codec.store(["runs", input.flowRunId, "artifacts", artifact.id], input.data);
    await this.codec.writing(data, () => this.deps.store.putArtifact({ ...artifact, data }), () => data);
    return artifact;
  }

  async listArtifacts(flowRunId: string, page: PageRequest): Promise<Page<ArtifactRecord>> {
    await this.requireRun(flowRunId);
    const found = await this.deps.store.listArtifacts(flowRunId, page);
    return { ...found, items: await Promise.all(found.items.map(async (artifact) => ({ ...artifact, data: await this.codec.resolve(artifact.data) }))) };
  }

  /** Records a completed call; the first write of a key wins and is what every later read sees. */
  async putJournalEntry(runId: string, key: string, value: unknown): Promise<{ entry: JournalEntryRecord; created: boolean }> {
    await this.requireRun(runId);
    const stored = await this.codec.store(["runs", runId, "journal", key], value);
    const candidate: JournalEntryRecord = { runId, key, value: stored, createdAt: new Date(this.deps.now()).toISOString() };
    // The first write of a key wins: a later one (another value) is refused, and its payload deleted.
    const { entry, created } = await this.codec.writing(stored, () => this.deps.store.putJournalEntry(candidate), (put) => put.entry.value);
    return { entry: { ...entry, value: await this.codec.resolve(entry.value) }, created };
  }

  async listJournal(runId: string, page: PageRequest): Promise<Page<JournalEntryRecord>> {
    await this.requireRun(runId);
    const found = await this.deps.store.listJournal(runId, page);
    return { ...found, items: await Promise.all(found.items.map(async (entry) => ({ ...entry, value: await this.codec.resolve(entry.value) }))) };
  }

  private async requireRun(id: string): Promise<void> {
    if (!(await this.deps.store.getFlowRun(id))) notFound("flow run", id);
  }
}
