import type { ConcurrencyLimitRecord, Page } from "../store/records.js";
import type { PageRequest } from "../store/store.js";
import type { ServiceDeps } from "./context.js";
import { notFound, ServiceError } from "./errors.js";

/** Leases last this long unless the holder asks otherwise (as Prefect). */
export const DEFAULT_LEASE_SECONDS = 300;

/**
 * Global concurrency limits by tag, and the leases that hold their slots.
 *
 * @example
 * ```ts
 * const limits = new ConcurrencyLimitService(deps);
 * await limits.set("warehouse", 2);
 * const lease = await limits.acquire("warehouse", {});
 * await limits.release("warehouse", lease.leaseId);
 * ```
 */
export class ConcurrencyLimitService {
  constructor(private readonly deps: ServiceDeps) {}

  set(tag: string, limit: number): Promise<ConcurrencyLimitRecord> {
    return this.deps.store.putConcurrencyLimit(tag, limit);
  }

  async get(tag: string): Promise<ConcurrencyLimitRecord> {
    return (await this.deps.store.getConcurrencyLimit(tag)) ?? notFound("concurrency limit", tag);
  }

  list(page: PageRequest): Promise<Page<ConcurrencyLimitRecord>> {
    return this.deps.store.listConcurrencyLimits(page);
  }

  async remove(tag: string): Promise<void> {
    if (!(await this.deps.store.deleteConcurrencyLimit(tag))) notFound("concurrency limit", tag);
  }

  /** Takes a slot; `LIMIT_FULL` (423, with a retry hint) when none is free. */
  async acquire(tag: string, options: { leaseId?: string; ttlSeconds?: number }): Promise<{ tag: string; leaseId: string; expiresAt: string }> {
    const now = this.deps.now();
    const leaseId = options.leaseId ?? this.deps.newId();
    const expiresAt = new Date(now + (options.ttlSeconds ?? DEFAULT_LEASE_SECONDS) * 1000).toISOString();
    const acquired = await this.deps.store.acquireLease(tag, leaseId, expiresAt, new Date(now).toISOString());
    if (acquired === undefined) notFound("concurrency limit", tag);
    if (!acquired) {
      const limit = await this.deps.store.getConcurrencyLimit(tag);
      const next = Object.values(limit?.leases ?? {})
        .map((at) => Date.parse(at))
        .filter((at) => at > now)
        .sort((a, b) => a - b)[0];
      const retryAfter = Math.max(1, Math.ceil(((next ?? now + 1000) - now) / 1000));
      const message = limit?.limit === 0 ? `concurrency limit "${tag}" is 0: no slot will ever be free` : `concurrency limit "${tag}" is full (${limit?.limit ?? "?"} slots in use)`;
      throw new ServiceError("LIMIT_FULL", message, [], limit?.limit === 0 ? undefined : Math.min(retryAfter, DEFAULT_LEASE_SECONDS));
    }
    return { tag, leaseId, expiresAt };
  }

  async renew(tag: string, leaseId: string, ttlSeconds = DEFAULT_LEASE_SECONDS): Promise<{ tag: string; leaseId: string; expiresAt: string }> {
    const expiresAt = new Date(this.deps.now() + ttlSeconds * 1000).toISOString();
    if (!(await this.deps.store.renewLease(tag, leaseId, expiresAt))) notFound("lease", `${leaseId} on "${tag}"`);
    return { tag, leaseId, expiresAt };
  }

  async release(tag: string, leaseId: string): Promise<void> {
    await this.deps.store.releaseLease(tag, leaseId);
  }
}
