/** Error codes of a request body or call cut short because the client went away. */
const ABORT_CODES = new Set(["ECONNRESET", "ERR_STREAM_PREMATURE_CLOSE", "ABORT_ERR", "UND_ERR_ABORTED"]);

/**
 * Whether an error is the client's going away rather than a failure of ours: the request's signal
 * has aborted (the Node adapter aborts it when the connection closes early) and the error is what
 * that abort caused — the signal's reason, an AbortError, or a body read cut short (Node's
 * `aborted` / ECONNRESET). Nobody waits for the answer to such a request, so it is neither logged
 * nor a 500; any other error of an aborted request still is, for it may be a bug of ours.
 *
 * @example
 * ```ts
 * app.onError((error, c) => (isClientAbort(error, c.req.raw.signal) ? problem(c, 499, "Client closed request") : fail(error)));
 * ```
 */
export function isClientAbort(error: unknown, signal: AbortSignal): boolean {
  if (!signal.aborted) return false;
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current === signal.reason || current.name === "AbortError" || current.message === "aborted") return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && ABORT_CODES.has(code)) return true;
  }
  return error === signal.reason;
}
