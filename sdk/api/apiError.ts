import { STATUS_CODES } from "node:http";
import { AloftError } from "../model/errors.js";

/**
 * One invalid field of a request, as the API's problem document lists it.
 *
 * @example
 * ```ts
 * const problem: FieldProblem = { field: "body.flowName", message: "Required" };
 * ```
 */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * What {@link AloftApiError} carries besides its message.
 *
 * @example
 * ```ts
 * new AloftApiError({ method: "GET", path: "/v1/flow-runs/x", status: 404, title: "Not found", detail: "flow run x does not exist" });
 * ```
 */
export interface AloftApiErrorInit {
  method: string;
  path: string;
  /** The HTTP status; 0 when no answer came (network error, timeout). */
  status: number;
  title: string;
  detail?: string;
  /** Every invalid field, for a 400. */
  errors?: FieldProblem[];
  requestId?: string;
  /** The problem type URI. */
  type?: string;
  /** The server's `Retry-After`, in seconds (429, 423 and 503 answers). */
  retryAfterSeconds?: number;
  /** How many attempts were made, retries included. */
  attempts?: number;
  cause?: unknown;
}

/**
 * A request to the control-plane API that failed: a non-2xx answer (its RFC 9457 problem document
 * parsed into `status`, `title`, `detail`, `errors` and `requestId`), or no answer at all (`status`
 * 0, the network error as `cause`). The message is one line naming the request and the reason.
 *
 * @example
 * ```ts
 * try {
 *   await client.flowRuns.get("no-such-run");
 * } catch (error) {
 *   if (error instanceof AloftApiError && error.status === 404) console.log(error.detail);
 *   else throw error;
 * }
 * // error.message: "GET /v1/flow-runs/no-such-run: 404 Not found — flow run no-such-run does not exist"
 * ```
 */
export class AloftApiError extends AloftError {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly title: string;
  readonly detail?: string;
  readonly errors: readonly FieldProblem[];
  readonly requestId?: string;
  readonly type?: string;
  readonly retryAfterSeconds?: number;
  readonly attempts: number;

  constructor(init: AloftApiErrorInit) {
    super("API_ERROR", apiErrorMessage(init), init.cause === undefined ? {} : { cause: init.cause });
    this.method = init.method;
    this.path = init.path;
    this.status = init.status;
    this.title = init.title;
    this.errors = init.errors ?? [];
    this.attempts = init.attempts ?? 1;
    if (init.detail !== undefined) this.detail = init.detail;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    if (init.type !== undefined) this.type = init.type;
    if (init.retryAfterSeconds !== undefined) this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

function apiErrorMessage(init: AloftApiErrorInit): string {
  const reason =
    init.errors && init.errors.length > 0
      ? init.errors.map((problem) => `${problem.field}: ${problem.message}`).join("; ")
      : init.detail;
  const head = init.status === 0 ? init.title.toLowerCase() : `${init.status} ${init.title}`;
  const tail = init.attempts !== undefined && init.attempts > 1 ? ` (after ${init.attempts} attempts)` : "";
  return `${init.method} ${init.path}: ${head}${reason ? ` — ${reason}` : ""}${tail}`;
}

/**
 * Builds the error for a non-2xx answer from its body: a problem document when the API sent one,
 * otherwise the first line of the text (a proxy's HTML page, a gateway's JSON `message`).
 *
 * @example
 * ```ts
 * throw apiErrorFromResponse("GET", "/v1/flow-runs/x", response, await response.text());
 * ```
 */
export function apiErrorFromResponse(method: string, path: string, response: Response, text: string, attempts = 1): AloftApiError {
  const body = parseJsonObject(text);
  const requestId = stringField(body, "requestId") ?? response.headers.get("x-request-id") ?? response.headers.get("x-amzn-requestid") ?? undefined;
  const errors = Array.isArray(body?.errors)
    ? body.errors.filter(isFieldProblem)
    : [];
  // API Gateway answers its own errors (throttling, a bad signature) as {"message": "..."}.
  const detail = stringField(body, "detail") ?? stringField(body, "message") ?? stringField(body, "Message") ?? (body ? undefined : firstLine(text));
  const retryAfterSeconds = retryAfterSecondsOf(response.headers.get("retry-after"), Date.now());
  return new AloftApiError({
    method,
    path,
    status: response.status,
    title: stringField(body, "title") ?? (response.statusText || STATUS_CODES[response.status] || `HTTP ${response.status}`),
    ...(detail !== undefined ? { detail } : {}),
    ...(errors.length > 0 ? { errors } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
    ...(stringField(body, "type") !== undefined ? { type: stringField(body, "type")! } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    attempts,
  });
}

/**
 * A `Retry-After` header in seconds: either a number of seconds or an HTTP date; undefined when
 * absent or unreadable.
 *
 * @example
 * ```ts
 * retryAfterSecondsOf("3", Date.now()); // 3
 * retryAfterSecondsOf("Wed, 21 Oct 2026 07:28:00 GMT", Date.now()); // seconds until then, at least 0
 * ```
 */
export function retryAfterSecondsOf(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  if (text.trim() === "") return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function stringField(body: Record<string, unknown> | undefined, key: string): string | undefined {
  const value = body?.[key];
  return typeof value === "string" ? value : undefined;
}

function isFieldProblem(value: unknown): value is FieldProblem {
  return value !== null && typeof value === "object" && typeof (value as FieldProblem).field === "string" && typeof (value as FieldProblem).message === "string";
}

function firstLine(text: string): string | undefined {
  const line = text.trim().split("\n", 1)[0]?.trim();
  if (!line) return undefined;
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
