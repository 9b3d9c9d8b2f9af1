/**
 * AWS Signature Version 4 for requests to the API on AWS. The signer and the credential chain are
 * imported on first use, so a client talking to the local server never loads the AWS SDK.
 */
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import type { SignatureV4 } from "@smithy/signature-v4";

/**
 * AWS credentials, as the default credential chain resolves them.
 *
 * @example
 * ```ts
 * const credentials: AwsCredentials = { accessKeyId: "AKIA…", secretAccessKey: "…", sessionToken: "…" };
 * ```
 */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/**
 * Fixed credentials, or a function resolving them (called before each signature; cache inside it).
 *
 * @example
 * ```ts
 * const source: AwsCredentialSource = async () => ({ accessKeyId, secretAccessKey });
 * ```
 */
export type AwsCredentialSource = AwsCredentials | (() => Promise<AwsCredentials>);

/**
 * A request about to be sent, as a signer sees it.
 *
 * @example
 * ```ts
 * const request: OutgoingRequest = { method: "GET", url: new URL("https://api.example.com/v1/flow-runs"), headers: {} };
 * ```
 */
export interface OutgoingRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

/**
 * Returns the headers to send for a request (the given ones plus the signature's).
 *
 * @example
 * ```ts
 * const headers = await signer({ method: "GET", url, headers: { accept: "application/json" } });
 * ```
 */
export type RequestSigner = (request: OutgoingRequest) => Promise<Record<string, string>>;

/**
 * Options of {@link sigV4Signer}.
 *
 * @example
 * ```ts
 * const options: SigV4Options = { service: "execute-api", region: "eu-west-1" };
 * ```
 */
export interface SigV4Options {
  /** `execute-api` for API Gateway, `lambda` for a Lambda function URL. */
  service: string;
  region: string;
  /** Default: the AWS SDK's default credential chain (environment, SSO, profiles, container, instance). */
  credentials?: AwsCredentialSource;
  /** The signing time; the system clock by default. */
  now?: () => Date;
}

/**
 * A signer that adds `authorization`, `x-amz-date`, `x-amz-content-sha256` (the body's hash, so the
 * body cannot be swapped) and, for temporary credentials, `x-amz-security-token`.
 *
 * @example
 * ```ts
 * const sign = sigV4Signer({ service: "execute-api", region: "eu-west-1" });
 * const headers = await sign({ method: "POST", url, headers: { "content-type": "application/json" }, body });
 * await fetch(url, { method: "POST", headers, body });
 * ```
 */
export function sigV4Signer(options: SigV4Options): RequestSigner {
  let signer: Promise<SignatureV4> | undefined;
  const load = async (): Promise<SignatureV4> => {
    const [{ SignatureV4: Signer }, credentials] = await Promise.all([import("@smithy/signature-v4"), credentialProvider(options.credentials)]);
    return new Signer({ service: options.service, region: options.region, credentials, sha256: NodeSha256, applyChecksum: true });
  };
  return async (request) => {
    if (!signer) {
      signer = load();
      signer.catch(() => {
        signer = undefined;
      });
    }
    const signed = await (await signer).sign(httpRequestOf(request), { signingDate: options.now?.() ?? new Date() });
    const headers: Record<string, string> = {};
    // fetch sets Host itself (to the same value).
    for (const [name, value] of Object.entries(signed.headers)) if (name.toLowerCase() !== "host") headers[name] = value;
    return headers;
  };
}

async function credentialProvider(source: AwsCredentialSource | undefined): Promise<AwsCredentials | (() => Promise<AwsCredentials>)> {
  if (source !== undefined) return source;
  const { defaultProvider } = await import("@aws-sdk/credential-provider-node");
  return defaultProvider() as () => Promise<AwsCredentials>;
}

/** The shape `@smithy/signature-v4` signs: the raw (already encoded) path, the query as a bag, Host among the headers. */
function httpRequestOf(request: OutgoingRequest): Parameters<SignatureV4["sign"]>[0] {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of request.url.searchParams) {
    const existing = query[key];
    query[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return {
    method: request.method,
    protocol: request.url.protocol,
    hostname: request.url.hostname,
    ...(request.url.port ? { port: Number(request.url.port) } : {}),
    path: request.url.pathname,
    query,
    headers: { ...request.headers, host: request.url.host },
    ...(request.body !== undefined ? { body: request.body } : {}),
  };
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

/** SHA-256 (and HMAC-SHA-256 with a secret) from node:crypto, in the shape the signer expects. */
class NodeSha256 {
  private hash: Hash | Hmac;
  private readonly secret: SourceData | undefined;

  constructor(secret?: SourceData) {
    this.secret = secret;
    this.hash = NodeSha256.create(secret);
  }

  update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }

  reset(): void {
    this.hash = NodeSha256.create(this.secret);
  }

  private static create(secret: SourceData | undefined): Hash | Hmac {
    return secret === undefined ? createHash("sha256") : createHmac("sha256", bytesOf(secret));
  }
}

function bytesOf(data: SourceData): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}
