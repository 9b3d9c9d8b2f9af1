import { randomUUID } from "node:crypto";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearerToken } from "../../../lambdas/http/auth.js";
import { createApi } from "../../../lambdas/http/app.js";
import { startLocalServer, type LocalServer } from "../../../lambdas/local/server.js";
import { serviceDeps } from "../../../lambdas/services/context.js";
import { createServices } from "../../../lambdas/services/index.js";
import type { Store } from "../../../lambdas/store/store.js";
import { startTestControlPlane, type TestControlPlane } from "../../support/controlPlane.js";

type Logged = { requestId: string; method: string; path: string; error: unknown };

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => cp.dispose());

/** The API over the test table, with its unexpected errors collected. */
function appLogging(store: Store = cp.store): { app: ReturnType<typeof createApi>; logged: Logged[] } {
  const logged: Logged[] = [];
  const app = createApi({ services: createServices(serviceDeps(store)), auth: bearerToken(cp.token), logError: (entry) => logged.push(entry), webhookSecret: () => Promise.resolve(cp.webhookSecret) });
  return { app, logged };
}

/** The error Node's HTTP server gives a body read when the client's connection goes away. */
function connectionAborted(): Error {
  return Object.assign(new Error("aborted"), { code: "ECONNRESET" });
}

/**
 * A request body that sends the start of a JSON document, then fails the way a disconnected
 * client's body does, with the request's signal aborted (as the Node adapter does on close).
 * `pulls` counts how often the server read from it.
 */
function abandonedBody(): { body: ReadableStream<Uint8Array>; signal: AbortSignal; pulls: () => number } {
  const controller = new AbortController();
  let pulls = 0;
  const source = {
    pull(stream: ReadableStreamDefaultController<Uint8Array>) {
      pulls += 1;
      if (pulls === 1) stream.enqueue(new TextEncoder().encode('{"flowName":"et'));
      else {
        controller.abort(connectionAborted());
        stream.error(connectionAborted());
      }
    },
  };
  // highWaterMark 0: the stream pulls only when the server reads.
  const body = new ReadableStream<Uint8Array>(source, { highWaterMark: 0 });
  return { body, signal: controller.signal, pulls: () => pulls };
}

function abandonedRequest(headers: Record<string, string>): { init: RequestInit; pulls: () => number } {
  const { body, signal, pulls } = abandonedBody();
  return { init: { method: "POST", headers: { "content-type": "application/json", ...headers }, body, signal, duplex: "half" } as RequestInit, pulls };
}

describe("a client that goes away", () => {
  it("in the middle of its body is not an unexpected error: nothing is logged, and the answer is no 500", async () => {
    const { app, logged } = appLogging();
    const { init } = abandonedRequest({ authorization: `Bearer ${cp.token}` });

    const response = await app.request("/v1/flow-runs", init);

    expect(logged).toEqual([]);
    expect(response.status).toBe(499);
  });

  it("during a long handler, whose store call then fails with an AbortError, is not logged either", async () => {
    const controller = new AbortController();
    const hanging = new Proxy(cp.store, {
      get: (target, property, receiver) =>
        property === "getFlowRun"
          ? () =>
              new Promise((_, reject) =>
                controller.signal.addEventListener("abort", () => reject(Object.assign(new Error("The operation was aborted"), { name: "AbortError" })), { once: true }),
              )
          : Reflect.get(target, property, receiver),
    });
    const { app, logged } = appLogging(hanging);

    const answer = app.request("/v1/flow-runs/run-1", { headers: { authorization: `Bearer ${cp.token}` }, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const response = await answer;

    expect(logged).toEqual([]);
    expect(response.status).toBe(499);
  });

  it("while a real error happens is still logged: only what the abort caused goes unlogged", async () => {
    const controller = new AbortController();
    const broken = new Proxy(cp.store, {
      get: (target, property, receiver) =>
        property === "getFlowRun"
          ? () => new Promise((_, reject) => controller.signal.addEventListener("abort", () => reject(new TypeError("cannot read properties of undefined")), { once: true }))
          : Reflect.get(target, property, receiver),
    });
    const { app, logged } = appLogging(broken);

    const answer = app.request("/v1/flow-runs/run-1", { headers: { authorization: `Bearer ${cp.token}` }, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const response = await answer;

    expect(logged).toHaveLength(1);
    expect(logged[0]?.error).toBeInstanceOf(TypeError);
    expect(response.status).toBe(500);
  });
});

describe("an unauthenticated client", () => {
  it("has its body never read: a body that fails is a 401, nothing is logged", async () => {
    const { app, logged } = appLogging();
    const { init, pulls } = abandonedRequest({});

    const response = await app.request("/v1/flow-runs", init);

    expect(response.status).toBe(401);
    expect(pulls()).toBe(0);
    expect(logged).toEqual([]);
  });

  it("sending a webhook (no bearer token) and going away mid-body is not logged", async () => {
    const { app, logged } = appLogging();
    const { init } = abandonedRequest({ "x-aloft-signature-256": `sha256=${"0".repeat(64)}` });

    const response = await app.request("/v1/webhooks/nightly", init);

    expect(logged).toEqual([]);
    expect(response.status).toBe(499);
  });

  it.each([
    ["a bad percent-escape", "GET", "/v1/flow-runs/%E0%A4%A", undefined],
    ["an unknown route", "DELETE", "/v1/nothing/here", undefined],
    ["a wrong method", "PATCH", "/v1/flow-runs", "{}"],
    ["a HEAD of a listing", "HEAD", "/v1/flow-runs", undefined],
    ["a malformed body", "POST", "/v1/flow-runs", "{not json"],
    ["a body over the limit", "POST", "/v1/flow-runs", "x".repeat(1_100_000)],
  ])("with %s makes the server log nothing", async (_, method, path, body) => {
    const { app, logged } = appLogging();

    const response = await app.request(path, { method, headers: { authorization: "Bearer wrong" }, ...(body === undefined ? {} : { body }) });

    expect(response.status).toBeLessThan(500);
    expect(logged).toEqual([]);
  });
});

describe("an unexpected error", () => {
  it("is logged once, as one JSON line on stderr with the request id, its stack on that line", async () => {
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const failing = new Proxy(cp.store, {
      get: (target, property, receiver) => (property === "getFlowRun" ? () => Promise.reject(new Error("disk on fire\nsecond line")) : Reflect.get(target, property, receiver)),
    });
    const app = createApi({ services: createServices(serviceDeps(failing)), auth: bearerToken(cp.token) });
    process.stderr.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
    let response: Response;
    try {
      response = await app.request("/v1/flow-runs/run-1", { headers: { authorization: `Bearer ${cp.token}` } });
    } finally {
      process.stderr.write = write;
    }

    expect(response.status).toBe(500);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith("\n")).toBe(true);
    expect(lines[0]!.slice(0, -1)).not.toContain("\n");
    const entry = JSON.parse(lines[0]!) as { message: string; requestId: string; error: { message: string; stack: string } };
    expect(entry).toMatchObject({ level: "error", message: "unhandled API error", requestId: response.headers.get("x-request-id"), error: { message: "disk on fire\nsecond line" } });
    expect(entry.error.stack).toContain("disk on fire");
  });
});

describe("through the local server's socket", () => {
  let server: LocalServer;
  let dir: string;
  let token: string;
  const logged: Logged[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "aloft-aborts-"));
    server = await startLocalServer({ port: 0, dataDir: join(dir, "data"), runners: 0, logError: (entry) => logged.push(entry) });
    token = (await readFile(join(dir, "data", "token"), "utf8")).trim();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Sends the start of a request on a raw socket and closes the connection before its body ends. */
  async function sendAndHangUp(head: string, partialBody: string): Promise<void> {
    const { hostname, port } = new URL(server.url);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write(head + partialBody);
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on("close", () => resolve());
      socket.on("error", reject);
    });
  }

  it.each([
    ["with a token, Content-Length", true, false],
    ["with a token, chunked", true, true],
    ["without a token, Content-Length", false, false],
    ["without a token, chunked", false, true],
  ])("a client that hangs up mid-body (%s) leaves no log line", async (_, authenticated, chunked) => {
    logged.length = 0;
    const body = `{"flowName":"etl-${randomUUID()}"`;
    const headers = [
      "POST /v1/flow-runs HTTP/1.1",
      `Host: ${new URL(server.url).host}`,
      "Content-Type: application/json",
      ...(authenticated ? [`Authorization: Bearer ${token}`] : []),
      chunked ? "Transfer-Encoding: chunked" : "Content-Length: 1000",
    ];
    await sendAndHangUp(`${headers.join("\r\n")}\r\n\r\n`, chunked ? `${body.length.toString(16)}\r\n${body}\r\n` : body);
    // The server notices the close and answers (to nobody) shortly after.
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(logged).toEqual([]);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});
