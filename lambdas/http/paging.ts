import * as z from "zod";
import type { PageRequest } from "../store/store.js";

/**
 * The query of every paged listing: `limit` (1–1000, default 50) and the `cursor` of the previous
 * page. A page may hold fewer than `limit` items, even none, and still carry a cursor (each page
 * costs a bounded number of store calls: docs/data-model.md, "Listing cost").
 *
 * @example
 * ```ts
 * const ListQuery = PageQuery.extend({ flow: z.string().optional() }).strict();
 * ```
 */
export const PageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1_000).default(50),
    cursor: z.string().max(4_096).optional(),
  })
  .strict();

/**
 * The store's page request for a validated page query, stopped by `signal` when the client goes away.
 *
 * @example
 * ```ts
 * const page = await deployments.list(pageRequest(query, signal));
 * ```
 */
export function pageRequest(query: { limit: number; cursor?: string | undefined }, signal: AbortSignal): PageRequest {
  return { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}), signal };
}
