import type { Hono } from "hono";
import { ClaimRunsRequestSchema, ClaimRunsResponseSchema } from "../../../sdk/api/schemas.js";
import type { WorkerClaimService } from "../../services/workerClaims.js";
import { deploymentDto, flowRunDto } from "../dto.js";
import { json, route, type RouteRegistry } from "../routeSpec.js";

/**
 * `POST /v1/work-pools/{pool}/claims`: workers of local pools take runs (long polling up to
 * `waitSeconds`). Registered only where the control plane keeps local pool queues (the local server).
 *
 * @example
 * ```ts
 * workerClaimRoutes(app, registry, claims);
 * ```
 */
export function workerClaimRoutes(app: Hono, registry: RouteRegistry, claims: WorkerClaimService): void {
  route(
    app,
    registry,
    { method: "post", path: "/v1/work-pools/:name/claims", summary: "Take runs from a local pool for a worker (long polling)", tag: "work pools", body: ClaimRunsRequestSchema, responses: { 200: ClaimRunsResponseSchema } },
    async ({ params, body }) => {
      const items = await claims.claim(params.name!, body);
      return json(200, {
        items: items.map((item) => ({ runId: item.runId, runnerToken: item.runnerToken, flowRun: flowRunDto(item.flowRun), deployment: deploymentDto(item.deployment) })),
      });
    },
  );
}
