import { AloftApiError, AloftClient, type ApiRetryOptions } from "aloft";
import { describe, expect, it } from "vitest";
import { fakeFetch, json, networkError, type Answer } from "./fakeFetch.js";
import { isolateEnvironment } from "./isolatedEnvironment.js";

isolateEnvironment();

function setup(answers: Answer[], retries: ApiRetryOptions = {}) {
  const sleeps: number[] = [];
  const fake = fakeFetch(answers);
  const client = new AloftClient({
    apiUrl: "http://localhost:4200",
    token: "t",
    fetch: fake.fetch,
    // random() = 0.5: each backoff is half its ceiling, so the sleeps are exact.
    retries: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, ...retries },
  });
  return { client, requests: fake.requests, sleeps };
}

const unavailable = () => json(503, { title: "Service unavailable", status: 503 });
const ok = (body: unknown = { id: "r1" }) => json(200, body);

describe("retries", () => {
  it("retries a GET on 502, 503 and 504 with exponential backoff and full jitter, then returns the answer", async () => {
    const { client, requests, sleeps } = setup([json(502, {}), unavailable(), json(504, {}), ok()]);
    expect(await client.flowRuns.get("r1")).toEqual({ id: "r1" });
    expect(requests).toHaveLength(4);
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it("caps the backoff at maxDelayMs and gives up after `retries` retries with the last answer's error", async () => {
    const { client, requests, sleeps } = setup([unavailable()], { retries: 7, baseDelayMs: 100, maxDelayMs: 1_000 });
    const error = (await client.flowRuns.get("r1").catch((caught: unknown) => caught)) as AloftApiError;
    expect(error).toBeInstanceOf(AloftApiError);
    expect(error.status).toBe(503);
    expect(error.attempts).toBe(8);
    expect(error.message).toBe("GET /v1/flow-runs/r1: 503 Service unavailable (after 8 attempts)");
    expect(requests).toHaveLength(8);
    expect(sleeps).toEqual([50, 100, 200, 400, 500, 500, 500]);
  });

  it("retries 5 times by default, and never with retries: 0", async () => {
    const defaults = setup([unavailable()]);
    await expect(defaults.client.flowRuns.get("r1")).rejects.toThrow(AloftApiError);
    expect(defaults.requests).toHaveLength(6);
    const none = setup([unavailable()], { retries: 0 });
    await expect(none.client.flowRuns.get("r1")).rejects.toThrow(AloftApiError);
    expect(none.requests).toHaveLength(1);
  });

  it("does not retry 4xx answers nor a 500", async () => {
    for (const status of [400, 401, 404, 409, 423, 500]) {
      const { client, requests } = setup([json(status, { title: "no", status })]);
      await expect(client.flowRuns.get("r1")).rejects.toMatchObject({ status });
      expect(requests).toHaveLength(1);
    }
  });

  it("retries a 429 even for a request that is not idempotent: the server refused it without acting", async () => {
    const { client, requests } = setup([json(429, { message: "Too Many Requests" }), json(202, { accepted: 1 })]);
    const line = { flowRunId: "r1", timestamp: "2026-11-01T00:00:00Z", level: "info" as const, message: "hi" };
    expect(await client.logs.create({ logs: [line] })).toEqual({ accepted: 1 });
    expect(requests).toHaveLength(2);
  });

  it("does not retry a 502/503/504 for a POST that would act twice", async () => {
    const cases: Array<(client: AloftClient) => Promise<unknown>> = [
      (c) => c.flowRuns.create({ flowName: "etl" }),
      (c) => c.flowRuns.proposeState("r1", { state: { type: "RUNNING" } }),
      (c) => c.flowRuns.cancel("r1"),
      (c) => c.taskRuns.create({ flowRunId: "r1", taskName: "t" }),
      (c) => c.logs.create({ logs: [{ flowRunId: "r1", timestamp: "2026-11-01T00:00:00Z", level: "info", message: "hi" }] }),
      (c) => c.artifacts.create({ key: "k", type: "link", data: "https://x", flowRunId: "r1" }),
      (c) => c.deployments.create({ name: "d", flowName: "etl", entrypoint: "etl.ts" }),
      (c) => c.deployments.update("d", { paused: true }),
      (c) => c.deployments.run("d"),
      (c) => c.concurrencyLimits.acquire("warehouse"),
    ];
    for (const call of cases) {
      const { client, requests } = setup([json(504, {}), ok()]);
      await expect(call(client)).rejects.toMatchObject({ status: 504 });
      expect(requests).toHaveLength(1);
    }
  });

  it("retries the POSTs made idempotent by an idempotency key, a transition id or a client-chosen id", async () => {
    const cases: Array<(client: AloftClient) => Promise<unknown>> = [
      (c) => c.flowRuns.create({ flowName: "etl", idempotencyKey: "build-42" }),
      (c) => c.flowRuns.create({ id: "local-run-1", flowName: "etl" }),
      (c) => c.flowRuns.proposeState("r1", { state: { type: "RUNNING" }, transitionId: "t-1" }),
      (c) => c.flowRuns.retry("r1", { transitionId: "t-2" }),
      (c) => c.taskRuns.create({ id: "r1:t-0", flowRunId: "r1", taskName: "t" }),
      (c) => c.taskRuns.proposeState("r1:t-0", { state: { type: "COMPLETED" }, transitionId: "t-3" }),
      (c) => c.deployments.run("d", { idempotencyKey: "ci-7" }),
      (c) => c.concurrencyLimits.set("warehouse", 2),
      (c) => c.concurrencyLimits.acquire("warehouse", { leaseId: "r1:t-0" }),
      (c) => c.concurrencyLimits.renew("warehouse", "lease-1"),
      (c) => c.flowRuns.putJournalEntry("r1", "k", 1),
      (c) => c.deployments.delete("d"),
      (c) => c.concurrencyLimits.release("warehouse", "lease-1"),
    ];
    for (const call of cases) {
      const { client, requests } = setup([json(502, {}), ok()]);
      await call(client);
      expect(requests).toHaveLength(2);
      expect(requests[1]!.rawBody).toBe(requests[0]!.rawBody);
    }
  });

  it("waits as long as Retry-After says, in seconds or as an HTTP date, instead of the backoff", async () => {
    const seconds = setup([json(429, {}, { "retry-after": "3" }), ok()]);
    await seconds.client.flowRuns.get("r1");
    expect(seconds.sleeps).toEqual([3_000]);

    const at = new Date(Date.now() + 10_000).toUTCString();
    const date = setup([json(503, {}, { "retry-after": at }), ok()]);
    await date.client.flowRuns.get("r1");
    expect(date.sleeps).toHaveLength(1);
    expect(date.sleeps[0]).toBeGreaterThan(8_000);
    expect(date.sleeps[0]).toBeLessThanOrEqual(10_000);
  });

  it("does not wait for a Retry-After longer than maxRetryAfterMs, and reports it on the error", async () => {
    const { client, requests, sleeps } = setup([json(429, { message: "Too Many Requests" }, { "retry-after": "120" }), ok()]);
    const error = (await client.flowRuns.get("r1").catch((caught: unknown) => caught)) as AloftApiError;
    expect(error.status).toBe(429);
    expect(error.retryAfterSeconds).toBe(120);
    expect(requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("retries a refused connection for any request: nothing reached the server", async () => {
    const { client, requests, sleeps } = setup([networkError("ECONNREFUSED"), networkError("ECONNREFUSED"), json(201, { id: "r1" })]);
    expect(await client.flowRuns.create({ flowName: "etl" })).toEqual({ id: "r1" });
    expect(requests).toHaveLength(3);
    expect(sleeps).toEqual([50, 100]);
  });

  it("retries a connection reset or hang-up only for idempotent requests", async () => {
    const get = setup([networkError("ECONNRESET", "read ECONNRESET"), new Error("socket hang up"), ok()]);
    expect(await get.client.flowRuns.get("r1")).toEqual({ id: "r1" });
    expect(get.requests).toHaveLength(3);

    const post = setup([networkError("ECONNRESET", "read ECONNRESET"), ok()]);
    const error = (await post.client.flowRuns.create({ flowName: "etl" }).catch((caught: unknown) => caught)) as AloftApiError;
    expect(error).toBeInstanceOf(AloftApiError);
    expect(error.status).toBe(0);
    expect(post.requests).toHaveLength(1);
  });

  it("does not retry an unknown host", async () => {
    const { client, requests } = setup([networkError("ENOTFOUND", "getaddrinfo ENOTFOUND api.nowhere.test"), ok()]);
    await expect(client.flowRuns.get("r1")).rejects.toThrow("getaddrinfo ENOTFOUND api.nowhere.test");
    expect(requests).toHaveLength(1);
  });

  it("rejects invalid retry options up front, naming each", () => {
    expect(() => new AloftClient({ retries: { retries: -1, maxDelayMs: Number.NaN } })).toThrow("invalid retry options: retries must be a number >= 0, got -1; maxDelayMs must be a number >= 0, got NaN");
    expect(() => new AloftClient({ retries: 1.5 })).toThrow("invalid retry options: retries must be a whole number, got 1.5");
  });
});
