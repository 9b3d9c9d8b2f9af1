import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { CreateFlowRunRequestSchema } from "../../../sdk/api/schemas.js";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";

interface Operation {
  operationId: string;
  summary: string;
  tags: string[];
  security?: unknown[];
  parameters: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>;
  requestBody?: { required: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Record<string, unknown> }> }>;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  security: unknown[];
  components: { securitySchemes: Record<string, unknown> };
  paths: Record<string, Record<string, Operation>>;
}

/** Every route the control-plane API promises (issue: "control-plane API"). */
const EXPECTED_ROUTES = [
  "get /health",
  "get /openapi.json",
  "get /v1/flow-runs",
  "post /v1/flow-runs",
  "get /v1/flow-runs/{id}",
  "get /v1/flow-runs/{id}/history",
  "post /v1/flow-runs/{id}/state",
  "post /v1/flow-runs/{id}/cancel",
  "post /v1/flow-runs/{id}/retry",
  "post /v1/flow-runs/{id}/resume",
  "post /v1/flow-runs/{id}/approval",
  "post /v1/flow-runs/{id}/heartbeat",
  "post /v1/flow-runs/{id}/crash",
  "get /v1/flow-runs/{id}/task-runs",
  "get /v1/flow-runs/{id}/logs",
  "get /v1/flow-runs/{id}/artifacts",
  "get /v1/flow-runs/{id}/journal",
  "put /v1/flow-runs/{id}/journal/{key}",
  "post /v1/task-runs",
  "get /v1/task-runs/{id}",
  "post /v1/task-runs/{id}/state",
  "post /v1/logs",
  "post /v1/artifacts",
  "get /v1/deployments",
  "post /v1/deployments",
  "get /v1/deployments/{id}",
  "patch /v1/deployments/{id}",
  "delete /v1/deployments/{id}",
  "post /v1/deployments/{id}/runs",
  "get /v1/concurrency-limits",
  "post /v1/concurrency-limits",
  "get /v1/concurrency-limits/{tag}",
  "put /v1/concurrency-limits/{tag}",
  "delete /v1/concurrency-limits/{tag}",
  "post /v1/concurrency-limits/{tag}/leases",
  "post /v1/concurrency-limits/{tag}/leases/{leaseId}/renew",
  "delete /v1/concurrency-limits/{tag}/leases/{leaseId}",
  "get /v1/work-pools",
  "post /v1/work-pools",
  "get /v1/work-pools/{name}",
  "patch /v1/work-pools/{name}",
  "post /v1/work-pools/{name}/pause",
  "post /v1/work-pools/{name}/resume",
  "put /v1/work-pools/{name}/queues/{queue}",
  "delete /v1/work-pools/{name}/queues/{queue}",
  "post /v1/work-pools/{name}/queues/{queue}/pause",
  "post /v1/work-pools/{name}/queues/{queue}/resume",
  "post /v1/webhooks/{name}",
];

let cp: TestControlPlane;
let document: OpenApiDocument;
beforeAll(async () => {
  cp = await startTestControlPlane();
  const response = await cp.call("GET", "/openapi.json");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  document = (await response.json()) as OpenApiDocument;
});
afterAll(async () => cp.dispose());

function operations(): Array<[string, Operation]> {
  return Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]): [string, Operation] => [`${method} ${path}`, operation]));
}

function operation(method: string, path: string): Operation {
  const found = document.paths[path]?.[method];
  if (!found) throw new Error(`the document has no ${method.toUpperCase()} ${path}`);
  return found;
}

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1.0 document", async () => {
    expect(document.openapi).toBe("3.1.0");
    expect(document.info).toEqual({ title: "Aloft control plane", version: expect.any(String) });
    const validator = new Validator();
    const result = await validator.validate(document as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it("lists exactly the routes of the API, in OpenAPI path syntax", () => {
    expect(operations().map(([key]) => key).sort()).toEqual([...EXPECTED_ROUTES].sort());
  });

  it("gives every operation a unique operationId, a summary and a tag", () => {
    const ids = operations().map(([, op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [key, op] of operations()) {
      expect(op.summary, key).not.toBe("");
      expect(op.tags, key).toHaveLength(1);
    }
  });

  it("declares every path parameter as a required, bounded string", () => {
    for (const [key, op] of operations()) {
      const names = [...key.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      expect(op.parameters.filter((parameter) => parameter.in === "path"), key).toEqual(
        names.map((name) => ({ name, in: "path", required: true, schema: expect.objectContaining({ type: "string", minLength: 1, maxLength: expect.any(Number) }) })),
      );
    }
    expect(operation("get", "/v1/concurrency-limits/{tag}").parameters[0]?.schema.maxLength).toBe(64);
  });

  it("documents the list filters and paging of GET /v1/flow-runs as optional query parameters", () => {
    const query = operation("get", "/v1/flow-runs").parameters.filter((parameter) => parameter.in === "query");
    expect(query.map((parameter) => parameter.name).sort()).toEqual(["cursor", "deployment", "flow", "limit", "since", "state", "tag", "until"]);
    expect(query.every((parameter) => !parameter.required)).toBe(true);
    expect(query.find((parameter) => parameter.name === "state")?.schema.enum).toContain("RUNNING");
  });

  it("uses the zod schema of each request body, closed to unknown fields", () => {
    const body = operation("post", "/v1/flow-runs").requestBody;
    expect(body?.required).toBe(true);
    const schema = body?.content["application/json"]?.schema as { required: string[]; additionalProperties: boolean; properties: Record<string, { type?: string; format?: string }> };
    expect(schema).toEqual(z.toJSONSchema(CreateFlowRunRequestSchema, { io: "input", unrepresentable: "any" }));
    expect(schema.required).toEqual(["flowName"]);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.scheduledTime).toMatchObject({ type: "string", format: "date-time" });
    for (const [key, op] of operations()) {
      const requestSchema = op.requestBody?.content["application/json"]?.schema;
      if (requestSchema) expect(requestSchema.additionalProperties, key).toBe(false);
    }
  });

  it("gives bodies to exactly the writes that take one", () => {
    const withBody = operations().filter(([, op]) => op.requestBody).map(([key]) => key.split(" ")[0]);
    expect(new Set(withBody)).toEqual(new Set(["post", "put", "patch"]));
    expect(operations().filter(([key, op]) => key.startsWith("get ") && op.requestBody)).toEqual([]);
  });

  it("documents problem+json for 4XX and 5XX on every operation, and the success response", () => {
    for (const [key, op] of operations()) {
      for (const status of ["4XX", "5XX"]) {
        const schema = op.responses[status]?.content?.["application/problem+json"]?.schema as { required?: string[] } | undefined;
        expect(schema?.required, `${key} ${status}`).toEqual(expect.arrayContaining(["type", "title", "status"]));
      }
      expect(Object.keys(op.responses).some((status) => /^2\d\d$/.test(status)), key).toBe(true);
    }
    expect(operation("post", "/v1/flow-runs").responses["201"]?.content?.["application/json"]?.schema).toMatchObject({ type: "object", required: expect.arrayContaining(["id", "state"]) });
    expect(operation("delete", "/v1/deployments/{id}").responses["204"]).toEqual({ description: "No content" });
  });

  it("requires credentials everywhere but /health and webhooks (signed instead), which have security: []", () => {
    expect(document.security).toEqual([{ bearer: [] }, { sigv4: [] }]);
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(["bearer", "sigv4"]);
    expect(operation("get", "/health").security).toEqual([]);
    expect(operation("post", "/v1/webhooks/{name}").security).toEqual([]);
    expect(operations().filter(([, op]) => op.security !== undefined).map(([key]) => key).sort()).toEqual(["get /health", "post /v1/webhooks/{name}"]);
  });

  it("needs credentials itself", async () => {
    expect((await cp.app.request("/openapi.json")).status).toBe(401);
  });
});
