import type { ArtifactRecord, JournalEntryRecord, LogRecord, Page } from "../store/records.js";
import type { ServiceDeps } from "./context.js";
import { notFound } from "./errors.js";

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
  constructor(private readonly deps: ServiceDeps) {}

  async putLogs(logs: LogRecord[]): Promise<{ accepted: number }> {
    await this.deps.store.putLogs(logs, LOG_TTL_SECONDS);
    return { accepted: logs.length };
  }

  async listLogs(flowRunId: string, page: { limit: number; cursor?: string }): Promise<Page<LogRecord>> {
    await this.requireRun(flowRunId);
    return this.deps.store.listLogs(flowRunId, page);
  }

  async createArtifact(input: Omit<ArtifactRecord, "id" | "createdAt">): Promise<ArtifactRecord> {
    await this.requireRun(input.flowRunId);
    const artifact: ArtifactRecord = { ...input, id: this.deps.newId(), createdAt: new Date(this.deps.now()).toISOString() };
    await this.deps.store.putArtifact(artifact);
    return artifact;
  }

  async listArtifacts(flowRunId: string): Promise<ArtifactRecord[]> {
    await this.requireRun(flowRunId);
    return this.deps.store.listArtifacts(flowRunId);
  }

  /** Records a completed call; the first write of a key wins and is what every later read sees. */
  async putJournalEntry(runId: string, key: string, value: unknown): Promise<{ entry: JournalEntryRecord; created: boolean }> {
    await this.requireRun(runId);
    const candidate: JournalEntryRecord = { runId, key, value, createdAt: new Date(this.deps.now()).toISOString() };
    return this.deps.store.putJournalEntry(candidate);
  }

  async listJournal(runId: string): Promise<JournalEntryRecord[]> {
    await this.requireRun(runId);
    return this.deps.store.listJournal(runId);
  }

  private async requireRun(id: string): Promise<void> {
    if (!(await this.deps.store.getFlowRun(id))) notFound("flow run", id);
  }
}
