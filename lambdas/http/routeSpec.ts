import type { Context, Hono } from "hono";
import * as z from "zod";
import { ServiceError, type FieldProblem } from "../services/errors.js";
import { fieldProblems } from "./problem.js";

/**
 * Path parameters by name, validated before the handler runs: ids and names as long as the bodies
 * that create them allow, so that a path can never make a key DynamoDB refuses (2,048 bytes for a
 * partition key, 1,024 for a sort key).
 */
export const PATH_PARAMETERS: Record<string, z.ZodType<string>> = {
  id: z.string().min(1).max(128),
  tag: z.string().min(1).max(64),
  leaseId: z.string().min(1).max(128),
  key: z.string().min(1).max(512).refine((value) => Buffer.byteLength(value) <= 512, "at most 512 bytes in UTF-8"),
  queue: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, "a queue name: letters, digits, '_' and '-', starting with a letter or digit"),
};

/** What a route declares: enough to validate requests and to generate the OpenAPI document. */
export interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined> {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** Hono path syntax: `/v1/flow-runs/:id`. */
  path: string;
  summary: string;
  tag: string;
  body?: B;
  query?: Q;
  /** Response schemas by status. */
  responses: Record<number, z.ZodType | undefined>;
  /** Default true: the route needs a credential. */
  auth?: boolean;
}

type Infer<S> = S extends z.ZodType ? z.output<S> : undefined;

/** The validated request a handler receives. */
export interface ValidRequest<B, Q> {
  body: B;
  query: Q;
  params: Record<string, string>;
  c: Context;
  /** Aborts when the client goes away (the connection closed before the answer): listings stop reading. */
  signal: AbortSignal;
}

/** Routes registered so far, for the OpenAPI document and 405 detection. */
export type RouteRegistry = Array<RouteSpec<z.ZodType | undefined, z.ZodType | undefined>>;

/**
 * Registers a route on the app: validates the body and query with the spec's schemas (every invalid
 * field becomes a 400 problem naming it), then calls the handler.
 *
 * @example
 * ```ts
 * route(app, registry, { method: "get", path: "/v1/flow-runs/:id", summary: "Get a run", tag: "flow runs", responses: { 200: FlowRunSchema } },
 *   async ({ params }) => json(200, await services.flowRuns.get(params.id!)));
 * ```
 */
export function route<B extends z.ZodType | undefined, Q extends z.ZodType | undefined>(
  app: Hono,
  registry: RouteRegistry,
  spec: RouteSpec<B, Q>,
  handler: (request: ValidRequest<Infer<B>, Infer<Q>>) => Promise<Response> | Response,
): void {
  registry.push(spec as RouteSpec<z.ZodType | undefined, z.ZodType | undefined>);
  app.on(spec.method.toUpperCase(), spec.path, async (c) => {
    const problems = [];
    const params = c.req.param() as Record<string, string>;
    for (const [name, value] of Object.entries(params)) {
      const parsed = (PATH_PARAMETERS[name] ?? z.string().min(1).max(128)).safeParse(value);
      if (!parsed.success) problems.push(...fieldProblems(parsed.error, `path.${name}`));
    }
    let body: unknown;
    if (spec.body) {
      const parsed = spec.body.safeParse(await readJson(c));
      if (parsed.success) body = parsed.data;
      else problems.push(...fieldProblems(parsed.error, "body"));
    }
    let query: unknown;
    if (spec.query) {
      const parsed = spec.query.safeParse(c.req.query());
      if (parsed.success) query = parsed.data;
      else problems.push(...fieldProblems(parsed.error, "query"));
    }
    if (problems.length > 0) throw new ServiceError("VALIDATION", `${problems.length} invalid field${problems.length > 1 ? "s" : ""}`, problems);
    return handler({ body: body as Infer<B>, query: query as Infer<Q>, params, c, signal: c.req.raw.signal });
  });
}

async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ServiceError("VALIDATION", "the body is not valid JSON", [{ field: "body", message: "not valid JSON" }]);
  }
  // Values are checked field by field by their schemas (jsonValue, jsonObject), which never walk a
  // value deeper than MAX_JSON_DEPTH: no body can exhaust the stack.
  return value;
}

/**
 * A JSON response with a status.
 *
 * @example
 * ```ts
 * return json(201, dto);
 * ```
 */
export function json(status: number, value: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json", ...headers } });
}

/**
 * Whether a concrete path matches a hono-style pattern (`:param` segments match one non-empty segment).
 * Exact like hono's strict routing: `/v1/flow-runs/` is not `/v1/flow-runs`.
 */
export function pathMatches(pattern: string, path: string): boolean {
  const a = pattern.split("/");
  const b = path.split("/");
  return a.length === b.length && a.every((part, i) => part.startsWith(":") ? (b[i] ?? "") !== "" : part === b[i]);
}
