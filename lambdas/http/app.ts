import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ServiceError } from "../services/errors.js";
import type { Services } from "../services/index.js";
import { InvalidCursorError } from "../store/cursor.js";
import { ItemTooLargeError } from "../store/store.js";
import type { Authenticator } from "./auth.js";
import { isClientAbort } from "./clientAbort.js";
import { openApiDocument } from "./openapi.js";
import { problem, STATUS_OF } from "./problem.js";
import { pathMatches, type RouteRegistry } from "./routeSpec.js";
import { concurrencyLimitRoutes } from "./routes/concurrencyLimits.js";
import { deploymentRoutes } from "./routes/deployments.js";
import { flowRunRoutes } from "./routes/flowRuns.js";
import { taskRunRoutes } from "./routes/taskRuns.js";
import { webhookRoutes } from "./routes/webhooks.js";
import { workPoolRoutes } from "./routes/workPools.js";
import { workerClaimRoutes } from "./routes/workerClaims.js";
import type { WorkerClaimService } from "../services/workerClaims.js";

/** Requests larger than this are refused with 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What the API needs. */
export interface ApiOptions {
  services: Services;
  auth: Authenticator;
  now?: () => number;
  version?: string;
  /** Where unexpected errors are logged (with the request id); stderr as JSON by default. */
  logError?: (entry: { requestId: string; method: string; path: string; error: unknown }) => void;
  /**
   * The HMAC key webhook senders sign with. With it, `POST /v1/webhooks/:name` creates runs from
   * signed requests; without it, there is no webhook route (404).
   */
  webhookSecret?: () => Promise<string>;
  /**
   * Where workers of local pools take runs. With it, `POST /v1/work-pools/:name/claims` exists (the
   * local server); without it, that route is a 404.
   */
  workerClaims?: WorkerClaimService;
}

/**
 * The control-plane HTTP API: one hono app, served by the Lambda handler (API Gateway HTTP API v2
 * events) on AWS and by Node in the local server.
 *
 * @example
 * ```ts
 * const app = createApi({ services, auth: bearerToken(token) });
 * const response = await app.request("/health");
 * ```
 */
export function createApi(options: ApiOptions): Hono {
  const { services, auth } = options;
  const now = options.now ?? Date.now;
  const logError = options.logError ?? defaultLogError;
  const registry: RouteRegistry = [];
  const app = new Hono();

  app.use("*", async (c, next) => {
    const requestId = requestIdOf(c.env) ?? randomUUID();
    c.set("requestId" as never, requestId as never);
    await next();
    c.header("x-request-id", requestId);
  });
  // Credentials first: the body of an unauthenticated request is never read (nor buffered, nor a
  // read error to log when its client hangs up).
  app.use("*", async (c, next) => {
    // Fail closed: only routes declared `auth: false` skip the check. Hono answers HEAD with the GET
    // handler, so HEAD is looked up as GET (otherwise it would reach GET handlers unauthenticated).
    const method = c.req.method === "HEAD" ? "get" : c.req.method.toLowerCase();
    const spec = registry.find((candidate) => pathMatches(candidate.path, c.req.path) && candidate.method === method);
    if (spec?.auth !== false && !auth.authenticate(c)) {
      return problem(c, 401, STATUS_OF.UNAUTHENTICATED.title, {
        detail: "missing or invalid credentials: send Authorization: Bearer <token> (local) or a SigV4-signed request (AWS)",
        headers: { "www-authenticate": 'Bearer realm="aloft"' },
      });
    }
    return next();
  });
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => problem(c, 413, STATUS_OF.PAYLOAD_TOO_LARGE.title, { detail: `the body is larger than ${MAX_BODY_BYTES} bytes` }),
    }),
  );

  registry.push({ method: "get", path: "/health", summary: "Liveness (no credentials needed)", tag: "meta", responses: { 200: undefined }, auth: false });
  app.get("/health", (c) => c.json({ status: "ok", version: options.version ?? "0.1.0" }));
  registry.push({ method: "get", path: "/openapi.json", summary: "This API's OpenAPI 3.1 document", tag: "meta", responses: { 200: undefined } });
  app.get("/openapi.json", (c) => c.json(openApiDocument(registry, { title: "Aloft control plane", version: options.version ?? "0.1.0" })));

  flowRunRoutes(app, registry, services);
  taskRunRoutes(app, registry, services);
  deploymentRoutes(app, registry, services);
  concurrencyLimitRoutes(app, registry, services, now);
  workPoolRoutes(app, registry, services);
  if (options.webhookSecret) webhookRoutes(app, registry, services, options.webhookSecret);
  if (options.workerClaims) workerClaimRoutes(app, registry, options.workerClaims);

  app.notFound((c) => {
    const allowed = registry.filter((spec) => pathMatches(spec.path, c.req.path)).map((spec) => spec.method.toUpperCase());
    if (allowed.length > 0) {
      return problem(c, 405, "Method not allowed", { detail: `${c.req.method} is not allowed here; use ${allowed.join(", ")}`, headers: { allow: allowed.join(", ") } });
    }
    return problem(c, 404, STATUS_OF.NOT_FOUND.title, { detail: `no route for ${c.req.method} ${c.req.path}` });
  });

  app.onError((error, c) => {
    const requestId = (c.get("requestId" as never) as string | undefined) ?? randomUUID();
    if (error instanceof ServiceError) {
      const { status, title } = STATUS_OF[error.code];
      const headers: Record<string, string> = {};
      if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds);
      return problem(c, status, title, { detail: error.message, errors: error.fields, requestId, headers });
    }
    if (error instanceof InvalidCursorError) {
      return problem(c, 400, STATUS_OF.INVALID_CURSOR.title, { detail: error.message, errors: [{ field: "query.cursor", message: error.message }], requestId });
    }
    if (error instanceof ItemTooLargeError) {
      const detail = `${error.message}; store large values (results, parameters, artifact data) by reference instead`;
      return problem(c, 413, STATUS_OF.PAYLOAD_TOO_LARGE.title, { detail, requestId });
    }
    if (isClientAbort(error, c.req.raw.signal)) {
      // The client went away (mid-body, or while its request ran): nobody reads this answer, and an
      // abandoned request is not a failure of ours to log.
      return problem(c, 499, "Client closed request", { detail: "the client closed the connection before the answer", requestId });
    }
    logError({ requestId, method: c.req.method, path: c.req.path, error });
    return problem(c, 500, "Internal error", { detail: `something went wrong on our side; quote request id ${requestId}`, requestId });
  });

  return app;
}

function requestIdOf(env: unknown): string | undefined {
  const id = (env as { event?: { requestContext?: { requestId?: string } } } | undefined)?.event?.requestContext?.requestId;
  return typeof id === "string" ? id : undefined;
}

function defaultLogError(entry: { requestId: string; method: string; path: string; error: unknown }): void {
  const error = entry.error instanceof Error ? { name: entry.error.name, message: entry.error.message, stack: entry.error.stack } : { message: String(entry.error) };
  process.stderr.write(`${JSON.stringify({ level: "error", message: "unhandled API error", requestId: entry.requestId, method: entry.method, path: entry.path, error })}\n`);
}
