/**
 * When the client retries a request and how long it waits: exponential backoff with full jitter,
 * `Retry-After` honoured, and only what cannot be applied twice by mistake.
 */

/**
 * How the client retries. Defaults: 5 retries, base 100 ms, at most 5 s between attempts, and a
 * `Retry-After` longer than 30 s is not waited for (the error is thrown with `retryAfterSeconds`).
 *
 * @example
 * ```ts
 * new AloftClient({ retries: { retries: 8, maxDelayMs: 10_000 } });
 * new AloftClient({ retries: 0 }); // never retry
 * ```
 */
export interface ApiRetryOptions {
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** The longest `Retry-After` the client waits for. */
  maxRetryAfterMs?: number;
  /** How the client waits (tests pass a recorder). */
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1) for the jitter; Math.random by default. */
  random?: () => number;
}

/** {@link ApiRetryOptions} with every default filled in. */
export type RetryPolicy = Required<ApiRetryOptions>;

/**
 * The retry policy with defaults applied; a number is the retry count.
 *
 * @example
 * ```ts
 * retryPolicy(3).retries; // 3
 * retryPolicy({ baseDelayMs: 50 }).maxDelayMs; // 5000
 * ```
 */
export function retryPolicy(options: number | ApiRetryOptions = {}): RetryPolicy {
  const given = typeof options === "number" ? { retries: options } : options;
  const policy: RetryPolicy = {
    retries: given.retries ?? 5,
    baseDelayMs: given.baseDelayMs ?? 100,
    maxDelayMs: given.maxDelayMs ?? 5_000,
    maxRetryAfterMs: given.maxRetryAfterMs ?? 30_000,
    sleep: given.sleep ?? ((ms) => new Promise((done) => setTimeout(done, ms))),
    random: given.random ?? Math.random,
  };
  const problems = (["retries", "baseDelayMs", "maxDelayMs", "maxRetryAfterMs"] as const)
    .filter((key) => !Number.isFinite(policy[key]) || policy[key] < 0)
    .map((key) => `${key} must be a number >= 0, got ${String(policy[key])}`);
  if (!Number.isInteger(policy.retries) && problems.length === 0) problems.push(`retries must be a whole number, got ${policy.retries}`);
  if (problems.length > 0) throw new RangeError(`invalid retry options: ${problems.join("; ")}`);
  return policy;
}

/**
 * The wait before retry number `retry` (0 for the first retry): a uniformly random time between 0
 * and min(maxDelayMs, baseDelayMs × 2^retry) ("full jitter").
 *
 * @example
 * ```ts
 * backoffMs(policy, 3); // somewhere in [0, 800) with the defaults
 * ```
 */
export function backoffMs(policy: RetryPolicy, retry: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.floor(policy.random() * ceiling);
}

/**
 * Whether an HTTP status is worth retrying, and when: `always` for 429 (the server refused the
 * request without acting on it), `idempotent` for 502, 503 and 504 (the request may have been
 * applied), `never` for the rest.
 *
 * @example
 * ```ts
 * retryableStatus(429); // "always"
 * retryableStatus(504); // "idempotent"
 * retryableStatus(409); // "never"
 * ```
 */
export function retryableStatus(status: number): "always" | "idempotent" | "never" {
  if (status === 429) return "always";
  if (status === 502 || status === 503 || status === 504) return "idempotent";
  return "never";
}

// The connection was never made: nothing reached the server, so any request can be sent again.
const BEFORE_SEND = new Set(["ECONNREFUSED", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);
// The connection broke while the request was in flight: the server may have acted on it.
const IN_FLIGHT = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "UND_ERR_SOCKET", "UND_ERR_CLOSED", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);
// Failures that another attempt cannot fix: an unknown host, an untrusted certificate.
const PERMANENT = new Set([
  "ENOTFOUND",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
]);

/**
 * What a thrown fetch error means for a retry: `before-send` (connection refused: always safe to
 * retry), `in-flight` (reset, hang-up, timeout: safe only for idempotent requests), or `fatal`
 * (a bad URL, an unknown host: retrying cannot help).
 *
 * @example
 * ```ts
 * networkFailureKind(new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) })); // "before-send"
 * ```
 */
export function networkFailureKind(error: unknown): "before-send" | "in-flight" | "fatal" {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      if (BEFORE_SEND.has(code)) return "before-send";
      if (IN_FLIGHT.has(code)) return "in-flight";
      if (PERMANENT.has(code)) return "fatal";
    }
    const name = (current as { name?: unknown }).name;
    if (name === "TimeoutError") return "in-flight";
    const message = (current as { message?: unknown }).message;
    if (typeof message === "string" && /socket hang up|other side closed/i.test(message)) return "in-flight";
    current = (current as { cause?: unknown }).cause;
  }
  // undici's bare "fetch failed" with no recognisable cause: assume the worst, that it was sent.
  return error instanceof TypeError && error.message === "fetch failed" ? "in-flight" : "fatal";
}
