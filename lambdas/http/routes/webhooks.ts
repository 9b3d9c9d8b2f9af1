import { createHmac, timingSafeEqual } from "node:crypto";
import type { Context, Hono } from "hono";
import * as z from "zod";
import { jsonValueProblem, MAX_JSON_DEPTH } from "../../../sdk/model/serializable.js";
import { ServiceError } from "../../services/errors.js";
import type { Services } from "../../services/index.js";
import { problem, STATUS_OF } from "../problem.js";
import { json, route, type RouteRegistry } from "../routeSpec.js";

/** Signature headers, in the order they are looked for: Aloft's own, then GitHub's. Both carry `sha256=<hex>`. */
export const SIGNATURE_HEADERS = ["x-aloft-signature-256", "x-hub-signature-256"] as const;

/** Delivery-id headers, in the order they are looked for: a redelivery with the same id makes no second run. */
export const DELIVERY_HEADERS = ["x-aloft-delivery", "x-github-delivery"] as const;

/** Longest delivery id accepted (GitHub's are UUIDs). */
const MAX_DELIVERY_ID = 128;

const WebhookRunSchema = z.object({ runId: z.string(), state: z.string() });

/**
 * Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`, compared in
 * constant time. A header of the wrong shape or length is simply not a match.
 *
 * @example
 * ```ts
 * const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
 * verifySignature(secret, body, signature); // true
 * ```
 */
export function verifySignature(secret: string, body: Uint8Array, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(body).digest("hex")}`, "utf8");
  const given = Buffer.from((header ?? "").trim().toLowerCase(), "utf8");
  // timingSafeEqual throws on a length mismatch; compare against the expected value itself so that
  // the time taken does not depend on how long the given header is.
  const sameLength = given.length === expected.length;
  return timingSafeEqual(sameLength ? given : expected, expected) && sameLength;
}

/**
 * `POST /v1/webhooks/:name`: a signed request from another system creates a run of the deployment
 * `name` (id or name) with parameters `{ payload: <the JSON body> }` over the deployment's defaults.
 * No bearer token or IAM credential: the HMAC signature of the raw body with the webhook secret is
 * the credential. A delivery id header makes the run idempotent (`webhook:<name>:<delivery id>`).
 *
 * @example
 * ```ts
 * webhookRoutes(app, registry, services, async () => secret);
 * ```
 */
export function webhookRoutes(app: Hono, registry: RouteRegistry, services: Services, secret: () => Promise<string>): void {
  route(
    app,
    registry,
    {
      method: "post",
      path: "/v1/webhooks/:name",
      summary: "Create a run of a deployment from a signed webhook (X-Aloft-Signature-256 or X-Hub-Signature-256; no bearer token)",
      tag: "webhooks",
      responses: { 202: WebhookRunSchema, 200: WebhookRunSchema },
      auth: false,
    },
    async ({ params, c }) => {
      const raw = new Uint8Array(await c.req.arrayBuffer());
      const header = SIGNATURE_HEADERS.map((name) => c.req.header(name)).find((value) => value !== undefined);
      if (!verifySignature(await secret(), raw, header)) return unauthorized(c);

      const payload = parseBody(raw);
      const delivery = deliveryId(c);
      const name = params.name!;
      const { run, created } = await services.deployments.run(name, {
        parameters: { payload },
        ...(delivery === undefined ? {} : { idempotencyKey: `webhook:${name}:${delivery}` }),
      });
      return json(created ? 202 : 200, { runId: run.id, state: run.state.type });
    },
  );
}

function unauthorized(c: Context): Response {
  // The same answer whether the signature is missing, malformed or wrong: nothing to learn from it.
  return problem(c, 401, STATUS_OF.UNAUTHENTICATED.title, {
    detail: "missing or invalid webhook signature: send X-Aloft-Signature-256 or X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>",
  });
}

function parseBody(raw: Uint8Array): unknown {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch {
    throw new ServiceError("VALIDATION", "the body is not valid JSON", [{ field: "body", message: "not valid JSON" }]);
  }
  // Stored as parameters.payload: one level deeper than the body itself.
  const nesting = jsonValueProblem({ payload: value });
  if (nesting) {
    const message = `not a JSON value nested at most ${MAX_JSON_DEPTH - 1} levels (it becomes the run's parameters.payload): ${nesting.path.replace(/^\$\.payload/, "$")} is ${nesting.found}`;
    throw new ServiceError("VALIDATION", `body: ${message}`, [{ field: "body", message }]);
  }
  return value;
}

function deliveryId(c: Context): string | undefined {
  for (const name of DELIVERY_HEADERS) {
    const value = c.req.header(name)?.trim();
    if (value === undefined || value === "") continue;
    if (value.length > MAX_DELIVERY_ID) {
      throw new ServiceError("VALIDATION", `the ${name} header is longer than ${MAX_DELIVERY_ID} characters`, [
        { field: `headers.${name}`, message: `at most ${MAX_DELIVERY_ID} characters` },
      ]);
    }
    return value;
  }
  return undefined;
}
