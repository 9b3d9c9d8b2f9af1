import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import dynalite from "dynalite";
import { closeDynaliteIterators } from "./dynaliteIterators.js";

/** A dynalite server running in this process. */
export interface DynaliteServer {
  /** `http://127.0.0.1:<port>`, for `makeDynamoDbClient({ endpoint })`. */
  endpoint: string;
  /**
   * An AWS SDK request handler that hands each request straight to dynalite's handler in this
   * process, with no socket or HTTP parsing in between (the local server's hot path).
   */
  requestHandler: InProcessRequestHandler;
  /** Stops the server (and closes its LevelDB store when it has a path). */
  close(): Promise<void>;
}

/**
 * Starts dynalite in this process on a free port of 127.0.0.1, with tables ACTIVE at once.
 * In memory unless `path` names a folder for its LevelDB files.
 *
 * @example
 * ```ts
 * const server = await startDynalite();
 * const client = makeDynamoDbClient({ endpoint: server.endpoint });
 * // …
 * client.destroy();
 * await server.close();
 * ```
 */
export async function startDynalite(options: { path?: string } = {}): Promise<DynaliteServer> {
  // dynalite 4.0.0 never closes the LevelDB iterators of its queries: without this, memory grows with every query.
  closeDynaliteIterators();
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path === undefined ? {} : { path: options.path }) });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const listener = server.listeners("request")[0] as (request: IncomingMessage, response: ServerResponse) => void;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requestHandler: new InProcessRequestHandler(listener),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

const LOCAL_AUTHORIZATION = "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=local";

/**
 * SDK client settings that skip SigV4 signing, for a client whose requests never leave this process
 * (they go through an {@link InProcessRequestHandler}).
 *
 * @example
 * ```ts
 * new DynamoDBClient({ ...config, ...unsignedInProcess(database.requestHandler) });
 * ```
 */
export function unsignedInProcess(requestHandler: InProcessRequestHandler) {
  return {
    requestHandler: requestHandler as never,
    httpAuthSchemes: [
      {
        schemeId: "aws.auth#sigv4",
        identityProvider: (config: { getIdentityProvider(id: string): unknown }) => config.getIdentityProvider("aws.auth#sigv4"),
        signer: { sign: async <R>(request: R) => request },
      },
    ] as never,
  };
}

type SdkRequest = { method: string; path: string; query?: Record<string, string | string[] | null>; headers: Record<string, string>; body?: unknown };
type SdkResponse = { statusCode: number; reason?: string; headers: Record<string, string>; body: Uint8Array };

/**
 * Serves AWS SDK requests by calling an HTTP request listener directly: the request becomes a minimal
 * `IncomingMessage` (headers, method, url, one data event), the answer is collected from a minimal
 * `ServerResponse`. Only what dynalite's handler uses is implemented.
 *
 * @example
 * ```ts
 * const client = new DynamoDBClient({ ...config, requestHandler: database.requestHandler });
 * ```
 */
export class InProcessRequestHandler {
  readonly metadata = { handlerProtocol: "http/1.1" };

  constructor(private readonly listener: (request: IncomingMessage, response: ServerResponse) => void) {}

  /** Like the SDK's HTTP handlers, rejects with an AbortError once `abortSignal` aborts (dynalite finishes the request unread). */
  handle(request: SdkRequest, options: { abortSignal?: AbortSignal } = {}): Promise<{ response: SdkResponse }> {
    const { abortSignal } = options;
    if (abortSignal?.aborted) return Promise.reject(abortError(abortSignal));
    const answer = this.answer(request);
    if (abortSignal === undefined) return answer;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(abortError(abortSignal));
      abortSignal.addEventListener("abort", onAbort, { once: true });
      answer.then(resolve, reject).finally(() => abortSignal.removeEventListener("abort", onAbort));
    });
  }

  private answer(request: SdkRequest): Promise<{ response: SdkResponse }> {
    return new Promise((resolve, reject) => {
      const incoming = new EventEmitter() as EventEmitter & { headers: Record<string, string>; method: string; url: string };
      incoming.headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]));
      // dynalite checks that a request looks signed, never the signature: the local client skips signing.
      incoming.headers.authorization ??= LOCAL_AUTHORIZATION;
      incoming.headers["x-amz-date"] ??= "20260101T000000Z";
      incoming.method = request.method;
      incoming.url = request.path + queryString(request.query);
      const headers: Record<string, string> = {};
      const response = {
        statusCode: 200,
        contentType: undefined as string | undefined,
        setHeader(name: string, value: string | number) {
          headers[name.toLowerCase()] = String(value);
        },
        end(body?: string | Buffer) {
          const bytes = body === undefined ? new Uint8Array() : typeof body === "string" ? Buffer.from(body, "utf8") : body;
          resolve({ response: { statusCode: response.statusCode, headers, body: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) } });
        },
      };
      try {
        this.listener(incoming as unknown as IncomingMessage, response as unknown as ServerResponse);
        const body = request.body;
        if (body !== undefined && body !== null && body !== "") incoming.emit("data", bodyBytes(body));
        incoming.emit("end");
      } catch (error) {
        reject(error);
      }
    });
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {}
}

function abortError(signal: AbortSignal): Error {
  const error = new Error(signal.reason instanceof Error ? signal.reason.message : "Request aborted", { cause: signal.reason });
  error.name = "AbortError";
  return error;
}

function queryString(query: SdkRequest["query"]): string {
  const entries = Object.entries(query ?? {}).flatMap(([key, value]) =>
    value === null || value === undefined ? [key] : (Array.isArray(value) ? value : [value]).map((item) => `${key}=${encodeURIComponent(item)}`),
  );
  return entries.length > 0 ? `?${entries.join("&")}` : "";
}

/**
 * A request body as a Buffer over the same bytes. The SDK's JSON bodies are a Uint8Array subclass
 * whose `valueOf()` turns them into a string, with a deprecation warning on stderr:
 * `Buffer.from(body)` calls `valueOf()`, a view over the body's memory does not.
 */
function bodyBytes(body: unknown): Buffer {
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError(`the in-process DynamoDB handler cannot send a ${Object.prototype.toString.call(body)} body`);
}
