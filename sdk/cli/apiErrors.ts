import { AloftApiError } from "../api/apiError.js";
import { AloftClient } from "../api/client.js";
import { AloftError } from "../model/errors.js";
import { terminalLine } from "./terminalText.js";
import { oneLine, UsageError, USAGE_EXIT_CODE } from "./usageError.js";

/**
 * How many times a CLI command retries a request that may be retried (an unreachable API, a 503):
 * fewer than a long-running worker, so a typo in the URL fails within a second.
 *
 * @example
 * ```ts
 * const client = new AloftClient({ retries: CLI_API_RETRIES });
 * ```
 */
export const CLI_API_RETRIES = 2;

/**
 * The exit code of a command the API refused or that failed (a cancel of a finished run, a retry
 * that failed again, an unreachable API).
 *
 * @example
 * ```ts
 * if (decision.status !== "ACCEPT") return FAILURE_EXIT_CODE;
 * ```
 */
export const FAILURE_EXIT_CODE = 1;

/**
 * What a failed API request means for the user: a one-line message and an exit code. A 400 or 404
 * is a mistake in the command line (exit 2: the id, name or value given is wrong); no answer at all
 * names the URL and how to start or point at an API (exit 1); anything else is the API's own
 * message (exit 1). What the API said is folded onto the line and neutralised for the terminal.
 *
 * @example
 * ```ts
 * describeApiError(error, "http://localhost:4200");
 * // { code: 2, message: "flow run nope does not exist" }
 * ```
 */
export function describeApiError(error: AloftApiError, apiUrl: string): { code: number; message: string } {
  if (error.status === 0 && error.title === "Network error") {
    return { code: FAILURE_EXIT_CODE, message: `cannot reach the Aloft API at ${apiUrl}: ${networkReason(error.cause)} — ${reachHint(apiUrl)}` };
  }
  const fields = error.errors.map((problem) => `${problem.field.replace(/^(body|query|params)\./, "")}: ${problem.message}`).join("; ");
  const reason = oneLine(fields || error.detail || error.title);
  if (error.status === 400) return { code: USAGE_EXIT_CODE, message: `the API refused the request: ${reason}` };
  if (error.status === 404) return { code: USAGE_EXIT_CODE, message: reason };
  const request = error.requestId === undefined ? "" : ` (request ${terminalLine(error.requestId)})`;
  if (error.status === 0) return { code: FAILURE_EXIT_CODE, message: `${reason}${request}` };
  const verb = error.status < 500 ? "refused the request" : "failed";
  return { code: FAILURE_EXIT_CODE, message: `the API ${verb} (${error.status} ${terminalLine(error.title)}): ${reason}${request}` };
}

/**
 * Runs a command's body with an {@link AloftClient} and turns API failures into what the CLI
 * prints: a usage error (exit 2, printed by `runCli`) or one `error:` line on stderr and exit 1.
 * Resolves to the exit code; sets nothing itself.
 *
 * @example
 * ```ts
 * process.exitCode = await withApi(async (client) => {
 *   await client.concurrencyLimits.delete("warehouse");
 *   return 0;
 * });
 * ```
 */
export async function withApi(action: (client: AloftClient) => Promise<number>, client: AloftClient = new AloftClient({ retries: CLI_API_RETRIES })): Promise<number> {
  try {
    return await action(client);
  } catch (error) {
    if (error instanceof AloftApiError) {
      const apiUrl = await client.endpoint().then(
        (endpoint) => endpoint.apiUrl,
        () => "(unknown URL)",
      );
      const { code, message } = describeApiError(error, apiUrl);
      if (code === USAGE_EXIT_CODE) throw new UsageError(message);
      process.stderr.write(`error: ${message}\n`);
      return code;
    }
    // A bad ALOFT_API_URL, an unreadable login config, no AWS region: the user's setup.
    if (error instanceof AloftError && error.code === "INVALID_OPTIONS") throw new UsageError(error.message);
    throw error;
  }
}

function networkReason(cause: unknown): string {
  for (let current: unknown = cause, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if ((current as { name?: unknown }).name === "TimeoutError") return "no answer in time";
    switch ((current as { code?: unknown }).code) {
      case "ECONNREFUSED":
        return "connection refused";
      case "ENOTFOUND":
        return "no such host";
      case "EAI_AGAIN":
        return "the host name could not be resolved";
      case "ECONNRESET":
      case "UND_ERR_SOCKET":
        return "the connection was closed";
      case "EHOSTUNREACH":
      case "ENETUNREACH":
        return "the host is unreachable";
      case "UND_ERR_CONNECT_TIMEOUT":
      case "ETIMEDOUT":
        return "the connection timed out";
    }
    current = (current as { cause?: unknown }).cause;
  }
  let deepest: unknown = cause;
  while (deepest instanceof Error && deepest.cause instanceof Error) deepest = deepest.cause;
  return oneLine(deepest instanceof Error ? deepest.message : String(deepest));
}

function reachHint(apiUrl: string): string {
  const host = new URL(apiUrl).hostname;
  const local = host === "localhost" || host === "127.0.0.1" || host === "[::1]" || host === "::1";
  return local ? "start it with `aloft server start` or set ALOFT_API_URL" : "check ALOFT_API_URL or run `aloft login --api <url>`";
}
