import { hashValue } from "./hash.js";

/**
 * A recorded result of a completed call (a task call or a subflow call) in a flow run.
 *
 * @example
 * ```ts
 * const record: JournalRecord = { key: "add:3f…:0", value: 3 };
 * ```
 */
export interface JournalRecord {
  key: string;
  value: unknown;
}

/**
 * The durable record of which calls of a flow run completed, and with what result. A retried or
 * resumed run replays completed calls from it instead of executing them again. `put` must not
 * resolve until the record is durable: the engine returns a task's result to the flow only after.
 *
 * @example
 * ```ts
 * const journal: Journal = new MemoryJournal();
 * await journal.put(runId, { key, value });
 * (await journal.load(runId)).get(key);
 * ```
 */
export interface Journal {
  load(runId: string): Promise<Map<string, unknown>>;
  put(runId: string, record: JournalRecord): Promise<void>;
}

/**
 * A journal kept in memory: flow retries within one process resume from it.
 *
 * @example
 * ```ts
 * await myFlow.run(params, { journal: new MemoryJournal() });
 * ```
 */
export class MemoryJournal implements Journal {
  private readonly runs = new Map<string, Map<string, unknown>>();
  async load(runId: string): Promise<Map<string, unknown>> {
    return new Map(this.runs.get(runId));
  }
  async put(runId: string, record: JournalRecord): Promise<void> {
    let entries = this.runs.get(runId);
    if (!entries) this.runs.set(runId, (entries = new Map()));
    entries.set(record.key, record.value);
  }
}

/**
 * One attempt's view of a run's journal. A call's key is its kind and name, a stable hash of its
 * arguments, and how many times the same (name, arguments) pair was called before it in this attempt
 * — so the n-th identical call replays the n-th recorded result.
 *
 * @example
 * ```ts
 * const view = new AttemptJournal(journal, runId, await journal.load(runId));
 * const key = view.keyFor("task", "add", [1, 2]); // "task:add:…:0"
 * ```
 */
export class AttemptJournal {
  private readonly occurrences = new Map<string, number>();

  constructor(
    private readonly journal: Journal,
    private readonly runId: string,
    private readonly completed: Map<string, unknown>,
  ) {}

  keyFor(kind: "task" | "flow", name: string, args: unknown): string {
    const base = `${kind}:${name}:${hashValue(args)}`;
    const seen = this.occurrences.get(base) ?? 0;
    this.occurrences.set(base, seen + 1);
    return `${base}:${seen}`;
  }

  lookup(key: string): { hit: true; value: unknown } | { hit: false } {
    return this.completed.has(key) ? { hit: true, value: this.completed.get(key) } : { hit: false };
  }

  async record(key: string, value: unknown): Promise<void> {
    await this.journal.put(this.runId, { key, value });
    this.completed.set(key, value);
  }
}
