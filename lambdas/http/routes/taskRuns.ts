import type { Hono } from "hono";
import * as z from "zod";
import {
  ArtifactSchema,
  CreateArtifactRequestSchema,
  CreateLogsRequestSchema,
  CreateTaskRunRequestSchema,
  ProposeStateRequestSchema,
  ProposeStateResponseSchema,
  TaskRunSchema,
} from "../../../sdk/api/schemas.js";
import type { Services } from "../../services/index.js";
import { artifactDto, taskRunDto } from "../dto.js";
import { json, route, type RouteRegistry } from "../routeSpec.js";
import { decisionBody } from "./flowRuns.js";

/**
 * Task-run, log and artifact routes.
 *
 * @example
 * ```ts
 * taskRunRoutes(app, registry, services);
 * ```
 */
export function taskRunRoutes(app: Hono, registry: RouteRegistry, services: Services): void {
  const { taskRuns, telemetry } = services;

  route(app, registry, { method: "post", path: "/v1/task-runs", summary: "Create a task run (idempotent by id)", tag: "task runs", body: CreateTaskRunRequestSchema, responses: { 201: TaskRunSchema, 200: TaskRunSchema } }, async ({ body }) => {
    const { taskRun, created } = await taskRuns.create(body);
    return json(created ? 201 : 200, taskRunDto(taskRun));
  });

  route(app, registry, { method: "get", path: "/v1/task-runs/:id", summary: "Get a task run", tag: "task runs", responses: { 200: TaskRunSchema } }, async ({ params }) =>
    json(200, taskRunDto(await taskRuns.get(params.id!))),
  );

  route(app, registry, { method: "post", path: "/v1/task-runs/:id/state", summary: "Propose a task-run state", tag: "task runs", body: ProposeStateRequestSchema, responses: { 200: ProposeStateResponseSchema } }, async ({ params, body }) =>
    json(200, decisionBody(await taskRuns.proposeState(params.id!, body))),
  );

  route(app, registry, { method: "post", path: "/v1/logs", summary: "Record a batch of log lines", tag: "logs", body: CreateLogsRequestSchema, responses: { 202: z.object({ accepted: z.number() }) } }, async ({ body }) =>
    json(202, await telemetry.putLogs(body.logs)),
  );

  route(app, registry, { method: "post", path: "/v1/artifacts", summary: "Publish an artifact", tag: "artifacts", body: CreateArtifactRequestSchema, responses: { 201: ArtifactSchema } }, async ({ body }) =>
    json(201, artifactDto(await telemetry.createArtifact(body))),
  );
}
