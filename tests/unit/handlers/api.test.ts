import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { LambdaContext, LambdaEvent } from "hono/aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { makeDynamoDbClient } from "../../../lambdas/adapters/awsClients.js";
import { serviceDeps } from "../../../lambdas/services/context.js";
import { createServices, type Services } from "../../../lambdas/services/index.js";
import type { FlowRunRecord } from "../../../lambdas/store/records.js";
import { DynamoDbStore } from "../../../lambdas/store/dynamoDbStore.js";
import { ensureTable } from "../../../lambdas/store/table.js";
import { startDynalite, type DynaliteServer } from "../../support/dynalite.js";

/**
 * Flow runs that finish are reported through `onFlowRunFinished`, and the API function publishes
 * them as the `FlowRunsFinished` and `FlowRunsFailed` metrics its failure-rate alarm reads.
 */

type Handler = (event: LambdaEvent, context?: LambdaContext) => Promise<{ statusCode: number; body: string }>;

let dynalite: DynaliteServer;
let tableName: string;
let services: Services;
const finished: FlowRunRecord[] = [];

beforeAll(async () => {
  dynalite = await startDynalite();
  tableName = `aloft-api-${randomUUID()}`;
  const client = makeDynamoDbClient({ endpoint: dynalite.endpoint });
  await ensureTable(client, tableName);
  const store = new DynamoDbStore({ client, tableName });
  services = createServices(serviceDeps(store, undefined, { onFlowRunFinished: (run) => finished.push(run) }));
});

afterEach(() => {
  finished.length = 0;
});

afterAll(async () => {
  await dynalite.close();
});

async function runningRun(): Promise<string> {
  const { run } = await services.flowRuns.create({ flowName: "etl", initialState: "PENDING" });
  await services.flowRuns.proposeState(run.id, { state: { type: "RUNNING" } });
  return run.id;
}

describe("onFlowRunFinished", () => {
  it("is called once, with the written run, when a run completes; not for the transitions before it", async () => {
    const { run } = await services.flowRuns.create({ flowName: "etl", initialState: "PENDING" });
    await services.flowRuns.proposeState(run.id, { state: { type: "RUNNING" }, transitionId: "start" });
    expect(finished).toEqual([]);

    await services.flowRuns.proposeState(run.id, { state: { type: "COMPLETED" }, transitionId: "finish", result: 42 });

    expect(finished.map((each) => [each.id, each.state.type, each.result])).toEqual([[run.id, "COMPLETED", 42]]);
  });

  it("is not called again for a duplicate proposal or a refused one", async () => {
    const runId = await runningRun();
    await services.flowRuns.proposeState(runId, { state: { type: "FAILED" }, transitionId: "fail" });

    const duplicate = await services.flowRuns.proposeState(runId, { state: { type: "FAILED" }, transitionId: "fail" });
    const refused = await services.flowRuns.proposeState(runId, { state: { type: "COMPLETED" } });

    expect([duplicate.decision.rule, refused.decision.status]).toEqual(["duplicate-transition", "REJECT"]);
    expect(finished.map((run) => run.state.type)).toEqual(["FAILED"]);
  });

  it("is called for every terminal state: CRASHED, and CANCELLED by a cancel", async () => {
    const crashed = await runningRun();
    await services.flowRuns.proposeState(crashed, { state: { type: "CRASHED" } });
    const { run: scheduled } = await services.flowRuns.create({ flowName: "etl" });
    await services.flowRuns.cancel(scheduled.id);

    expect(finished.map((run) => [run.id, run.state.type])).toEqual([
      [crashed, "CRASHED"],
      [scheduled.id, "CANCELLED"],
    ]);
  });

  it("is called again when a retried run finishes again", async () => {
    const runId = await runningRun();
    await services.flowRuns.proposeState(runId, { state: { type: "FAILED" } });
    await services.flowRuns.retry(runId);
    await services.flowRuns.proposeState(runId, { state: { type: "PENDING" } });
    await services.flowRuns.proposeState(runId, { state: { type: "RUNNING" } });
    await services.flowRuns.proposeState(runId, { state: { type: "COMPLETED" } });

    expect(finished.map((run) => run.state.type)).toEqual(["FAILED", "COMPLETED"]);
  });
});

interface EmfDocument {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  service: string;
  [metric: string]: unknown;
}

describe("API function metrics", () => {
  let handler: Handler;

  beforeAll(async () => {
    vi.stubEnv("ALOFT_TABLE_NAME", tableName);
    vi.stubEnv("ALOFT_AWS_ENDPOINT", dynalite.endpoint);
    vi.stubEnv("ALOFT_PAYLOAD_BUCKET", "aloft-payloads-test");
    handler = (await import("../../../lambdas/handlers/api.js")).handler as unknown as Handler;
  });

  afterAll(() => {
    vi.unstubAllEnvs();
  });

  /** Invokes the handler with an API Gateway event, returning its answer and the EMF documents it printed. */
  async function invoke(method: string, path: string, body: unknown): Promise<{ statusCode: number; json: Record<string, unknown>; emf: EmfDocument[] }> {
    const event = JSON.parse(await readFile(new URL("../../fixtures/apigw/create-flow-run.json", import.meta.url), "utf8")) as {
      rawPath: string;
      body?: string;
      headers: Record<string, string>;
      requestContext: { requestId: string; http: { method: string; path: string } };
    };
    event.rawPath = path;
    event.requestContext.http = { ...event.requestContext.http, method, path };
    event.requestContext.requestId = randomUUID();
    event.body = JSON.stringify(body);
    delete event.headers["content-length"];
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split("\n").filter((line) => line.trim() !== ""));
      return true;
    });
    try {
      const result = await handler(event as unknown as LambdaEvent);
      const emf = lines.map((line) => JSON.parse(line) as Partial<EmfDocument>).filter((doc): doc is EmfDocument => doc._aws !== undefined);
      return { statusCode: result.statusCode, json: JSON.parse(result.body) as Record<string, unknown>, emf };
    } finally {
      write.mockRestore();
    }
  }

  function counts(emf: EmfDocument[]): Record<string, unknown> {
    return Object.fromEntries(
      emf.flatMap((doc) =>
        doc._aws.CloudWatchMetrics.flatMap((directive) => directive.Metrics.map((metric) => [`${directive.Namespace}/${doc.service}/${metric.Name} (${metric.Unit})`, doc[metric.Name]])),
      ),
    );
  }

  it("publishes FlowRunsFailed and FlowRunsFinished in Aloft, service aloft-api, when a run fails through the API", async () => {
    const runId = await runningRun();

    const { statusCode, emf } = await invoke("POST", `/v1/flow-runs/${runId}/state`, { state: { type: "FAILED" } });

    expect(statusCode).toBe(200);
    expect(emf.map((doc) => doc._aws.CloudWatchMetrics[0]?.Dimensions)).toEqual([[["service"]]]);
    expect(counts(emf)).toEqual({ "Aloft/aloft-api/FlowRunsFinished (Count)": 1, "Aloft/aloft-api/FlowRunsFailed (Count)": 1 });
  });

  it("publishes FlowRunsFinished alone when a run completes, and nothing for a transition that finishes nothing", async () => {
    const runId = await runningRun();

    const completed = await invoke("POST", `/v1/flow-runs/${runId}/state`, { state: { type: "COMPLETED" }, transitionId: "done" });
    const again = await invoke("POST", `/v1/flow-runs/${runId}/state`, { state: { type: "COMPLETED" }, transitionId: "done" });
    const created = await invoke("POST", "/v1/flow-runs", { flowName: "etl" });

    expect(counts(completed.emf)).toEqual({ "Aloft/aloft-api/FlowRunsFinished (Count)": 1 });
    expect(again.json.status).toBe("ACCEPT");
    expect([again.emf, created.statusCode, created.emf]).toEqual([[], 201, []]);
  });
});
