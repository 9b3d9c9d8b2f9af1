import { AloftApiError, AloftClient, AloftError, type AloftClientOptions } from "aloft";
import { describe, expect, it } from "vitest";
import { fakeFetch, json, networkError, type Answer } from "./fakeFetch.js";
import { isolateEnvironment } from "./isolatedEnvironment.js";

const dirs = isolateEnvironment();

async function failure(answer: Answer, call: (client: AloftClient) => Promise<unknown>, options: AloftClientOptions = {}): Promise<AloftApiError> {
  const fake = fakeFetch([answer]);
  const client = new AloftClient({ apiUrl: "http://localhost:4200", token: "t", fetch: fake.fetch, retries: 0, ...options });
  const error = await call(client).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AloftApiError);
  return error as AloftApiError;
}

const problem = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  json(status, { type: "https://aloft.dev/problems/x", status, ...body }, { "content-type": "application/problem+json", ...headers });

describe("AloftApiError", () => {
  it("lists every invalid field of a 400 in a one-line message, and carries them", async () => {
    const error = await failure(
      problem(400, {
        title: "Invalid request",
        detail: "2 invalid fields",
        requestId: "req-1",
        errors: [
          { field: "body.flowName", message: "Required" },
          { field: "body.tags[0]", message: "Too long" },
        ],
      }),
      (c) => c.flowRuns.create({ flowName: "" }),
    );
    expect(error.message).toBe("POST /v1/flow-runs: 400 Invalid request — body.flowName: Required; body.tags[0]: Too long");
    expect(error).toMatchObject({ status: 400, title: "Invalid request", detail: "2 invalid fields", requestId: "req-1", method: "POST", path: "/v1/flow-runs", type: "https://aloft.dev/problems/x" });
    expect(error.errors).toEqual([
      { field: "body.flowName", message: "Required" },
      { field: "body.tags[0]", message: "Too long" },
    ]);
    expect(error).toBeInstanceOf(AloftError);
    expect(error.code).toBe("API_ERROR");
    expect(error.name).toBe("AloftApiError");
  });

  it("uses the detail for other problems, the query in the path, and x-request-id when the body has no request id", async () => {
    const error = await failure(problem(400, { title: "Invalid cursor", detail: "the cursor is not one this API issued" }, { "x-request-id": "req-9" }), (c) => c.flowRuns.list({ cursor: "junk" }));
    expect(error.message).toBe("GET /v1/flow-runs?cursor=junk: 400 Invalid cursor — the cursor is not one this API issued");
    expect(error.requestId).toBe("req-9");
    expect(error.errors).toEqual([]);
  });

  it("reads API Gateway's own {message} answers and non-JSON pages from proxies", async () => {
    const gateway = await failure(json(403, { message: "The security token included in the request is invalid." }), (c) => c.flowRuns.get("r1"));
    expect(gateway.message).toBe("GET /v1/flow-runs/r1: 403 Forbidden — The security token included in the request is invalid.");

    const proxy = await failure(new Response("<html>\n<h1>Bad gateway</h1></html>", { status: 502, statusText: "Bad Gateway" }), (c) => c.flowRuns.get("r1"));
    expect(proxy).toMatchObject({ status: 502, title: "Bad Gateway", detail: "<html>" });
  });

  it("carries Retry-After of a full concurrency limit", async () => {
    const error = await failure(problem(423, { title: "Concurrency limit full", detail: "warehouse has 2 of 2 slots taken" }, { "retry-after": "5" }), (c) => c.concurrencyLimits.acquire("warehouse"));
    expect(error).toMatchObject({ status: 423, retryAfterSeconds: 5 });
    expect(error.message).toBe("POST /v1/concurrency-limits/warehouse/leases: 423 Concurrency limit full — warehouse has 2 of 2 slots taken");
  });

  it("reports a network failure as status 0 with the cause, the URL, and a hint when the URL is the default", async () => {
    const cause = networkError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:4200");
    const error = await failure(cause, (c) => c.flowRuns.get("r1"), { apiUrl: undefined, retries: 0 });
    expect(error.status).toBe(0);
    expect(error.cause).toBe(cause);
    expect(error.message).toBe(
      "GET /v1/flow-runs/r1: network error — connect ECONNREFUSED 127.0.0.1:4200 reaching http://localhost:4200 (is the local server running? start it with `aloft server start`, or set ALOFT_API_URL)",
    );
  });

  it("reports a timeout with the time waited", async () => {
    const timeout = Object.assign(new Error("The operation was aborted due to timeout"), { name: "TimeoutError" });
    const error = await failure(timeout, (c) => c.flowRuns.get("r1"), { timeoutMs: 2_500 });
    expect(error.message).toBe("GET /v1/flow-runs/r1: network error — no answer within 2500 ms reaching http://localhost:4200");
  });

  it("says where it looked for a token when a 401 comes and none was found", async () => {
    const error = await failure(problem(401, { title: "Authentication required", detail: "missing or invalid credentials" }), (c) => c.flowRuns.get("r1"), { token: undefined });
    expect(error.status).toBe(401);
    expect(error.message).toBe(
      `GET /v1/flow-runs/r1: 401 Authentication required — missing or invalid credentials; no token found: set ALOFT_TOKEN, pass token, or run the local server, which writes ${dirs.dataDir}/token`,
    );
  });

  it("names the token's source when the token was refused", async () => {
    const error = await failure(problem(401, { title: "Authentication required", detail: "missing or invalid credentials" }), (c) => c.flowRuns.get("r1"));
    expect(error.message).toMatch(/; the token from the token option was refused$/);
  });

  it("refuses a 2xx answer that is not JSON", async () => {
    const error = await failure(new Response("<html>login page</html>", { status: 200 }), (c) => c.flowRuns.get("r1"));
    expect(error.message).toBe("GET /v1/flow-runs/r1: 200 Invalid response — the body is not JSON: <html>login page</html>");
  });
});
