/**
 * The client's HTTP layer: finds the API and its credentials once, sends JSON requests with the
 * bearer token or a SigV4 signature, retries what is safe to retry, and turns failures into
 * {@link AloftApiError}s.
 */
import { AloftError } from "../model/errors.js";
import { AloftApiError, apiErrorFromResponse, retryAfterSecondsOf } from "./apiError.js";
import { awsEndpointOf, loadLoginConfig, resolveApiUrl, resolveToken, type AuthMode, type LoginConfig, type SettingSource } from "./credentials.js";
import { backoffMs, networkFailureKind, retryableStatus, retryPolicy, type ApiRetryOptions, type RetryPolicy } from "./retryPolicy.js";
import { sigV4Signer, type AwsCredentialSource, type RequestSigner } from "./sigv4.js";

/**
 * The `fetch` the client calls; the global one by default.
 *
 * @example
 * ```ts
 * const logged: FetchLike = async (url, init) => { console.log(init.method, url); return fetch(url, init); };
 * ```
 */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/**
 * Options of `new AloftClient(...)`; every one is optional.
 *
 * @example
 * ```ts
 * const options: AloftClientOptions = { apiUrl: "http://localhost:4200", token: process.env.MY_TOKEN, retries: 3 };
 * ```
 */
export interface AloftClientOptions {
  /** The API's base URL. Default: `ALOFT_API_URL`, the `aloft login` config, then http://localhost:4200. */
  apiUrl?: string;
  /** The bearer token. Default: `ALOFT_TOKEN`, then the file `<data dir>/token`. */
  token?: string;
  /** Where the local server keeps its token. Default: `ALOFT_DATA_DIR`, then `.aloft` in the working directory. */
  dataDir?: string;
  /** `token` or `iam`. Default: `iam` for an AWS endpoint (or a login config saying so), `token` otherwise. */
  auth?: AuthMode;
  /** The SigV4 region. Default: the endpoint's host, the login config, `AWS_REGION`, `AWS_DEFAULT_REGION`. */
  region?: string;
  /** AWS credentials for SigV4. Default: the AWS SDK's default credential chain. */
  credentials?: AwsCredentialSource;
  /** A retry count, or finer {@link ApiRetryOptions}. Default 5 retries. */
  retries?: number | ApiRetryOptions;
  /** Per-attempt timeout in milliseconds. Default 30 000. */
  timeoutMs?: number;
  fetch?: FetchLike;
}

/**
 * One request as the client's namespaces describe it.
 *
 * @example
 * ```ts
 * const spec: RequestSpec = { method: "GET", path: "/v1/flow-runs", query: { flow: "etl" }, idempotent: true };
 * ```
 */
export interface RequestSpec {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** The path with its parameters already encoded. */
  path: string;
  query?: Record<string, string | number | undefined> | undefined;
  body?: unknown;
  /** Whether sending the request twice has the effect of sending it once (so it may be retried after it was sent). */
  idempotent: boolean;
}

interface Resolved {
  apiUrl: string;
  apiUrlSource: SettingSource;
  auth: AuthMode;
  /** Token mode: the token, where it came from, and the file looked at. */
  token?: { value?: string; source: SettingSource; file: string };
  signer?: RequestSigner;
}

/**
 * Sends the client's requests.
 *
 * @example
 * ```ts
 * const transport = new Transport({ apiUrl: "http://localhost:4200" });
 * const run = await transport.request<FlowRunResponse>({ method: "GET", path: "/v1/flow-runs/abc", idempotent: true });
 * ```
 */
export class Transport {
  private readonly options: AloftClientOptions;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly fetch: FetchLike;
  private resolved: Promise<Resolved> | undefined;

  constructor(options: AloftClientOptions = {}) {
    this.options = options;
    this.policy = retryPolicy(options.retries);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    if (!(this.timeoutMs > 0)) throw new AloftError("INVALID_OPTIONS", `timeoutMs must be a number > 0, got ${String(options.timeoutMs)}`);
    this.fetch = options.fetch ?? ((url, init) => fetch(url, init));
  }

  /** The API URL and auth mode the client uses (resolved on first use). */
  async target(): Promise<{ apiUrl: string; auth: AuthMode }> {
    const { apiUrl, auth } = await this.resolve();
    return { apiUrl, auth };
  }

  /**
   * Sends one request and returns the parsed JSON body (undefined for 204), retrying network
   * failures, 429 and 502/503/504 as {@link RequestSpec.idempotent} allows.
   */
  async request<T>(spec: RequestSpec): Promise<T> {
    const settings = await this.resolve();
    const url = new URL(settings.apiUrl + spec.path);
    for (const [key, value] of Object.entries(spec.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const label = `${spec.path}${url.search}`;
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const baseHeaders: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) baseHeaders["content-type"] = "application/json";

    for (let attempt = 1; ; attempt++) {
      const retriesLeft = attempt <= this.policy.retries;
      let headers: Record<string, string>;
      if (settings.signer) headers = await settings.signer({ method: spec.method, url, headers: baseHeaders, ...(body !== undefined ? { body } : {}) });
      else headers = settings.token?.value ? { ...baseHeaders, authorization: `Bearer ${settings.token.value}` } : baseHeaders;

      let response: Response;
      try {
        response = await this.fetch(url.toString(), { method: spec.method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (error) {
        const kind = networkFailureKind(error);
        if (retriesLeft && (kind === "before-send" || (kind === "in-flight" && spec.idempotent))) {
          await this.policy.sleep(backoffMs(this.policy, attempt - 1));
          continue;
        }
        throw this.networkError(spec.method, label, settings, error, attempt);
      }

      if (response.ok) return (await this.parseBody(spec.method, label, response, attempt)) as T;

      const text = await response.text().catch(() => "");
      const retryable = retryableStatus(response.status);
      if (retriesLeft && (retryable === "always" || (retryable === "idempotent" && spec.idempotent))) {
        const retryAfter = retryAfterSecondsOf(response.headers.get("retry-after"), Date.now());
        if (retryAfter === undefined || retryAfter * 1000 <= this.policy.maxRetryAfterMs) {
          await this.policy.sleep(retryAfter === undefined ? backoffMs(this.policy, attempt - 1) : Math.ceil(retryAfter * 1000));
          continue;
        }
      }
      const error = apiErrorFromResponse(spec.method, label, response, text, attempt);
      if (response.status === 401) throw this.withAuthHint(error, settings);
      throw error;
    }
  }

  private async parseBody(method: string, label: string, response: Response, attempts: number): Promise<unknown> {
    if (response.status === 204) return undefined;
    const text = await response.text();
    if (text === "") return undefined;
    try {
      return JSON.parse(text);
    } catch (cause) {
      throw new AloftApiError({ method, path: label, status: response.status, title: "Invalid response", detail: `the body is not JSON: ${text.slice(0, 120)}`, attempts, cause });
    }
  }

  private networkError(method: string, label: string, settings: Resolved, cause: unknown, attempts: number): AloftApiError {
    const reason = describeNetworkFailure(cause, this.timeoutMs);
    const hint = settings.apiUrlSource === "default" ? ` (is the local server running? start it with \`aloft server start\`, or set ALOFT_API_URL)` : "";
    return new AloftApiError({ method, path: label, status: 0, title: "Network error", detail: `${reason} reaching ${settings.apiUrl}${hint}`, attempts, cause });
  }

  private withAuthHint(error: AloftApiError, settings: Resolved): AloftApiError {
    let hint: string;
    if (settings.auth === "iam") hint = "the API refused the SigV4 signature: check the AWS credentials, and that their identity may invoke the API";
    else if (settings.token?.value === undefined) hint = `no token found: set ALOFT_TOKEN, pass token, or run the local server, which writes ${settings.token?.file ?? "<data dir>/token"}`;
    else hint = `the token from ${tokenSourceName(settings.token)} was refused`;
    return new AloftApiError({
      method: error.method,
      path: error.path,
      status: error.status,
      title: error.title,
      detail: `${error.detail ?? "unauthenticated"}; ${hint}`,
      errors: [...error.errors],
      ...(error.requestId !== undefined ? { requestId: error.requestId } : {}),
      ...(error.type !== undefined ? { type: error.type } : {}),
      attempts: error.attempts,
    });
  }

  private resolve(): Promise<Resolved> {
    this.resolved ??= this.resolveSettings();
    this.resolved.catch(() => {
      this.resolved = undefined;
    });
    return this.resolved;
  }

  private async resolveSettings(): Promise<Resolved> {
    const options = this.options;
    // With a URL given, a broken login file is irrelevant (it only matters if it names the same URL).
    const login = options.apiUrl !== undefined ? await loadLoginConfig().catch(() => undefined) : await loadLoginConfig();
    const { apiUrl, source } = await resolveApiUrl(options.apiUrl, login);
    // The login config's auth and region describe its own URL, not one given another way.
    const loginForUrl: LoginConfig | undefined = login && login.apiUrl.replace(/\/+$/, "") === apiUrl ? login : undefined;
    const aws = awsEndpointOf(apiUrl);
    const auth: AuthMode = options.auth ?? loginForUrl?.auth ?? (aws ? "iam" : "token");
    if (auth === "token") {
      const token = await resolveToken({
        ...(options.token !== undefined ? { token: options.token } : {}),
        ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      });
      return { apiUrl, apiUrlSource: source, auth, token: { ...(token.token !== undefined ? { value: token.token } : {}), source: token.source, file: token.file } };
    }
    const region = options.region ?? aws?.region ?? loginForUrl?.region ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION);
    if (!region) {
      throw new AloftError("INVALID_OPTIONS", `cannot sign requests to ${apiUrl}: no AWS region (pass region, set AWS_REGION, or run \`aloft login --api ${apiUrl} --region <region>\`)`);
    }
    const signer = sigV4Signer({ service: aws?.service ?? "execute-api", region, ...(options.credentials !== undefined ? { credentials: options.credentials } : {}) });
    return { apiUrl, apiUrlSource: source, auth, signer };
  }
}

function tokenSourceName(token: { source: SettingSource; file: string }): string {
  switch (token.source) {
    case "option":
      return "the token option";
    case "env":
      return "ALOFT_TOKEN";
    default:
      return `${token.file} (written by \`aloft server start\`; is this the same data dir?)`;
  }
}

function describeNetworkFailure(error: unknown, timeoutMs: number): string {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if ((current as { name?: unknown }).name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      const message = typeof (current as { message?: unknown }).message === "string" ? (current as Error).message : "";
      return message.includes(code) ? message : `${code}${message ? `: ${message}` : ""}`;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.message : String(error);
}
