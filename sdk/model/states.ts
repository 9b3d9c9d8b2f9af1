/**
 * Run states, compatible with Prefect's: every state has a `type` (what the orchestrator acts on)
 * and a `name` that refines it (what a person reads).
 */

/** The state types, in the order a run normally moves through them. */
export const STATE_TYPES = [
  "SCHEDULED",
  "PENDING",
  "RUNNING",
  "PAUSED",
  "CANCELLING",
  "COMPLETED",
  "FAILED",
  "CANCELLED",
  "CRASHED",
] as const;

/**
 * One of the nine state types.
 *
 * @example
 * ```ts
 * const done: StateType = "COMPLETED";
 * ```
 */
export type StateType = (typeof STATE_TYPES)[number];

/** The state names Aloft uses, each with the type it belongs to. */
export const STATE_NAME_TYPES = {
  Scheduled: "SCHEDULED",
  Late: "SCHEDULED",
  AwaitingRetry: "SCHEDULED",
  AwaitingConcurrencySlot: "SCHEDULED",
  Resuming: "SCHEDULED",
  Pending: "PENDING",
  Running: "RUNNING",
  Retrying: "RUNNING",
  Paused: "PAUSED",
  Suspended: "PAUSED",
  Cancelling: "CANCELLING",
  Cancelled: "CANCELLED",
  Completed: "COMPLETED",
  Cached: "COMPLETED",
  RolledBack: "COMPLETED",
  Failed: "FAILED",
  TimedOut: "FAILED",
  InvalidParameters: "FAILED",
  NotReady: "PENDING",
  Crashed: "CRASHED",
} as const satisfies Record<string, StateType>;

/**
 * A state name known to Aloft.
 *
 * @example
 * ```ts
 * const name: StateName = "AwaitingRetry";
 * ```
 */
export type StateName = keyof typeof STATE_NAME_TYPES;

/**
 * A run's state at one moment.
 *
 * @example
 * ```ts
 * const state: State = { type: "FAILED", name: "TimedOut", message: "exceeded 30s", timestamp: new Date().toISOString() };
 * ```
 */
export interface State {
  type: StateType;
  name: string;
  message?: string;
  /** ISO 8601, UTC. */
  timestamp: string;
}

const TERMINAL: ReadonlySet<StateType> = new Set(["COMPLETED", "FAILED", "CANCELLED", "CRASHED"]);

/**
 * Whether a run in this state has finished for good (unless explicitly retried).
 *
 * @example
 * ```ts
 * isTerminal("FAILED"); // true
 * isTerminal("RUNNING"); // false
 * ```
 */
export function isTerminal(type: StateType): boolean {
  return TERMINAL.has(type);
}

/**
 * Makes a state by name; its type comes from the name.
 *
 * @example
 * ```ts
 * makeState("Cached", Date.now()); // { type: "COMPLETED", name: "Cached", timestamp: "…" }
 * ```
 */
export function makeState(name: StateName, at: number, message?: string): State {
  const state: State = { type: STATE_NAME_TYPES[name], name, timestamp: new Date(at).toISOString() };
  if (message !== undefined) state.message = message;
  return state;
}
