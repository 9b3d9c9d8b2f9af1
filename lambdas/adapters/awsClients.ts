import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { awsSdk } from "./awsSdk.js";

// Every function reads and writes the table on every invocation: the DynamoDB SDK loads with the module.
const dynamoDb = awsSdk("@aws-sdk/client-dynamodb");
const dynamoDbDocuments = awsSdk("@aws-sdk/lib-dynamodb");

/** Where and as whom an AWS client talks; every field is optional and has a default. */
export interface AwsClientOptions {
  /** Overrides the service endpoint (dynalite, moto, …). Defaults to the environment's overrides, then AWS. */
  endpoint?: string;
  /** Defaults to `AWS_REGION`, then `AWS_DEFAULT_REGION`, then `us-east-1`. */
  region?: string;
}

/** The part of an SDK v3 client configuration this factory decides. */
export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

const LOCAL_CREDENTIALS = { accessKeyId: "aloft-local", secretAccessKey: "aloft-local" } as const;
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1", "0.0.0.0", "host.docker.internal"]);

/**
 * The endpoint override for a service, from the options or the environment, in this order:
 * `options.endpoint`, `ALOFT_AWS_ENDPOINT`, `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`.
 * Undefined means the real AWS endpoint.
 *
 * @example
 * ```ts
 * resolveAwsEndpoint("dynamodb", {}, { ALOFT_AWS_ENDPOINT: "http://127.0.0.1:4567" }); // "http://127.0.0.1:4567"
 * ```
 */
export function resolveAwsEndpoint(
  service: string,
  options: AwsClientOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const serviceVariable = `AWS_ENDPOINT_URL_${service.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
  const candidates = [options.endpoint, env.ALOFT_AWS_ENDPOINT, env[serviceVariable], env.AWS_ENDPOINT_URL];
  const endpoint = candidates.find((value) => value !== undefined && value.trim() !== "");
  if (endpoint === undefined) return undefined;
  let protocol: string | undefined;
  try {
    protocol = new URL(endpoint).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== "http:" && protocol !== "https:") {
    throw new Error(`AWS endpoint for ${service} is not an http(s) URL: "${endpoint}"`);
  }
  return endpoint;
}

/**
 * Whether an endpoint is an emulator on this machine (then the client signs with dummy credentials).
 *
 * @example
 * ```ts
 * isLocalEndpoint("http://127.0.0.1:8000"); // true
 * ```
 */
export function isLocalEndpoint(endpoint: string): boolean {
  return LOCAL_HOSTS.has(new URL(endpoint).hostname);
}

/**
 * The region, endpoint and credentials for one service's client. Local endpoints get static dummy
 * credentials so that no AWS profile is needed to talk to an emulator; anything else uses the SDK's
 * default credential chain.
 *
 * @example
 * ```ts
 * const s3 = new S3Client(awsClientConfig("s3", { endpoint: "http://127.0.0.1:5000" }));
 * ```
 */
export function awsClientConfig(
  service: string,
  options: AwsClientOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): AwsClientConfig {
  const region = options.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? "us-east-1";
  const endpoint = resolveAwsEndpoint(service, options, env);
  if (endpoint === undefined) return { region };
  return isLocalEndpoint(endpoint) ? { region, endpoint, credentials: { ...LOCAL_CREDENTIALS } } : { region, endpoint };
}

/**
 * The configuration of an S3 client: {@link awsClientConfig}, with path-style addressing when an
 * endpoint is overridden (emulators serve no bucket subdomains).
 *
 * @example
 * ```ts
 * s3ClientConfig({ endpoint: "http://127.0.0.1:5000" }).forcePathStyle; // true
 * ```
 */
export function s3ClientConfig(options: AwsClientOptions = {}, env: NodeJS.ProcessEnv = process.env): AwsClientConfig & { forcePathStyle: boolean } {
  const config = awsClientConfig("s3", options, env);
  return { ...config, forcePathStyle: config.endpoint !== undefined };
}

/**
 * A DynamoDB client, pointed at `options.endpoint` or the environment's override when one is set.
 *
 * @example
 * ```ts
 * const client = makeDynamoDbClient({ endpoint: "http://127.0.0.1:4567" });
 * ```
 */
export function makeDynamoDbClient(options: AwsClientOptions = {}): DynamoDBClient {
  return new dynamoDb.DynamoDBClient(awsClientConfig("dynamodb", options));
}

/**
 * A DynamoDB document client (plain JavaScript values in and out) over `makeDynamoDbClient`.
 * Undefined values are dropped from items, as JSON would drop them.
 *
 * @example
 * ```ts
 * const documents = makeDynamoDbDocumentClient(makeDynamoDbClient());
 * ```
 */
export function makeDynamoDbDocumentClient(client: DynamoDBClient = makeDynamoDbClient()): DynamoDBDocumentClient {
  return dynamoDbDocuments.DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
    unmarshallOptions: { wrapNumbers: false },
  });
}

/**
 * An SDK client, or a function that makes one (at once or asynchronously) when it is first needed.
 * Adapters take either: tests hand them a client made against an emulator; Lambda handlers hand them
 * a factory, so that a client's SDK module is loaded only by the invocations that use it.
 *
 * @example
 * ```ts
 * const eager: ClientSource<S3Client> = new S3Client({ region: "eu-west-1" });
 * const lazy: ClientSource<S3Client> = () => loadS3Client();
 * ```
 */
export type ClientSource<C extends object> = C | (() => C | Promise<C>);

/**
 * Resolves a {@link ClientSource} on demand: the factory runs on the first call and its client is
 * reused by every later one. A factory that fails is run again by the next call.
 *
 * @example
 * ```ts
 * const s3 = lazyClient(() => loadS3Client());
 * await (await s3()).send(new GetObjectCommand({ Bucket, Key }));
 * ```
 */
export function lazyClient<C extends object>(source: ClientSource<C>): () => Promise<C> {
  if (typeof source !== "function") {
    const ready = Promise.resolve(source as C);
    return () => ready;
  }
  const make = source as () => C | Promise<C>;
  let pending: Promise<C> | undefined;
  return () => {
    pending ??= Promise.resolve()
      .then(make)
      .catch((error: unknown) => {
        pending = undefined;
        throw error;
      });
    return pending;
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
