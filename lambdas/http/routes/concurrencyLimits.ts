import type { Hono } from "hono";
import * as z from "zod";
import {
  AcquireLeaseRequestSchema,
  ConcurrencyLimitSchema,
  LeaseSchema,
  RenewLeaseRequestSchema,
  SetConcurrencyLimitRequestSchema,
  pageOf,
} from "../../../sdk/api/schemas.js";
import type { Services } from "../../services/index.js";
import { concurrencyLimitDto } from "../dto.js";
import { PageQuery, pageRequest } from "../paging.js";
import { json, route, type RouteRegistry } from "../routeSpec.js";

/**
 * Concurrency-limit routes and their leases.
 *
 * @example
 * ```ts
 * concurrencyLimitRoutes(app, registry, services, Date.now);
 * ```
 */
export function concurrencyLimitRoutes(app: Hono, registry: RouteRegistry, services: Services, now: () => number): void {
  const { concurrencyLimits } = services;
  const tag = "concurrency limits";

  route(app, registry, { method: "post", path: "/v1/concurrency-limits", summary: "Create or change a limit", tag, body: SetConcurrencyLimitRequestSchema, responses: { 200: ConcurrencyLimitSchema } }, async ({ body }) =>
    json(200, concurrencyLimitDto(await concurrencyLimits.set(body.tag, body.limit), now())),
  );

  route(app, registry, { method: "get", path: "/v1/concurrency-limits", summary: "List limits by tag", tag, query: PageQuery, responses: { 200: pageOf(ConcurrencyLimitSchema) } }, async ({ query, signal }) => {
    const page = await concurrencyLimits.list(pageRequest(query, signal));
    return json(200, { items: page.items.map((limit) => concurrencyLimitDto(limit, now())), ...(page.cursor ? { cursor: page.cursor } : {}) });
  });

  route(app, registry, { method: "get", path: "/v1/concurrency-limits/:tag", summary: "Get a limit", tag, responses: { 200: ConcurrencyLimitSchema } }, async ({ params }) =>
    json(200, concurrencyLimitDto(await concurrencyLimits.get(params.tag!), now())),
  );

  route(app, registry, { method: "put", path: "/v1/concurrency-limits/:tag", summary: "Set a limit", tag, body: z.object({ limit: SetConcurrencyLimitRequestSchema.shape.limit }).strict(), responses: { 200: ConcurrencyLimitSchema } }, async ({ params, body }) =>
    json(200, concurrencyLimitDto(await concurrencyLimits.set(params.tag!, body.limit), now())),
  );

  route(app, registry, { method: "delete", path: "/v1/concurrency-limits/:tag", summary: "Delete a limit", tag, responses: { 204: undefined } }, async ({ params }) => {
    await concurrencyLimits.remove(params.tag!);
    return new Response(null, { status: 204 });
  });

  route(app, registry, { method: "post", path: "/v1/concurrency-limits/:tag/leases", summary: "Acquire a slot (423 when full)", tag, body: AcquireLeaseRequestSchema, responses: { 201: LeaseSchema } }, async ({ params, body }) =>
    json(201, await concurrencyLimits.acquire(params.tag!, body)),
  );

  route(app, registry, { method: "post", path: "/v1/concurrency-limits/:tag/leases/:leaseId/renew", summary: "Renew a lease", tag, body: RenewLeaseRequestSchema, responses: { 200: LeaseSchema } }, async ({ params, body }) =>
    json(200, await concurrencyLimits.renew(params.tag!, params.leaseId!, body.ttlSeconds)),
  );

  route(app, registry, { method: "delete", path: "/v1/concurrency-limits/:tag/leases/:leaseId", summary: "Release a lease", tag, responses: { 204: undefined } }, async ({ params }) => {
    await concurrencyLimits.release(params.tag!, params.leaseId!);
    return new Response(null, { status: 204 });
  });
}
