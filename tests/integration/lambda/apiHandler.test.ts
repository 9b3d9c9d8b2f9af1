import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { LambdaContext, LambdaEvent } from "hono/aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDynamoDbClient } from "../../../lambdas/adapters/awsClients.js";
import { ensureTable } from "../../../lambdas/store/table.js";
import { startDynalite, type DynaliteServer } from "../../support/dynalite.js";

/**
 * The API Lambda's entry point, driven as API Gateway (HTTP API, payload format 2.0) drives it: with
 * the fixture events in tests/fixtures/apigw, over a dynalite table named by ALOFT_TABLE_NAME.
 */

type Handler = (event: LambdaEvent, context?: LambdaContext) => Promise<{ statusCode: number; headers?: Record<string, string>; body: string; isBase64Encoded: boolean }>;

interface FixtureEvent {
  rawPath: string;
  rawQueryString: string;
  headers: Record<string, string>;
  body?: string;
  isBase64Encoded: boolean;
  requestContext: { requestId: string; http: { method: string; path: string }; authorizer?: unknown };
}

let dynalite: DynaliteServer;
let handler: Handler;
const VARIABLES = ["ALOFT_TABLE_NAME", "ALOFT_AWS_ENDPOINT", "ALOFT_PAYLOAD_BUCKET"] as const;
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));

beforeAll(async () => {
  dynalite = await startDynalite();
  const tableName = `aloft-lambda-${randomUUID()}`;
  const client = makeDynamoDbClient({ endpoint: dynalite.endpoint });
  await ensureTable(client, tableName);
  client.destroy();
  process.env.ALOFT_TABLE_NAME = tableName;
  process.env.ALOFT_AWS_ENDPOINT = dynalite.endpoint;
  // Named only: the fixtures' values are small, so nothing is stored by reference.
  process.env.ALOFT_PAYLOAD_BUCKET = "aloft-payloads-test";
  // Imported only now: the handler builds its app from the environment on its first event.
  handler = (await import("../../../lambdas/handlers/api.js")).handler as unknown as Handler;
});

afterAll(async () => {
  for (const name of VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  await dynalite.close();
});

async function fixture(name: string): Promise<FixtureEvent> {
  return JSON.parse(await readFile(new URL(`../../fixtures/apigw/${name}.json`, import.meta.url), "utf8")) as FixtureEvent;
}

function lambdaContext(): LambdaContext {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: "aloft-api",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:aloft-api",
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: "/aws/lambda/aloft-api",
    logStreamName: "2026/11/02/[$LATEST]0123456789abcdef",
    getRemainingTimeInMillis: () => 29_000,
  };
}

async function invoke(event: FixtureEvent) {
  const result = await handler(event as unknown as LambdaEvent, lambdaContext());
  return { ...result, json: JSON.parse(result.body) as Record<string, unknown> };
}

describe("API Lambda handler (API Gateway HTTP API, payload 2.0)", () => {
  it("creates a flow run from a POST event: 201, a JSON body and its location", async () => {
    const result = await invoke(await fixture("create-flow-run"));
    expect(result.statusCode).toBe(201);
    expect(result.isBase64Encoded).toBe(false);
    expect(result.headers?.["content-type"]).toBe("application/json");
    expect(result.json).toMatchObject({ flowName: "etl", parameters: { day: "2026-11-01" }, tags: ["nightly"], state: { type: "SCHEDULED" } });
    expect(result.headers?.location).toBe(`/v1/flow-runs/${String(result.json.id)}`);
  });

  it("reads the run back with a GET event, and lists it with a query string", async () => {
    const created = await invoke(await fixture("create-flow-run"));
    const event = await fixture("get-flow-run");
    const path = event.rawPath.replace("{id}", String(created.json.id));
    const read = await invoke({ ...event, rawPath: path, requestContext: { ...event.requestContext, http: { ...event.requestContext.http, path } } });
    expect(read.statusCode).toBe(200);
    expect(read.json).toMatchObject({ id: created.json.id, flowName: "etl" });

    const listed = await invoke(await fixture("list-flow-runs"));
    expect(listed.statusCode).toBe(200);
    expect((listed.json.items as Array<{ id: string }>).map((run) => run.id)).toContain(created.json.id);
  });

  it("echoes API Gateway's request id in x-request-id", async () => {
    const event = await fixture("create-flow-run");
    const result = await invoke(event);
    expect(event.requestContext.requestId).toBe("JKJaXmPLvHcESHA=");
    expect(result.headers?.["x-request-id"]).toBe("JKJaXmPLvHcESHA=");
  });

  it("answers GET /health without an IAM caller", async () => {
    const event = await fixture("health");
    expect(event.requestContext.authorizer).toBeUndefined();
    const result = await invoke(event);
    expect(result.statusCode).toBe(200);
    expect(result.json).toEqual({ status: "ok", version: expect.any(String) });
  });

  it("answers 401 problem+json to an event that names no IAM caller", async () => {
    const event = await fixture("unauthenticated");
    expect(event.requestContext.authorizer).toBeUndefined();
    const result = await invoke(event);
    expect(result.statusCode).toBe(401);
    expect(result.headers?.["content-type"]).toBe("application/problem+json");
    expect(result.isBase64Encoded).toBe(false);
    expect(result.json).toMatchObject({ status: 401, title: "Authentication required" });
  });

  it("decodes a base64-encoded body", async () => {
    const event = await fixture("create-flow-run-base64");
    expect(event.isBase64Encoded).toBe(true);
    expect(() => JSON.parse(event.body!)).toThrow();
    const result = await invoke(event);
    expect(result.statusCode).toBe(201);
    expect(result.json).toMatchObject({ flowName: "étl-base64", tags: ["binary"] });
  });

  it("answers an invalid body with a 400 problem naming each field, carrying the request id", async () => {
    const result = await invoke(await fixture("invalid-body"));
    expect(result.statusCode).toBe(400);
    expect(result.headers?.["content-type"]).toBe("application/problem+json");
    expect(result.json).toMatchObject({ requestId: "JKJbVGbtjoEEJ6A=" });
    expect((result.json.errors as Array<{ field: string }>).map((error) => error.field).sort()).toEqual(["body.colour", "body.flowName"]);
  });

  it("answers an unknown route with 404 and a wrong method with 405", async () => {
    const event = await fixture("get-flow-run");
    const unknown = await invoke({ ...event, rawPath: "/v2/flow-runs", requestContext: { ...event.requestContext, http: { ...event.requestContext.http, path: "/v2/flow-runs" } } });
    expect(unknown.statusCode).toBe(404);
    const wrongMethod = await invoke({ ...event, rawPath: "/v1/flow-runs", requestContext: { ...event.requestContext, http: { ...event.requestContext.http, method: "DELETE", path: "/v1/flow-runs" } } });
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers?.allow).toBe("POST, GET");
  });
});

describe("API Lambda handler and reads with a body", () => {
  it("ignores a body sent with a GET instead of refusing the request", async () => {
    const event = await fixture("list-flow-runs");
    const result = await invoke({ ...event, body: "{\"unexpected\":true}", isBase64Encoded: false } as FixtureEvent);
    expect(result.statusCode).toBe(200);
    expect(result.json).toHaveProperty("items");
  });
});
