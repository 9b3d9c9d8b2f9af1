import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";

/**
 * Property tests over every route the OpenAPI document lists (so a new route is fuzzed without
 * touching this file): whatever the path, query, body and headers, the API never answers 5xx, and
 * every refusal is an RFC 9457 problem.
 */

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
};
interface Operation {
  parameters: Array<{ name: string; in: string; schema: JsonSchema }>;
  requestBody?: { content: { "application/json": { schema: JsonSchema } } };
}
interface Route {
  method: string;
  path: string;
  operation: Operation;
}
interface FuzzRequest {
  method: string;
  path: string;
  body: string | undefined;
  headers: Record<string, string>;
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 40);

let cp: TestControlPlane;
let routes: Route[];
/** Ids that exist, by path parameter name, so that some requests reach the services with real data. */
const known: Record<string, string[]> = { id: [], tag: [], leaseId: [], key: ["k1"], name: ["fuzz-pool"], queue: ["default", "bulk"] };

beforeAll(async () => {
  cp = await startTestControlPlane();
  const document = (await (await cp.call("GET", "/openapi.json")).json()) as { paths: Record<string, Record<string, Operation>> };
  routes = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })));

  const run = (await (await cp.call("POST", "/v1/flow-runs", { flowName: "fuzz" })).json()) as { id: string };
  const taskRun = (await (await cp.call("POST", "/v1/task-runs", { flowRunId: run.id, taskName: "t" })).json()) as { id: string };
  const deployment = (await (await cp.call("POST", "/v1/deployments", { name: "fuzz-deployment", flowName: "fuzz", entrypoint: "flows/fuzz.ts" })).json()) as { id: string; name: string };
  await cp.call("POST", "/v1/concurrency-limits", { tag: "fuzz", limit: 3 });
  const lease = (await (await cp.call("POST", "/v1/concurrency-limits/fuzz/leases", {})).json()) as { leaseId: string };
  await cp.call("PUT", `/v1/flow-runs/${run.id}/journal/k1`, { value: 1 });
  await cp.call("POST", "/v1/work-pools", { name: "fuzz-pool", type: "fargate", queues: [{ name: "default" }, { name: "bulk", priority: 2 }] });
  known.id!.push(run.id, taskRun.id, deployment.id, deployment.name);
  known.tag!.push("fuzz");
  known.leaseId!.push(lease.leaseId);
});
afterAll(async () => cp.dispose());

/** Everyday JSON values (parameters, results): strings, safe numbers, booleans, nulls, small lists. */
const plainValue = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }));

/** Values shaped like a JSON Schema (valid or nearly so), so that bodies get past validation sometimes. */
function fromSchema(schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((alternative) => fromSchema(alternative, depth)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "string": {
      if (schema.format === "date-time") return fc.date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }).map((date) => date.toISOString());
      const base = schema.pattern ? fc.stringMatching(new RegExp(schema.pattern)) : fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) });
      return base.map((value) => value.slice(0, schema.maxLength ?? value.length));
    }
    case "integer":
      return fc.integer({ min: schema.minimum ?? -1_000, max: Math.min(schema.maximum ?? 1_000, 1_000_000) });
    case "number":
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array":
      return depth > 3 ? fc.constant([]) : fc.array(fromSchema(schema.items ?? {}, depth + 1), { maxLength: 4 });
    case "object": {
      if (depth > 3) return fc.constant({});
      const properties = Object.entries(schema.properties ?? {});
      if (properties.length === 0) return fc.dictionary(fc.string({ maxLength: 10 }), plainValue, { maxKeys: 4 });
      // Fields that reference other records (flowRunId, deploymentId, …) mostly name ones that exist.
      const field = (name: string, property: JsonSchema) => (/Id$/.test(name) ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known.id!) }, { weight: 1, arbitrary: fromSchema(property, depth + 1) }) : fromSchema(property, depth + 1));
      return fc.record(Object.fromEntries(properties.map(([name, property]) => [name, field(name, property)])), { requiredKeys: schema.required ?? [] });
    }
    default:
      return plainValue;
  }
}

/** Anything at all in each of a body's fields: wrong types, nulls, huge values. */
function wrongTypes(schema: JsonSchema): fc.Arbitrary<unknown> {
  const names = Object.keys(schema.properties ?? {});
  const field = fc.oneof(fc.anything({ maxDepth: 2 }), fc.constantFrom(null, -1, 0, 1.5, "", [], {}, true, "x".repeat(10_000), Number.MAX_SAFE_INTEGER));
  return fc.record(Object.fromEntries([...names, "unknownField"].map((name) => [name, field])), { requiredKeys: [] });
}

function bodyFor(route: Route): fc.Arbitrary<string | undefined> {
  const schema = route.operation.requestBody?.content["application/json"].schema ?? { type: "object" };
  const text = (value: unknown) => JSON.stringify(value) ?? "";
  return fc.oneof(
    { weight: 4, arbitrary: fromSchema(schema).map(text) },
    { weight: 3, arbitrary: wrongTypes(schema).map(text) },
    { weight: 2, arbitrary: fc.anything().map(text) },
    { weight: 1, arbitrary: fc.json() },
    { weight: 2, arbitrary: fc.string() },
    { weight: 1, arbitrary: fc.constantFrom(undefined, "", "{", '{"a":', "[", "\u0000", "{}}", '{"__proto__":{"x":1}}', "1e999", `{"a":${"[".repeat(2_000)}`) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }).map((depth) => `${"[".repeat(depth * 8)}${"]".repeat(depth * 8)}`) },
    { weight: 1, arbitrary: fc.integer({ min: 200_000, max: 1_200_000 }).chain((size) => fromSchema(schema).map((value) => text(typeof value === "object" && value !== null && !Array.isArray(value) ? { ...value, parameters: { blob: "x".repeat(size) }, value: "y".repeat(size) } : "z".repeat(size)))) },
  );
}

function segmentFor(name: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...(known[name]?.length ? known[name] : ["x"])).map(encodeURIComponent) },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }).map(encodeURIComponent) },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }).map(encodeURIComponent) },
    { weight: 2, arbitrary: fc.constantFrom("", ".", "..", "%", "%ZZ", "%00", "%2F", "a%2Fb", "%2e%2e", "%E0%A4%A", "%ED%A0%80", "%C0%AF", "~", "'", ";", "*", "%20", "null", "__proto__", "constructor") },
    { weight: 1, arbitrary: fc.integer({ min: 60, max: 5_000 }).map((length) => "é".repeat(length)).map(encodeURIComponent) },
  );
}

function queryFor(route: Route): fc.Arbitrary<string> {
  const names = route.operation.parameters.filter((parameter) => parameter.in === "query").map((parameter) => parameter.name);
  const key = fc.constantFrom(...names, "x", "__proto__", "limit[]", "");
  const value = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom("0", "-1", "1", "1000", "1001", "1e3", "2.5", "NaN", "Infinity", "RUNNING", "NOPE", "2026-01-01T00:00:00Z", "", "x".repeat(5_000), "eyJ9"),
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant("") },
    { weight: 4, arbitrary: fc.array(fc.tuple(key, value), { maxLength: 4 }).map((pairs) => new URLSearchParams(pairs).toString()) },
    { weight: 1, arbitrary: fc.constantFrom("a=%", "limit=%ZZ", "=&=", "&&&", "limit=1&limit=2", "state=RUNNING&state=FAILED", "cursor=%00", "%=%") },
  );
}

const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 60 });

function requestFor(route: Route): fc.Arbitrary<FuzzRequest> {
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
  const path = fc.tuple(...names.map(segmentFor)).map((segments) => segments.reduce<string>((built, segment, index) => built.replace(`{${names[index]}}`, segment), route.path));
  const method = fc.oneof({ weight: 8, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) });
  const authorization = fc.oneof(
    { weight: 8, arbitrary: fc.constant(`Bearer ${cp.token}`) },
    { weight: 1, arbitrary: fc.constantFrom("", "Bearer", "Bearer wrong", `Bearer ${cp.token} extra`, `Basic ${cp.token}`, `bearer\t${cp.token}`) },
    { weight: 1, arbitrary: headerText },
  );
  const contentType = fc.constantFrom(
    undefined,
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/problem+json",
    "*/*",
    "garbage/;;",
  );
  const extra = fc.dictionary(fc.constantFrom("accept", "content-encoding", "x-request-id", "x-forwarded-for", "transfer-encoding-x"), headerText, { maxKeys: 2 });
  return fc
    .record({ method, path, query: queryFor(route), body: bodyFor(route), authorization, contentType, extra })
    .map(({ method, path, query, body, authorization, contentType, extra }) => {
      const headers: Record<string, string> = { ...extra };
      if (authorization !== "") headers.authorization = authorization;
      if (contentType !== undefined) headers["content-type"] = contentType;
      const hasBody = method !== "GET" && method !== "HEAD" && body !== undefined;
      return { method, path: query === "" ? path : `${path}?${query}`, body: hasBody ? body : undefined, headers };
    });
}

async function send(request: FuzzRequest): Promise<Response> {
  return cp.app.request(request.path, { method: request.method, headers: request.headers, ...(request.body === undefined ? {} : { body: request.body }) });
}

/** Throws (failing the property) unless the answer is below 500 and, when a refusal, a problem document. */
async function expectWellFormed(request: FuzzRequest, response: Response): Promise<void> {
  const where = `${request.method} ${request.path.slice(0, 200)}`;
  const text = await response.text();
  expect(response.status, `${where} → ${text.slice(0, 500)}`).toBeLessThan(500);
  if (response.status < 400 || request.method === "HEAD") return;
  expect(response.headers.get("content-type"), where).toBe("application/problem+json");
  const problem = JSON.parse(text) as { type?: unknown; title?: unknown; status?: unknown };
  expect(typeof problem.type, where).toBe("string");
  expect(typeof problem.title, where).toBe("string");
  expect(problem.status, where).toBe(response.status);
}

describe("API fuzzing", () => {
  it("covers every route of the OpenAPI document", () => {
    expect(routes.length).toBeGreaterThanOrEqual(34);
    expect(routes.filter((route) => route.operation.requestBody).length).toBeGreaterThanOrEqual(15);
  });

  it("never answers 5xx, and answers every refusal with a problem, whatever the path, query, body and headers", async () => {
    const statuses = new Map<number, number>();
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(requestFor(route), async (request) => {
          const response = await send(request);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          await expectWellFormed(request, response);
        }),
        { numRuns: RUNS_PER_ROUTE, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647) },
      );
    }
    // The requests reach the handlers, not only the validators: successes and refusals of every kind.
    const seen = [...statuses.keys()];
    for (const status of [200, 201, 204, 400, 401, 404, 405, 413]) expect(seen, `statuses seen: ${JSON.stringify(Object.fromEntries(statuses))}`).toContain(status);
  }, 120_000);
});
