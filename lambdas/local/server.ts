import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import type { Server as HttpServer } from "node:http";
import { serve } from "@hono/node-server";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { AloftClient } from "../../sdk/api/client.js";
import { startWorker, type Worker } from "../../sdk/runner/worker.js";
import { awsClientConfig } from "../adapters/awsClients.js";
import { LocalPayloadStore } from "../adapters/localPayloadStore.js";
import { LocalProcessLauncher } from "../adapters/localProcessLauncher.js";
import { LocalStepFunctionsCallbacks } from "../adapters/localStepFunctionsCallbacks.js";
import { loadFlow } from "../../sdk/cli/loadFlow.js";
import { bearerToken } from "../http/auth.js";
import { createApi } from "../http/app.js";
import { serviceDeps } from "../services/context.js";
import { createServices } from "../services/index.js";
import { LocalStepFunctionRuns } from "../services/stepFunctionRuns.js";
import { LOCAL_POOL } from "../services/workPools.js";
import { CachingStore } from "../store/cachingStore.js";
import { DynamoDbStore } from "../store/dynamoDbStore.js";
import { convertRunDayPointers } from "../store/migrations.js";
import { ensureTable } from "../store/table.js";
import { startDynalite, unsignedInProcess, type DynaliteServer } from "./dynalite.js";
import { localLifecycle } from "./localLifecycle.js";
import { holdPrivateUmask, makePrivate, PRIVATE_DIR_MODE } from "./privateDataDir.js";
import { RUNNER_UMASK_VARIABLE } from "../../sdk/runner/runnerMessages.js";
import { isProcessAlive } from "./processAlive.js";

/** The local table's name. */
export const LOCAL_TABLE_NAME = "aloft";

/** Expired logs, cache entries and idempotency keys are swept this often (dynalite never expires items). */
export const SWEEP_INTERVAL_MS = 60_000;

/** Runner processes of the `local` pool when the options say nothing. */
export const DEFAULT_LOCAL_RUNNERS = 2;

/** How long `close()` lets requests in flight finish before it cuts their connections, when the options say nothing. */
export const DEFAULT_SHUTDOWN_GRACE_SECONDS = 10;

/** Options of the local server. */
export interface LocalServerOptions {
  /** Default 4200; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the API listens on loopback only. */
  host?: string;
  /** Where the database, the token and the server file live. Default `.aloft`. */
  dataDir?: string;
  /** Where unexpected API errors go; stderr as JSON lines by default. */
  logError?: Parameters<typeof createApi>[0]["logError"];
  /** How often runners beat and the monitor sweeps (seconds, fractions allowed); `ALOFT_HEARTBEAT_SECONDS` or 10. */
  heartbeatSeconds?: number;
  /** How long a cancelled run's runner has to stop before it is killed; `ALOFT_CANCEL_GRACE_SECONDS` or 30. */
  cancelGraceSeconds?: number;
  /** How long a claimed run may wait for its runner to start; `ALOFT_LAUNCH_TIMEOUT_SECONDS` or 300. */
  launchTimeoutSeconds?: number;
  /** Runner processes of the `local` pool's worker, run by the server itself; default {@link DEFAULT_LOCAL_RUNNERS}, 0 for none. */
  runners?: number;
  /** How long `close()` waits for requests in flight before it cuts them (seconds); `ALOFT_SHUTDOWN_GRACE_SECONDS` or {@link DEFAULT_SHUTDOWN_GRACE_SECONDS}. */
  shutdownGraceSeconds?: number;
}

/** A running local server. */
export interface LocalServer {
  url: string;
  dataDir: string;
  tokenFile: string;
  /** `<data dir>/webhook-secret`: the HMAC key webhook senders sign `POST /v1/webhooks/:name` with. */
  webhookSecretFile: string;
  /**
   * Stops within the grace period ({@link LocalServerOptions.shutdownGraceSeconds}, 10 s by default):
   * stops accepting connections, ends the workers' long-polling claims at once (they answer with no
   * runs), kills the runner processes (their runs are crashed, and retried, after the next start),
   * closes idle keep-alive connections, lets the requests in flight finish until the deadline and then
   * cuts their connections, and closes the database. Every write the API acknowledged is kept.
   */
  close(): Promise<void>;
}

/**
 * Starts the local control plane: dynalite on disk under `<data dir>/dynamodb`, the same services
 * and API the Lambda functions run, on http://127.0.0.1:4200, with a bearer token in
 * `<data dir>/token` (mode 0600; kept across restarts), a webhook signing key in
 * `<data dir>/webhook-secret` (likewise) and `<data dir>/server.json` naming the URL so clients find it.
 *
 * @example
 * ```ts
 * const server = await startLocalServer({ port: 0, dataDir: "/tmp/aloft" });
 * console.log(server.url);
 * await server.close();
 * ```
 */
export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  // The embedded emulator supports the Node versions Aloft supports; the AWS SDK's notice about its own
  // future Node floor is noise on a laptop.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const graceSeconds = options.shutdownGraceSeconds ?? shutdownGraceFrom(process.env);
  const configuredDataDir = options.dataDir ?? process.env.ALOFT_DATA_DIR ?? ".aloft";
  // resolve("") is the working directory: an empty setting names no data dir, and is refused.
  if (configuredDataDir.trim() === "") throw new Error(options.dataDir === undefined ? "ALOFT_DATA_DIR is set but empty: set it to a directory, or unset it to use .aloft in the working directory" : "the data dir is an empty string: name a directory");
  const dataDir = resolve(configuredDataDir);
  // Everything in the data dir is its owner's only (another local user could read the runs, their
  // parameters and the pool's environment): what exists is tightened, what the server creates is so.
  const umask = holdPrivateUmask();
  let lockHeld: () => Promise<void>;
  try {
    await mkdir(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    lockHeld = await lockDataDir(join(dataDir, "server.lock"));
  } catch (error) {
    umask.release();
    throw error;
  }
  const releaseLock = async () => {
    await lockHeld();
    umask.release();
  };
  try {
    await makePrivate(dataDir);
  } catch (error) {
    await releaseLock();
    throw new Error(`cannot make ${dataDir} private to its owner: ${(error as Error).message}`, { cause: error });
  }
  const token = await ensureToken(join(dataDir, "token"));
  const webhookSecret = await ensureToken(join(dataDir, "webhook-secret"));

  let database: DynaliteServer;
  try {
    database = await startDynalite({ path: join(dataDir, "dynamodb") });
  } catch (error) {
    await releaseLock();
    throw new Error(`cannot open the database in ${join(dataDir, "dynamodb")}: ${(error as Error).message}`, { cause: error });
  }
  // Requests go straight to dynalite's handler in this process: no socket, no HTTP parsing.
  const client = new DynamoDBClient({ ...awsClientConfig("dynamodb", { endpoint: database.endpoint }), ...unsignedInProcess(database.requestHandler) });
  await ensureTable(client, LOCAL_TABLE_NAME);
  // A data dir written before the sharded "all runs" pointers: convert its run-day pointers, once.
  await convertRunDayPointers(client, LOCAL_TABLE_NAME);
  // This process is the table's only writer (the data dir is locked), so runs can be cached safely.
  const store = new CachingStore(new DynamoDbStore({ client, tableName: LOCAL_TABLE_NAME }));
  const payloads = new LocalPayloadStore(join(dataDir, "payloads"));
  const deps = serviceDeps(store, payloads, { stepFunctionsCallbacks: new LocalStepFunctionsCallbacks() });
  const lifecycle = localLifecycle(store, deps.now, options);
  // Runs of "step-functions" deployments execute their compiled state machine in this process.
  let stepFunctionRuns: LocalStepFunctionRuns | undefined;
  deps.onDeploymentRunCreated = (run, deployment) =>
    deployment.engine === "step-functions" && stepFunctionRuns ? stepFunctionRuns.start(run, deployment) : lifecycle.enqueue(run, deployment);
  // A user's retry or resume of a durable deployment run queues it again at once (the monitor's Late sweep would, 15 s later);
  // a retried step-functions run executes again.
  deps.onRunRescheduled = async (run) => {
    const deployment = run.deploymentId === undefined ? undefined : await store.getDeploymentById(run.deploymentId);
    return deployment?.engine === "step-functions" && stepFunctionRuns ? stepFunctionRuns.start(run, deployment) : lifecycle.enqueue(run);
  };
  const services = createServices(deps);
  stepFunctionRuns = new LocalStepFunctionRuns({
    services,
    payloads,
    now: deps.now,
    loadFlow: async (entrypoint, flowName) => (await loadFlow(entrypoint, process.cwd(), { flowName })).flow,
  });
  await services.workPools.ensure({ name: LOCAL_POOL, type: "local", description: "runs flows as processes on this machine (made by aloft server start)" });
  const workerClaims = lifecycle.start(services);
  const app = createApi({ services, auth: bearerToken(token), webhookSecret: () => Promise.resolve(webhookSecret), workerClaims, ...(options.logError ? { logError: options.logError } : {}) });

  const host = options.host ?? "127.0.0.1";
  const http = await listen(app.fetch, options.port ?? 4200, host);
  const { port } = http.address() as AddressInfo;
  const url = `http://${host === "127.0.0.1" || host === "::1" || host === "0.0.0.0" ? "localhost" : host}:${port}`;
  const serverFile = join(dataDir, "server.json");
  await writeFile(serverFile, `${JSON.stringify({ url, pid: process.pid, startedAt: new Date().toISOString() })}\n`, { mode: 0o600 });

  const sweep = setInterval(() => {
    store.sweepExpired(new Date()).catch((error: unknown) => process.stderr.write(`aloft: TTL sweep failed: ${(error as Error).message}\n`));
  }, SWEEP_INTERVAL_MS);
  sweep.unref();

  // The `local` pool's worker: claims its runs over the API and runs them in warm runner processes.
  const runners = options.runners ?? DEFAULT_LOCAL_RUNNERS;
  let localWorker: { launcher: LocalProcessLauncher; worker: Worker } | undefined;
  if (runners > 0) {
    const apiUrl = host === "127.0.0.1" || host === "0.0.0.0" ? `http://127.0.0.1:${port}` : url;
    // The pool's job settings as they are at start: its environment for the runners, its timeout per run.
    const { jobSettings } = await services.workPools.get(LOCAL_POOL);
    const env = {
      ...process.env,
      ...jobSettings.environment,
      ALOFT_API_URL: apiUrl,
      ALOFT_TOKEN: token,
      ALOFT_HEARTBEAT_SECONDS: String(lifecycle.timings.heartbeatSeconds),
      // The flows' own files get the user's umask, not the server's private one.
      ...(umask.ownersUmask === undefined ? {} : { [RUNNER_UMASK_VARIABLE]: umask.ownersUmask.toString(8) }),
    };
    const launcher = new LocalProcessLauncher({ size: runners, env });
    lifecycle.stopRunnersWith(launcher);
    const worker = startWorker({
      pool: LOCAL_POOL,
      runners: launcher,
      client: new AloftClient({ apiUrl, token }),
      workerId: `aloft-server:${process.pid}`,
      ...(jobSettings.timeout === undefined ? {} : { jobTimeoutSeconds: jobSettings.timeout }),
    });
    localWorker = { launcher, worker };
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    dataDir,
    tokenFile: join(dataDir, "token"),
    webhookSecretFile: join(dataDir, "webhook-secret"),
    close: () =>
      (closing ??= (async () => {
        const deadline = Date.now() + graceSeconds * 1000;
        const untilDeadline = <T>(work: Promise<T> | undefined) => withDeadline(work, deadline);
        clearInterval(sweep);
        // No new connections; the claims in progress answer now (every worker's long poll, this server's own included).
        const httpClosed = new Promise<void>((done) => http.close(() => done()));
        const lifecycleClosed = lifecycle.close();
        // Stop claiming and kill the runners: their runs are crashed (and retried) after the next start.
        const workerStopped = localWorker?.worker.stop();
        await untilDeadline(localWorker?.launcher.close({ kill: true }));
        await untilDeadline(Promise.all([lifecycleClosed, workerStopped]));
        // Requests still running finish until the deadline; a connection idle between requests (keep-alive) is closed meanwhile.
        const idle = setInterval(() => http.closeIdleConnections(), 50);
        http.closeIdleConnections();
        const finished = await untilDeadline(httpClosed.then(() => true));
        clearInterval(idle);
        if (finished !== true) {
          http.closeAllConnections();
          await httpClosed;
        }
        client.destroy();
        await database.close();
        await rm(serverFile, { force: true });
        await releaseLock();
      })()),
  };
}

/**
 * Takes the data dir for this process: a lock file holding our pid, created exclusively. A lock left
 * by a process that no longer exists (killed) is taken over; one held by a live process is refused.
 */
async function lockDataDir(file: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number((await readFile(file, "utf8").catch(() => "")).trim());
      if (Number.isInteger(holder) && holder > 0 && isProcessAlive(holder)) {
        throw new Error(`another aloft server (pid ${holder}) is using ${dirname(file)}; stop it or pass another --data`);
      }
      await rm(file, { force: true });
    }
  }
  throw new Error(`cannot lock ${file}`);
}


/** Reads a secret file (the token, the webhook key), or creates it with a new random value (mode 0600). */
async function ensureToken(file: string): Promise<string> {
  try {
    const existing = (await readFile(file, "utf8")).trim();
    if (existing) return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const token = randomBytes(32).toString("base64url");
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** `ALOFT_SHUTDOWN_GRACE_SECONDS`, else {@link DEFAULT_SHUTDOWN_GRACE_SECONDS}; throws naming the variable when it is not a positive number. */
function shutdownGraceFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.ALOFT_SHUTDOWN_GRACE_SECONDS?.trim();
  if (raw === undefined || raw === "") return DEFAULT_SHUTDOWN_GRACE_SECONDS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`ALOFT_SHUTDOWN_GRACE_SECONDS must be a positive number of seconds, not "${raw.slice(0, 40)}"`);
  return seconds;
}

/** The work's result, or undefined once the deadline (epoch ms) has passed. */
async function withDeadline<T>(work: Promise<T> | undefined, deadline: number): Promise<T | undefined> {
  if (work === undefined) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function listen(fetch: (request: Request) => Response | Promise<Response>, port: number, hostname: string): Promise<HttpServer> {
  return new Promise((resolveListen, reject) => {
    const server = serve({ fetch, port, hostname }, () => resolveListen(server as never));
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "EADDRINUSE" ? new Error(`port ${port} is in use on ${hostname}: stop what holds it or pass --port`) : error),
    );
  });
}
