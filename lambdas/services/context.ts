import { randomUUID } from "node:crypto";
import type { Store } from "../store/store.js";
import type { PayloadStore } from "./payloads.js";

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
  /** Where values over 64 KB go (S3 on AWS, a folder locally); without one, they stay inline. */
  payloads?: PayloadStore;
}

/**
 * Service dependencies with the real clock and random UUIDs.
 *
 * @example
 * ```ts
 * const services = createServices(serviceDeps(store));
 * ```
 */
export function serviceDeps(store: Store, payloads?: PayloadStore): ServiceDeps {
  return { store, now: () => Date.now(), newId: () => randomUUID(), ...(payloads ? { payloads } : {}) };
}
