import type { ArtifactRecord, JournalEntryRecord, LogRecord, Page } from "../store/records.js";
import type { PageRequest } from "../store/store.js";
import type { ServiceDeps } from "./context.js";
import { notFound } from "./errors.js";
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

  async putLogs(logs: LogRecord[]): Promise<{ accepted: number }> {
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
