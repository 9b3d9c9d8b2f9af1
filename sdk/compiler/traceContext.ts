import { AsyncLocalStorage } from "node:async_hooks";
import type { Duration } from "../model/duration.js";

/**
 * What the definitions (`task()`, `flow()`, `when()`, `sleep()`, `waitForApproval()`) call instead of
 * running when the compiler traces a flow: each call records a state.
 * @internal
 */
export interface TraceHooks {
  callTask(task: object, args: unknown[]): PromiseLike<unknown>;
  mapTask(task: object, items: unknown, options: { concurrency?: number; mode?: "inline" | "distributed" } | undefined): PromiseLike<unknown[]>;
  callFlow(flow: object, params: unknown): PromiseLike<unknown>;
  when(condition: unknown, then: () => unknown, otherwise: (() => unknown) | undefined): Promise<unknown>;
  sleep(duration: unknown): Promise<void>;
  waitForApproval(options: { timeout?: Duration } | undefined): PromiseLike<unknown>;
  /** Throws the CompileError for a construct Step Functions cannot run. */
  refuse(what: string, fix: string): never;
}

// One storage per process even if two copies of the SDK are loaded (the CLI's and a flow file's).
const slots = globalThis as typeof globalThis & { [key: symbol]: unknown };
const STORAGE_KEY = Symbol.for("aloft.compilerTrace");

/** @internal */
export const traceScopes: AsyncLocalStorage<TraceHooks> = (slots[STORAGE_KEY] ??= new AsyncLocalStorage<TraceHooks>()) as AsyncLocalStorage<TraceHooks>;

/**
 * The trace in progress around the caller, if the compiler is tracing a flow.
 *
 * @example
 * ```ts
 * const trace = activeTrace();
 * if (trace) return trace.callTask(handle, args);
 * ```
 */
export function activeTrace(): TraceHooks | undefined {
  return traceScopes.getStore();
}
