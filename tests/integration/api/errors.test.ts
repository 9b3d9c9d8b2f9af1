import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDynamoDbClient } from "../../../lambdas/adapters/awsClients.js";
import { bearerToken } from "../../../lambdas/http/auth.js";
import { createApi, MAX_BODY_BYTES } from "../../../lambdas/http/app.js";
import { serviceDeps } from "../../../lambdas/services/context.js";
import { createServices } from "../../../lambdas/services/index.js";
import { DynamoDbStore } from "../../../lambdas/store/dynamoDbStore.js";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";
import { startDynalite, type DynaliteServer } from "../../support/dynalite.js";

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  requestId?: string;
  errors?: Array<{ field: string; message: string }>;
}

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => cp.dispose());

/** Asserts an RFC 9457 problem with this status and returns it. */
async function problemOf(response: Response, status: number): Promise<ProblemBody> {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const body = (await response.json()) as ProblemBody;
  expect(body).toMatchObject({ status, type: expect.stringMatching(/^https:\/\//), title: expect.any(String) });
  return body;
}

function fieldsOf(problem: ProblemBody): string[] {
  return (problem.errors ?? []).map((error) => error.field);
}

describe("authentication", () => {
  it("answers 401 with a Bearer challenge when the credential is missing", async () => {
    const response = await cp.app.request("/v1/flow-runs");
    const problem = await problemOf(response, 401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="aloft"');
    expect(problem.detail).toContain("Authorization: Bearer");
  });

  it("answers 401 to a wrong token, a malformed header and another scheme", async () => {
    for (const authorization of [`Bearer ${randomUUID()}`, `Bearer ${cp.token}x`, "Bearer", `Basic ${cp.token}`, cp.token]) {
      await problemOf(await cp.app.request("/v1/flow-runs", { headers: { authorization } }), 401);
    }
  });

  it("does not run the handler of an unauthenticated write", async () => {
    const name = `unauthenticated-${randomUUID()}`;
    const response = await cp.app.request("/v1/flow-runs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ flowName: name }) });
    await problemOf(response, 401);
    const listed = (await (await cp.call("GET", `/v1/flow-runs?flow=${name}`)).json()) as { items: unknown[] };
    expect(listed.items).toEqual([]);
  });

  it("authenticates HEAD requests, which hono serves with the GET handler", async () => {
    const run = (await (await cp.call("POST", "/v1/flow-runs", { flowName: "etl" })).json()) as { id: string };
    expect((await cp.app.request(`/v1/flow-runs/${run.id}`, { method: "HEAD" })).status).toBe(401);
    expect((await cp.call("HEAD", `/v1/flow-runs/${run.id}`)).status).toBe(200);
  });

  it("serves GET /health without credentials", async () => {
    const response = await cp.app.request("/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", version: expect.any(String) });
  });

  it("accepts the token case-insensitively in the scheme and with surrounding space", async () => {
    expect((await cp.app.request("/v1/flow-runs", { headers: { authorization: `bearer   ${cp.token}` } })).status).toBe(200);
  });
});

describe("unknown routes, ids and methods", () => {
  it("answers 404 naming the method and path of an unknown route", async () => {
    const problem = await problemOf(await cp.call("GET", "/v1/flow-runz"), 404);
    expect(problem).toMatchObject({ detail: "no route for GET /v1/flow-runz", instance: "/v1/flow-runz" });
  });

  it("answers 404 for a trailing slash rather than claiming the method is not allowed", async () => {
    await problemOf(await cp.call("GET", "/v1/flow-runs/"), 404);
  });

  it.each([
    ["flow run", "/v1/flow-runs/no-such-run", "flow run no-such-run does not exist"],
    ["task run", "/v1/task-runs/no-such-task", "task run no-such-task does not exist"],
    ["deployment", "/v1/deployments/no-such-deployment", "deployment no-such-deployment does not exist"],
    ["concurrency limit", "/v1/concurrency-limits/no-such-tag", "concurrency limit no-such-tag does not exist"],
  ])("answers 404 with a detail naming the unknown %s", async (_, path, detail) => {
    const problem = await problemOf(await cp.call("GET", path), 404);
    expect(problem.detail).toBe(detail);
    expect(problem.requestId).toEqual(expect.any(String));
  });

  it("answers 404 for the sub-resources of an unknown flow run", async () => {
    for (const path of ["/v1/flow-runs/ghost/logs", "/v1/flow-runs/ghost/history", "/v1/flow-runs/ghost/journal"]) {
      expect((await problemOf(await cp.call("GET", path), 404)).detail).toBe("flow run ghost does not exist");
    }
    expect((await problemOf(await cp.call("POST", "/v1/flow-runs/ghost/state", { state: { type: "RUNNING" } }), 404)).detail).toBe("flow run ghost does not exist");
  });

  it("answers 405 with an Allow header listing the methods the path has", async () => {
    const collection = await cp.call("DELETE", "/v1/flow-runs");
    const problem = await problemOf(collection, 405);
    expect(collection.headers.get("allow")?.split(", ").sort()).toEqual(["GET", "POST"]);
    expect(problem.detail).toContain("DELETE is not allowed here");

    const item = await cp.call("POST", "/v1/deployments/nightly");
    await problemOf(item, 405);
    expect(item.headers.get("allow")?.split(", ").sort()).toEqual(["DELETE", "GET", "PATCH"]);

    const lease = await cp.call("GET", "/v1/concurrency-limits/db/leases/lease-1");
    await problemOf(lease, 405);
    expect(lease.headers.get("allow")).toBe("DELETE");
  });
});

describe("request bodies", () => {
  it("answers 413 to a body over 1 MB before parsing it", async () => {
    const big = JSON.stringify({ flowName: "etl", parameters: { blob: "x".repeat(1_100_000) } });
    expect(big.length).toBeGreaterThan(MAX_BODY_BYTES);
    const problem = await problemOf(await cp.call("POST", "/v1/flow-runs", big), 413);
    expect(problem.detail).toBe(`the body is larger than ${MAX_BODY_BYTES} bytes`);
  });

  it("answers 400 naming the body when it is not valid JSON", async () => {
    const problem = await problemOf(await cp.call("POST", "/v1/flow-runs", '{"flowName": "etl",'), 400);
    expect(problem.detail).toBe("the body is not valid JSON");
    expect(problem.errors).toEqual([{ field: "body", message: "not valid JSON" }]);
  });

  it("answers 400 when the JSON body is not an object", async () => {
    for (const text of ["[]", "null", "42", '"etl"']) {
      expect(fieldsOf(await problemOf(await cp.call("POST", "/v1/flow-runs", text), 400))).toEqual(["body"]);
    }
  });

  it("lists every invalid field with its exact path, and names unknown fields", async () => {
    const problem = await problemOf(
      await cp.call("POST", "/v1/flow-runs", { flowName: 7, tags: ["nightly", 42, "x".repeat(65)], scheduledTime: "tomorrow", priority: 1, owner: "me" }),
      400,
    );
    expect(fieldsOf(problem).sort()).toEqual(["body.flowName", "body.owner", "body.priority", "body.scheduledTime", "body.tags[1]", "body.tags[2]"]);
    expect(problem.detail).toBe("6 invalid fields");
    expect(problem.errors?.find((error) => error.field === "body.owner")?.message).toBe("unknown field");
  });

  it("names nested fields by their path inside arrays", async () => {
    const problem = await problemOf(
      await cp.call("POST", "/v1/logs", { logs: [{ flowRunId: "r1", timestamp: new Date().toISOString(), level: "info", message: "ok" }, { flowRunId: "r1", timestamp: "now", level: "loud", message: "x" }] }),
      400,
    );
    expect(fieldsOf(problem).sort()).toEqual(["body.logs[1].level", "body.logs[1].timestamp"]);
    const nested = await problemOf(await cp.call("POST", "/v1/flow-runs/any/state", { state: { type: "RUNNING", colour: "red" }, force: "yes" }), 400);
    expect(fieldsOf(nested).sort()).toEqual(["body.force", "body.state.colour"]);
  });

  it("names a missing required field", async () => {
    const problem = await problemOf(await cp.call("POST", "/v1/task-runs", { taskName: "extract" }), 400);
    expect(fieldsOf(problem)).toEqual(["body.flowRunId"]);
  });
});

describe("limits of what the store can hold", () => {
  it("answers 413 naming the item when a value would make an item over the store's limit", async () => {
    // Services with no payload store keep every value inline, so a large one meets the item limit.
    const app = createApi({ services: createServices(serviceDeps(cp.store)), auth: bearerToken(cp.token), logError: () => {} });
    const call = (method: string, path: string, body: unknown) => app.request(path, { method, headers: { authorization: `Bearer ${cp.token}` }, body: JSON.stringify(body) });
    const big = "x".repeat(600_000);
    const create = await problemOf(await call("POST", "/v1/flow-runs", { flowName: "etl", parameters: { big } }), 413);
    expect(create.detail).toMatch(/^flow run \S+ is \d+ bytes, over the 358400-byte item limit; store large values/);
    const run = (await (await call("POST", "/v1/flow-runs", { flowName: "etl" })).json()) as { id: string };
    const journal = await problemOf(await call("PUT", `/v1/flow-runs/${run.id}/journal/k1`, { value: big }), 413);
    expect(journal.detail).toContain(`journal entry ${run.id}/k1`);
    await problemOf(await call("POST", "/v1/artifacts", { key: "report", type: "markdown", data: big, flowRunId: run.id }), 413);
    const log = { flowRunId: run.id, timestamp: new Date().toISOString(), level: "info", message: "loaded", fields: { big } };
    await problemOf(await call("POST", "/v1/logs", { logs: [log] }), 413);
  });

  it("refuses a value nested deeper than 64 levels, naming its field, and keeps one of 64 levels whole", async () => {
    const deep = `{"flowName":"etl","parameters":{"a":${"[".repeat(64)}${"]".repeat(64)}}}`;
    const problem = await problemOf(await cp.call("POST", "/v1/flow-runs", deep), 400);
    expect(problem.errors).toEqual([
      { field: "body.parameters", message: `not a JSON value nested at most 64 levels: $.a${"[0]".repeat(63)} is a value nested deeper than 64 levels` },
    ]);
    const absurd = `{"flowName":"etl","parameters":{"a":${"[".repeat(200_000)}${"]".repeat(200_000)}}}`;
    expect(fieldsOf(await problemOf(await cp.call("POST", "/v1/flow-runs", absurd), 400))).toEqual(["body.parameters"]);
    const parameters = { a: JSON.parse(`${"[".repeat(63)}${"]".repeat(63)}`) as unknown };
    const response = await cp.call("POST", "/v1/flow-runs", { flowName: "etl", parameters });
    expect(response.status).toBe(201);
    expect(((await response.json()) as { parameters: unknown }).parameters).toEqual(parameters);
  });

  it("keeps every JSON number exactly, however small or large", async () => {
    const stored = { tiny: 5e-324, small: 1e-100, large: Number.MAX_SAFE_INTEGER + 2, huge: 1e308, negative: -1e20, zero: 0, fraction: 0.1 + 0.2 };
    const response = await cp.call("POST", "/v1/flow-runs", { flowName: "etl", parameters: stored });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    const read = (await (await cp.call("GET", `/v1/flow-runs/${id}`)).json()) as { parameters: unknown };
    expect(read.parameters).toEqual(stored);
  });

  it("refuses path parameters longer than the ids they address, naming them", async () => {
    expect(fieldsOf(await problemOf(await cp.call("GET", `/v1/flow-runs/${"r".repeat(3_000)}`), 400))).toEqual(["path.id"]);
    expect(fieldsOf(await problemOf(await cp.call("PUT", `/v1/concurrency-limits/${"t".repeat(65)}`, { limit: 1 }), 400))).toEqual(["path.tag"]);
    expect(fieldsOf(await problemOf(await cp.call("PUT", `/v1/flow-runs/any/journal/${encodeURIComponent("é".repeat(300))}`, { value: 1 }), 400))).toEqual(["path.key"]);
  });

  it("addresses an id with a bad percent-escape as that literal text", async () => {
    const problem = await problemOf(await cp.call("GET", "/v1/deployments/%ZZ"), 404);
    expect(problem.detail).toBe("deployment %ZZ does not exist");
  });
});

describe("query parameters", () => {
  it("names query.limit, query.state and query.cursor", async () => {
    const both = await problemOf(await cp.call("GET", "/v1/flow-runs?limit=0&state=NOPE"), 400);
    expect(fieldsOf(both).sort()).toEqual(["query.limit", "query.state"]);
    const cursor = await problemOf(await cp.call("GET", "/v1/flow-runs?cursor=not-a-cursor"), 400);
    expect(fieldsOf(cursor)).toEqual(["query.cursor"]);
    expect(cursor.title).toBe("Invalid cursor");
  });

  it("refuses a limit that is not a whole number in range, and unknown parameters", async () => {
    for (const limit of ["1001", "2.5", "ten", "-1"]) {
      expect(fieldsOf(await problemOf(await cp.call("GET", `/v1/deployments?limit=${limit}`), 400))).toEqual(["query.limit"]);
    }
    expect(fieldsOf(await problemOf(await cp.call("GET", "/v1/flow-runs?color=blue"), 400))).toEqual(["query.color"]);
  });

  it("refuses a since that is not an ISO 8601 timestamp", async () => {
    expect(fieldsOf(await problemOf(await cp.call("GET", "/v1/flow-runs?since=yesterday"), 400))).toEqual(["query.since"]);
  });

  it("refuses a since or until outside 1970 to 9999 in UTC, naming each, before any store call", async () => {
    const cases: Array<[string, string[]]> = [
      ["since=0001-01-01T00:00:00Z", ["query.since"]],
      ["until=1969-12-31T23:59:59.999Z", ["query.until"]],
      // Inside 0000–9999 as written, outside once in UTC: the index keys would sort these wrongly.
      ["since=9999-12-31T23:00:00-05:00", ["query.since"]],
      ["until=1970-01-01T00:30:00%2B01:00", ["query.until"]],
      ["since=0001-01-01T00:00:00Z&until=0002-01-01T00:00:00Z", ["query.since", "query.until"]],
    ];
    for (const [query, fields] of cases) {
      let problem: ProblemBody | undefined;
      const sent = await cp.commands.measure(async () => (problem = await problemOf(await cp.call("GET", `/v1/flow-runs?${query}`), 400)), { atMost: 0 });
      expect({ query, fields: fieldsOf(problem!).sort(), sent }).toEqual({ query, fields, sent: [] });
      expect(problem!.errors![0]!.message).toBe("must be from 1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z (UTC)");
    }
  });

  it("refuses an until that is not later than since, naming query.until", async () => {
    for (const query of ["since=2024-05-02T00:00:00Z&until=2024-05-01T00:00:00Z", "since=2024-05-01T02:00:00%2B02:00&until=2024-05-01T00:00:00Z"]) {
      const problem = await problemOf(await cp.call("GET", `/v1/flow-runs?${query}`), 400);
      expect(problem.errors).toEqual([{ field: "query.until", message: "must be later than since (since is inclusive, until exclusive)" }]);
    }
  });

  it("accepts the widest range, 1970 to the end of 9999, and answers it in at most 5 store calls", async () => {
    let status: number | undefined;
    await cp.commands.measure(async () => (status = (await cp.call("GET", "/v1/flow-runs?since=1970-01-01T00:00:00Z&until=9999-12-31T23:59:59.999Z&limit=1")).status), { atMost: 5 });
    expect(status).toBe(200);
  });
});

describe("unexpected failures", () => {
  let dynalite: DynaliteServer;
  beforeAll(async () => {
    dynalite = await startDynalite();
  });
  afterAll(async () => dynalite.close());

  it("answers a store failure with a 500 problem carrying the request id, no stack, and logs it with the same id", async () => {
    const client = makeDynamoDbClient({ endpoint: dynalite.endpoint });
    const logged: Array<{ requestId: string; method: string; path: string; error: unknown }> = [];
    const services = createServices(serviceDeps(new DynamoDbStore({ client, tableName: "no-such-table" })));
    const token = randomUUID();
    const app = createApi({ services, auth: bearerToken(token), logError: (entry) => logged.push(entry) });
    try {
      const response = await app.request("/v1/flow-runs/run-1", { headers: { authorization: `Bearer ${token}` } });
      const text = await response.clone().text();
      const problem = await problemOf(response, 500);
      expect(problem.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.headers.get("x-request-id")).toBe(problem.requestId);
      expect(problem.detail).toBe(`something went wrong on our side; quote request id ${problem.requestId}`);
      expect(text).not.toMatch(/at .+\.(ts|js):\d+|ResourceNotFound|no-such-table/);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ requestId: problem.requestId, method: "GET", path: "/v1/flow-runs/run-1" });
      expect(logged[0]?.error).toBeInstanceOf(Error);
    } finally {
      client.destroy();
    }
  });

  it("logs nothing for a caller's mistake", async () => {
    const logged: unknown[] = [];
    const app = createApi({ services: cp.services, auth: bearerToken(cp.token), logError: (entry) => logged.push(entry) });
    await problemOf(await app.request("/v1/flow-runs/nope", { headers: { authorization: `Bearer ${cp.token}` } }), 404);
    await problemOf(await app.request("/v1/flow-runs?limit=0", { headers: { authorization: `Bearer ${cp.token}` } }), 400);
    expect(logged).toEqual([]);
  });
});

describe("request ids", () => {
  it("gives every response an x-request-id, and a problem the same id", async () => {
    const ok = await cp.call("GET", "/v1/flow-runs");
    expect(ok.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const missing = await cp.call("GET", "/v1/flow-runs/nope");
    const problem = await problemOf(missing, 404);
    expect(problem.requestId).toBe(missing.headers.get("x-request-id"));
  });
});
