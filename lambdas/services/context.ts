import { randomUUID } from "node:crypto";
import type { DeploymentRecord, FlowRunRecord } from "../store/records.js";
import type { Store } from "../store/store.js";
import type { PayloadStore } from "./payloads.js";
import type { StepFunctionsCallbacks } from "./ports.js";

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
  /**
   * Called once for each transition that moves a flow run into a terminal state (COMPLETED, FAILED,
   * CRASHED, CANCELLED), after it is written; not for proposals that write nothing (refused, told
   * to wait, or a duplicate transition id). The Lambda
   * functions publish metrics from it; an error it throws is swallowed, as the transition stands.
   */
  onFlowRunFinished?: (run: FlowRunRecord) => void;
  /** Completes the approvals Step Functions runs wait for (resume); without it such a resume is refused. */
  stepFunctionsCallbacks?: StepFunctionsCallbacks;
  /**
   * Called after a deployment run is created (not for a repeated create that returned an existing
   * run): the local server sends it to its pool's queue, held back until it is due.
   */
  onDeploymentRunCreated?: (run: FlowRunRecord, deployment: DeploymentRecord) => Promise<void>;
  /** Called after a user's retry or resume made a deployment run SCHEDULED again: the local server queues it. */
  onRunRescheduled?: (run: FlowRunRecord) => Promise<void>;
}

/**
 * Service dependencies with the real clock and random UUIDs.
 *
 * @example
 * ```ts
 * const services = createServices(serviceDeps(store));
 * ```
 */
export function serviceDeps(store: Store, payloads?: PayloadStore, hooks: Pick<ServiceDeps, "onFlowRunFinished" | "stepFunctionsCallbacks" | "onDeploymentRunCreated" | "onRunRescheduled"> = {}): ServiceDeps {
  return { store, now: () => Date.now(), newId: () => randomUUID(), ...(payloads ? { payloads } : {}), ...hooks };
}
