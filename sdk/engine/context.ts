import { AsyncLocalStorage } from "node:async_hooks";
import { join } from "node:path";
import { AloftError } from "../model/errors.js";
import type { FlowRun, TaskRunSummary } from "../model/runs.js";
import { FileCacheStore, type CacheStore } from "./cache.js";
import { systemClock, type Clock } from "./clock.js";
import type { AttemptJournal, Journal } from "./journal.js";
import type { Limiter } from "./limiter.js";
import { consoleLogRecorder, type Recorder } from "./recorder.js";

/**
 * The services an engine run uses. Each can be replaced per run (run options) or for the process
 * (`configure`).
 *
 * @example
 * ```ts
 * configure({ clock: new FakeClock(), cache: new MemoryCacheStore() });
 * ```
 */
export interface EngineServices {
  clock: Clock;
  recorder: Recorder;
  cache: CacheStore;
  /** The journal of top-level runs that name none (set when connected to a control plane). */
  journal?: Journal;
  /**
   * Always receives every report, whatever recorder a run names (even with `replaceRecorder`): the
   * control-plane link when one is connected.
   */
  telemetry?: Recorder;
}

/** What the engine knows about the flow run in progress (shared by its tasks and subflows). */
export interface FlowScope {
  run: FlowRun;
  services: EngineServices;
  /** Aborts when the current attempt ends, the run is cancelled, or it times out. */
  signal: AbortSignal;
  attempt: number;
  /** This run's and its ancestors' `taskConcurrency` limiters. */
  limiters: readonly Limiter[];
  /** Tag limits, shared by the whole run tree. */
  tagLimiters: ReadonlyMap<string, Limiter>;
  journal: AttemptJournal | undefined;
  /** Task name → how many task runs of it this flow run has made (for default run names). */
  nameCounters: Map<string, number>;
  parent: FlowScope | undefined;
}

/** What the engine knows about the task attempt in progress. */
export interface TaskScope {
  taskRun: TaskRunSummary;
  signal: AbortSignal;
  attempt: number;
}

/** The async-local context: the flow run and task run (if any) that code is running in. */
export interface RunScope {
  flow: FlowScope | undefined;
  task: TaskScope | undefined;
}

// One storage per process even if two copies of the SDK are loaded (say, the CLI's and a flow
// file's): a task called from either must find the same flow run.
const slots = globalThis as typeof globalThis & {
  [key: symbol]: unknown;
};
const STORAGE_KEY = Symbol.for("aloft.runScope");
const DEFAULTS_KEY = Symbol.for("aloft.engineDefaults");

/** @internal */
export const runScopes: AsyncLocalStorage<RunScope> = (slots[STORAGE_KEY] ??= new AsyncLocalStorage<RunScope>()) as AsyncLocalStorage<RunScope>;

/**
 * The directory Aloft keeps local state in: `ALOFT_DATA_DIR`, else `.aloft` in the working directory.
 * An `ALOFT_DATA_DIR` that is set but empty (`ALOFT_DATA_DIR=$UNSET`) is refused with an
 * `INVALID_OPTIONS` error rather than guessed at: it names no directory.
 *
 * @example
 * ```ts
 * dataDir(); // "/home/me/project/.aloft"
 * ```
 */
export function dataDir(): string {
  const configured = process.env.ALOFT_DATA_DIR;
  if (configured === undefined) return join(process.cwd(), ".aloft");
  if (configured.trim() === "") throw new AloftError("INVALID_OPTIONS", EMPTY_DATA_DIR);
  return configured;
}

/** Why an empty `ALOFT_DATA_DIR` is refused. */
const EMPTY_DATA_DIR = "ALOFT_DATA_DIR is set but empty: set it to a directory, or unset it to use .aloft in the working directory";

/**
 * The services used when a run names none: the system clock, log lines on stderr, and the file cache
 * under `.aloft/cache`.
 *
 * @example
 * ```ts
 * const { clock } = engineDefaults();
 * ```
 */
export function engineDefaults(): EngineServices {
  let defaults = slots[DEFAULTS_KEY] as EngineServices | undefined;
  if (!defaults) {
    defaults = {
      clock: systemClock,
      recorder: consoleLogRecorder(),
      cache: new FileCacheStore(join(dataDir(), "cache")),
    };
    slots[DEFAULTS_KEY] = defaults;
  }
  return defaults;
}

/**
 * Replaces the process-wide default services (for runs and standalone task calls that name none).
 * Returns a function that restores the previous defaults.
 *
 * @example
 * ```ts
 * const restore = configure({ recorder: myRecorder });
 * try { await add(1, 2); } finally { restore(); }
 * ```
 */
export function configure(services: Partial<EngineServices>): () => void {
  const previous = engineDefaults();
  slots[DEFAULTS_KEY] = { ...previous, ...services };
  return () => {
    slots[DEFAULTS_KEY] = previous;
  };
}
