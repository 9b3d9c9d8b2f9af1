import type { AnyFlow } from "./flow.js";
import type { AnyTask } from "./task.js";

const KEY = Symbol.for("aloft.registry");
interface Registry {
  tasks: Map<string, AnyTask[]>;
  flows: Map<string, AnyFlow[]>;
}
const slots = globalThis as typeof globalThis & { [key: symbol]: unknown };
const registry = (slots[KEY] ??= { tasks: new Map(), flows: new Map() }) as Registry;

/** @internal */
export function registerTask(task: AnyTask): void {
  const list = registry.tasks.get(task.name) ?? [];
  list.push(task);
  registry.tasks.set(task.name, list);
}

/** @internal */
export function registerFlow(flow: AnyFlow): void {
  const list = registry.flows.get(flow.name) ?? [];
  list.push(flow);
  registry.flows.set(flow.name, list);
}

/**
 * Every task defined in this process so far (the compiler, the task Lambda and the CLI read them).
 *
 * @example
 * ```ts
 * await import("./flows/etl.ts");
 * registeredTasks().map((t) => t.name); // ["extract", "transform", "load"]
 * ```
 */
export function registeredTasks(): AnyTask[] {
  return [...registry.tasks.values()].flat();
}

/**
 * Every flow defined in this process so far.
 *
 * @example
 * ```ts
 * registeredFlows().map((f) => f.name); // ["etl"]
 * ```
 */
export function registeredFlows(): AnyFlow[] {
  return [...registry.flows.values()].flat();
}

/**
 * The task with this name; throws if none or more than one is defined under it.
 *
 * @example
 * ```ts
 * const extract = findTask("extract");
 * ```
 */
export function findTask(name: string): AnyTask {
  return findOne(registry.tasks, name, "task");
}

/**
 * The flow with this name; throws if none or more than one is defined under it.
 *
 * @example
 * ```ts
 * const run = await findFlow("etl").run({ day: "2026-11-01" });
 * ```
 */
export function findFlow(name: string): AnyFlow {
  return findOne(registry.flows, name, "flow");
}

function findOne<T>(map: Map<string, T[]>, name: string, kind: string): T {
  const found = map.get(name) ?? [];
  if (found.length === 1) return found[0]!;
  if (found.length === 0) throw new Error(`no ${kind} named "${name}" is defined; defined: ${[...map.keys()].join(", ") || "none"}`);
  throw new Error(`${found.length} ${kind}s are named "${name}"; give each a unique name`);
}
