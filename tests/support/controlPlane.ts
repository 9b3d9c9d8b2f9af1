import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import type { Hono } from "hono";
import { makeDynamoDbClient } from "../../lambdas/adapters/awsClients.js";
import { LocalStepFunctionsCallbacks } from "../../lambdas/adapters/localStepFunctionsCallbacks.js";
import { bearerToken } from "../../lambdas/http/auth.js";
import { createApi } from "../../lambdas/http/app.js";
import { serviceDeps } from "../../lambdas/services/context.js";
import { createServices, type Services } from "../../lambdas/services/index.js";
import type { PayloadStore } from "../../lambdas/services/payloads.js";
import { DynamoDbStore } from "../../lambdas/store/dynamoDbStore.js";
import { ensureTable } from "../../lambdas/store/table.js";
import { countCommands, type CommandLog } from "./countingDynamoDb.js";
import { startDynalite } from "./dynalite.js";

/** The API app over a fresh dynalite table, with a bearer token, for in-process requests. */
export interface TestControlPlane {
  app: Hono;
  store: DynamoDbStore;
  services: Services;
  token: string;
  /** The key `POST /v1/webhooks/:name` checks signatures with. */
  webhookSecret: string;
  /** The DynamoDB commands the store has sent (to check the bounds of docs/data-model.md). */
  commands: CommandLog;
  /** `app.request` with the token and JSON body. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  dispose(): Promise<void>;
}

/**
 * Starts dynalite, creates a table and composes the API over it.
 *
 * @example
 * ```ts
 * const cp = await startTestControlPlane();
 * const response = await cp.call("POST", "/v1/flow-runs", { flowName: "etl" });
 * ```
 */
export async function startTestControlPlane(options: { now?: () => number; payloads?: PayloadStore } = {}): Promise<TestControlPlane> {
  const server = await startDynalite();
  const client = makeDynamoDbClient({ endpoint: server.endpoint });
  const tableName = `aloft-${randomUUID()}`;
  await ensureTable(client, tableName);
  const store = new DynamoDbStore({ client, tableName });
  const commands = countCommands(client);
  // Approvals of Step Functions runs executed in the test's process (runStateMachineLocally) are completed in process.
  const deps = serviceDeps(store, options.payloads, { stepFunctionsCallbacks: new LocalStepFunctionsCallbacks() });
  if (options.now) deps.now = options.now;
  const services = createServices(deps);
  const token = randomUUID();
  const webhookSecret = randomUUID();
  const app = createApi({ services, auth: bearerToken(token), now: deps.now, logError: () => {}, webhookSecret: () => Promise.resolve(webhookSecret) });
  return {
    app,
    store,
    services,
    token,
    webhookSecret,
    commands,
    call: (method, path, body, headers = {}) =>
      Promise.resolve(
        app.request(path, {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
          ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
        }),
      ),
    dispose: async () => {
      client.destroy();
      await server.close();
    },
  };
}

/**
 * The JSON body of a response, after checking its status (the failure message shows the body, so a
 * 500 names its problem).
 *
 * @example
 * ```ts
 * const run = await bodyOf<FlowRunDto>(await cp.call("GET", `/v1/flow-runs/${id}`), 200);
 * ```
 */
export async function bodyOf<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return (text === "" ? undefined : JSON.parse(text)) as T;
}
