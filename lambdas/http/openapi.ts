import * as z from "zod";
import { ProblemSchema } from "../../sdk/api/schemas.js";
import { PATH_PARAMETERS, type RouteRegistry } from "./routeSpec.js";

/**
 * Builds the OpenAPI 3.1 document from the registered routes and their zod schemas.
 *
 * @example
 * ```ts
 * const document = openApiDocument(registry, { title: "Aloft", version: "0.1.0" });
 * ```
 */
export function openApiDocument(registry: RouteRegistry, info: { title: string; version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const problem = { "application/problem+json": { schema: z.toJSONSchema(ProblemSchema, { target: "draft-2020-12" }) } };
  for (const spec of registry) {
    const path = spec.path.replace(/:([A-Za-z_]+)/g, "{$1}");
    const parameters: unknown[] = [...spec.path.matchAll(/:([A-Za-z_]+)/g)].map((match) => ({
      name: match[1],
      in: "path",
      required: true,
      schema: z.toJSONSchema(PATH_PARAMETERS[match[1]!] ?? z.string().min(1).max(128), { io: "input", unrepresentable: "any" }),
    }));
    if (spec.query) {
      const schema = z.toJSONSchema(spec.query, { io: "input", unrepresentable: "any" }) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        parameters.push({ name, in: "query", required: schema.required?.includes(name) ?? false, schema: property });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(spec.responses)) {
      responses[status] = schema
        ? { description: "OK", content: { "application/json": { schema: z.toJSONSchema(schema, { io: "output", unrepresentable: "any" }) } } }
        : { description: "No content" };
    }
    responses["4XX"] = { description: "The request was refused; the problem names every invalid field.", content: problem };
    responses["5XX"] = { description: "Server error (logged with the request id).", content: problem };
    const operation: Record<string, unknown> = {
      summary: spec.summary,
      tags: [spec.tag],
      operationId: `${spec.method}${spec.path.replace(/[:/{}-]+(\w)/g, (_, c: string) => c.toUpperCase())}`,
      parameters,
      responses,
    };
    if (spec.auth === false) operation.security = [];
    if (spec.body) {
      operation.requestBody = {
        required: true,
        content: { "application/json": { schema: z.toJSONSchema(spec.body, { io: "input", unrepresentable: "any" }) } },
      };
    }
    (paths[path] ??= {})[spec.method] = operation;
  }
  return {
    openapi: "3.1.0",
    info,
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "Local server: the token in <data dir>/token." },
        sigv4: { type: "apiKey", in: "header", name: "Authorization", description: "On AWS: requests signed with SigV4 (IAM)." },
      },
    },
    security: [{ bearer: [] }, { sigv4: [] }],
    paths,
  };
}
