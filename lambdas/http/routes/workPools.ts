import type { Hono } from "hono";
import { CreateWorkPoolRequestSchema, UpdateWorkPoolRequestSchema, UpsertWorkPoolQueueRequestSchema, WorkPoolSchema, pageOf } from "../../../sdk/api/schemas.js";
import type { Services } from "../../services/index.js";
import { workPoolDto } from "../dto.js";
import { PageQuery, pageRequest } from "../paging.js";
import { json, route, type RouteRegistry } from "../routeSpec.js";

/**
 * Work-pool routes: pools by name, their default job settings, pausing, and their queues
 * (`/v1/work-pools/{name}/queues/{queue}`).
 *
 * @example
 * ```ts
 * workPoolRoutes(app, registry, services);
 * ```
 */
export function workPoolRoutes(app: Hono, registry: RouteRegistry, services: Services): void {
  const { workPools } = services;
  const tag = "work pools";

  route(app, registry, { method: "post", path: "/v1/work-pools", summary: "Create a work pool", tag, body: CreateWorkPoolRequestSchema, responses: { 201: WorkPoolSchema } }, async ({ body }) => {
    const pool = await workPools.create(body);
    return json(201, workPoolDto(pool), { location: `/v1/work-pools/${encodeURIComponent(pool.name)}` });
  });

  route(app, registry, { method: "get", path: "/v1/work-pools", summary: "List work pools by name", tag, query: PageQuery, responses: { 200: pageOf(WorkPoolSchema) } }, async ({ query, signal }) => {
    const page = await workPools.list(pageRequest(query, signal));
    return json(200, { items: page.items.map(workPoolDto), ...(page.cursor ? { cursor: page.cursor } : {}) });
  });

  route(app, registry, { method: "get", path: "/v1/work-pools/:name", summary: "Get a work pool", tag, responses: { 200: WorkPoolSchema } }, async ({ params }) =>
    json(200, workPoolDto(await workPools.get(params.name!))),
  );

  route(app, registry, { method: "patch", path: "/v1/work-pools/:name", summary: "Change a work pool's description and default job settings", tag, body: UpdateWorkPoolRequestSchema, responses: { 200: WorkPoolSchema } }, async ({ params, body }) =>
    json(200, workPoolDto(await workPools.update(params.name!, body))),
  );

  for (const [action, paused] of [["pause", true], ["resume", false]] as const) {
    route(app, registry, { method: "post", path: `/v1/work-pools/:name/${action}`, summary: `${paused ? "Pause" : "Resume"} a work pool`, tag, responses: { 200: WorkPoolSchema } }, async ({ params }) =>
      json(200, workPoolDto(await workPools.setPaused(params.name!, paused))),
    );
    route(app, registry, { method: "post", path: `/v1/work-pools/:name/queues/:queue/${action}`, summary: `${paused ? "Pause" : "Resume"} one queue of a work pool`, tag, responses: { 200: WorkPoolSchema } }, async ({ params }) =>
      json(200, workPoolDto(await workPools.setPaused(params.name!, paused, params.queue!))),
    );
  }

  route(app, registry, { method: "put", path: "/v1/work-pools/:name/queues/:queue", summary: "Add a queue to a work pool, or change one", tag, body: UpsertWorkPoolQueueRequestSchema, responses: { 200: WorkPoolSchema } }, async ({ params, body }) =>
    json(200, workPoolDto(await workPools.upsertQueue(params.name!, params.queue!, body))),
  );

  route(app, registry, { method: "delete", path: "/v1/work-pools/:name/queues/:queue", summary: "Remove a queue from a work pool", tag, responses: { 204: undefined } }, async ({ params }) => {
    await workPools.removeQueue(params.name!, params.queue!);
    return new Response(null, { status: 204 });
  });
}
