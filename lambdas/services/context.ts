import { randomUUID } from "node:crypto";
import type { Store } from "../store/store.js";

/**
 * What every service needs: the store, the time, and new ids. Tests pass a fixed clock.
 *
 * @example
 * ```ts
 * const deps: ServiceDeps = { store, now: () => Date.now(), newId: () => randomUUID() };
 * ```
 */
export interface ServiceDeps {
  store: Store;
  now: () => number;
  newId: () => string;
}

/**
 * Service dependencies with the real clock and random UUIDs.
 *
 * @example
 * ```ts
 * const services = createServices(serviceDeps(store));
 * ```
 */
export function serviceDeps(store: Store): ServiceDeps {
  return { store, now: () => Date.now(), newId: () => randomUUID() };
}

/** ISO 8601 of a service clock reading. */
export function isoAt(deps: ServiceDeps): string {
  return new Date(deps.now()).toISOString();
}
