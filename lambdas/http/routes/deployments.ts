import type { Hono } from "hono";
import {
  CreateDeploymentRequestSchema,
  CreateDeploymentRunRequestSchema,
  DeploymentSchema,
  FlowRunSchema,
  UpdateDeploymentRequestSchema,
  pageOf,
} from "../../../sdk/api/schemas.js";
import type { Services } from "../../services/index.js";
import { deploymentDto, flowRunDto } from "../dto.js";
import { PageQuery, pageRequest } from "../paging.js";
import { json, route, type RouteRegistry } from "../routeSpec.js";

/**
 * Deployment routes; `{id}` takes a deployment's id or its name.
 *
 * @example
 * ```ts
 * deploymentRoutes(app, registry, services);
 * ```
 */
export function deploymentRoutes(app: Hono, registry: RouteRegistry, services: Services): void {
  const { deployments } = services;
  const tag = "deployments";

  route(app, registry, { method: "post", path: "/v1/deployments", summary: "Create a deployment", tag, body: CreateDeploymentRequestSchema, responses: { 201: DeploymentSchema } }, async ({ body }) => {
    const deployment = await deployments.create(body);
    return json(201, deploymentDto(deployment), { location: `/v1/deployments/${deployment.id}` });
  });

  route(app, registry, { method: "get", path: "/v1/deployments", summary: "List deployments by name", tag, query: PageQuery, responses: { 200: pageOf(DeploymentSchema) } }, async ({ query, signal }) => {
    const page = await deployments.list(pageRequest(query, signal));
    return json(200, { items: page.items.map(deploymentDto), ...(page.cursor ? { cursor: page.cursor } : {}) });
  });

  route(app, registry, { method: "get", path: "/v1/deployments/:id", summary: "Get a deployment by id or name", tag, responses: { 200: DeploymentSchema } }, async ({ params }) =>
    json(200, deploymentDto(await deployments.get(params.id!))),
  );

  route(app, registry, { method: "patch", path: "/v1/deployments/:id", summary: "Update a deployment", tag, body: UpdateDeploymentRequestSchema, responses: { 200: DeploymentSchema } }, async ({ params, body }) =>
    json(200, deploymentDto(await deployments.update(params.id!, body))),
  );

  route(app, registry, { method: "delete", path: "/v1/deployments/:id", summary: "Delete a deployment", tag, responses: { 204: undefined } }, async ({ params }) => {
    await deployments.remove(params.id!);
    return new Response(null, { status: 204 });
  });

  route(app, registry, { method: "post", path: "/v1/deployments/:id/runs", summary: "Create a run of a deployment", tag, body: CreateDeploymentRunRequestSchema, responses: { 201: FlowRunSchema, 200: FlowRunSchema } }, async ({ params, body }) => {
    const { run, created } = await deployments.run(params.id!, body);
    return json(created ? 201 : 200, flowRunDto(run));
  });
}
