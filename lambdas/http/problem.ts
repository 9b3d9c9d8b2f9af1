import type { Context } from "hono";
import type { ZodError } from "zod";
import type { ServiceErrorCode, FieldProblem } from "../services/errors.js";

/** The one table from error codes to HTTP statuses and problem titles. */
export const STATUS_OF: Record<ServiceErrorCode, { status: 400 | 401 | 404 | 409 | 413 | 423; title: string }> = {
  VALIDATION: { status: 400, title: "Invalid request" },
  INVALID_CURSOR: { status: 400, title: "Invalid cursor" },
  UNAUTHENTICATED: { status: 401, title: "Authentication required" },
  NOT_FOUND: { status: 404, title: "Not found" },
  ALREADY_EXISTS: { status: 409, title: "Already exists" },
  CONFLICT: { status: 409, title: "Conflict" },
  LIMIT_FULL: { status: 423, title: "Concurrency limit full" },
  PAYLOAD_TOO_LARGE: { status: 413, title: "Payload too large" },
};

/**
 * Sends an RFC 9457 `application/problem+json` response.
 *
 * @example
 * ```ts
 * return problem(c, 404, "Not found", { detail: "flow run x does not exist" });
 * ```
 */
export function problem(
  c: Context,
  status: number,
  title: string,
  extra: { detail?: string; errors?: FieldProblem[]; requestId?: string; headers?: Record<string, string> } = {},
): Response {
  const body: Record<string, unknown> = {
    type: `https://aloft.dev/problems/${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`,
    title,
    status,
    instance: new URL(c.req.url).pathname,
  };
  if (extra.detail !== undefined) body.detail = extra.detail;
  if (extra.errors && extra.errors.length > 0) body.errors = extra.errors;
  if (extra.requestId !== undefined) body.requestId = extra.requestId;
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json", ...extra.headers },
  });
}

/**
 * Every issue of a zod error as a field problem, with dotted paths (`state.type`, `logs[3].level`).
 *
 * @example
 * ```ts
 * fieldProblems(result.error, "body"); // [{ field: "body.flowName", message: "Required" }, { field: "body.colour", message: "unknown field" }]
 * ```
 */
export function fieldProblems(error: ZodError, prefix: string): FieldProblem[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("");
    const unknownKeys = issue.code === "unrecognized_keys" ? (issue as { keys?: string[] }).keys : undefined;
    if (unknownKeys && unknownKeys.length > 0) {
      // One problem per unknown key, each with its own exact path (`body.priority`, `body.owner`).
      return unknownKeys.map((key) => ({ field: `${prefix}${path}.${key}`, message: "unknown field" }));
    }
    return [{ field: `${prefix}${path}`, message: issue.message }];
  });
}
