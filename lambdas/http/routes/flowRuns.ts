import type { Hono } from "hono";
import * as z from "zod";
import {
  ArtifactSchema,
  CreateFlowRunRequestSchema,
  FlowRunSchema,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  JournalEntrySchema,
  LogSchema,
  ProposeStateRequestSchema,
  ProposeStateResponseSchema,
  PutJournalEntryRequestSchema,
  ReportCrashRequestSchema,
  StateTypeSchema,
  TaskRunSchema,
  jsonValue,
  pageOf,
} from "../../../sdk/api/schemas.js";
import type { Services } from "../../services/index.js";
import type { TransitionOutcome } from "../../services/transitions.js";
import { artifactDto, flowRunDto, taskRunDto } from "../dto.js";
import { LISTING_TIME_RANGE, isListingTime } from "../../store/keys.js";
import { PageQuery, pageRequest } from "../paging.js";
import { json, route, type RouteRegistry } from "../routeSpec.js";

/** A listing bound: an ISO 8601 timestamp with an offset, within the years the index keys order correctly. */
const ListingTime = z.iso
  .datetime({ offset: true })
  // A value that is not a timestamp at all has its own message, from the format check.
  .refine((value) => Number.isNaN(Date.parse(value)) || isListingTime(value), `must be from ${LISTING_TIME_RANGE.earliest} to ${LISTING_TIME_RANGE.latest} (UTC)`);
const ListQuery = PageQuery.extend({
  flow: z.string().max(128).optional(),
  deployment: z.string().max(128).optional(),
  state: StateTypeSchema.optional(),
  tag: z.string().max(64).optional(),
  since: ListingTime.optional(),
  until: ListingTime.optional(),
})
  .strict()
  .refine((query) => query.since === undefined || query.until === undefined || Date.parse(query.since) < Date.parse(query.until), {
    path: ["until"],
    message: "must be later than since (since is inclusive, until exclusive)",
  });
const ActionBody = z.object({ transitionId: z.string().min(1).max(128).optional(), force: z.boolean().optional() }).strict();
/** `input` is what `waitForApproval` returns to a Step Functions run waiting for approval. */
const ResumeBody = z.object({ transitionId: z.string().min(1).max(128).optional(), input: jsonValue().optional() }).strict();
const ApprovalBody = z
  .object({ taskToken: z.string().min(1).max(2_048), stateName: z.string().min(1).max(256).optional(), timeoutSeconds: z.number().positive().optional() })
  .strict();

/** The API answer to a proposal. */
export function decisionBody(outcome: TransitionOutcome<{ state: unknown }>) {
  const { decision, run } = outcome;
  const body: Record<string, unknown> = { status: decision.status, state: decision.state ?? run?.state, reason: decision.reason, rule: decision.rule };
  if (decision.status === "WAIT") body.delaySeconds = decision.delaySeconds;
  return body;
}

/**
 * Flow-run routes: create, read, list, propose states, cancel / retry / resume, and the run's task
 * runs, logs, artifacts and journal.
 *
 * @example
 * ```ts
 * flowRunRoutes(app, registry, services);
 * ```
 */
export function flowRunRoutes(app: Hono, registry: RouteRegistry, services: Services): void {
  const { flowRuns, taskRuns, telemetry } = services;
  const tag = "flow runs";

  route(app, registry, { method: "post", path: "/v1/flow-runs", summary: "Create a flow run (idempotent by idempotencyKey)", tag, body: CreateFlowRunRequestSchema, responses: { 201: FlowRunSchema, 200: FlowRunSchema } }, async ({ body }) => {
    const { run, created } = await flowRuns.create(body);
    return json(created ? 201 : 200, flowRunDto(run), created ? { location: `/v1/flow-runs/${run.id}` } : {});
  });

  route(app, registry, { method: "get", path: "/v1/flow-runs", summary: "List flow runs, newest first", tag, query: ListQuery, responses: { 200: pageOf(FlowRunSchema) } }, async ({ query, signal }) => {
    const filter: Parameters<typeof flowRuns.list>[0] = {};
    if (query.flow) filter.flowName = query.flow;
    if (query.deployment) filter.deploymentId = (await services.deployments.get(query.deployment)).id;
    if (query.state) filter.stateType = query.state;
    if (query.tag) filter.tag = query.tag;
    if (query.since) filter.since = query.since;
    if (query.until) filter.until = query.until;
    const page = await flowRuns.list(filter, pageRequest(query, signal));
    return json(200, { items: page.items.map(flowRunDto), ...(page.cursor ? { cursor: page.cursor } : {}) });
  });

  route(app, registry, { method: "get", path: "/v1/flow-runs/:id", summary: "Get a flow run", tag, responses: { 200: FlowRunSchema } }, async ({ params }) =>
    json(200, flowRunDto(await flowRuns.get(params.id!))),
  );

  route(app, registry, { method: "get", path: "/v1/flow-runs/:id/history", summary: "A flow run's state history", tag, responses: { 200: z.object({ items: z.array(z.unknown()) }) } }, async ({ params }) => {
    await flowRuns.get(params.id!);
    return json(200, { items: await flowRuns.history(params.id!) });
  });

  route(app, registry, { method: "post", path: "/v1/flow-runs/:id/state", summary: "Propose a state; the orchestration rules answer", tag, body: ProposeStateRequestSchema, responses: { 200: ProposeStateResponseSchema } }, async ({ params, body }) =>
    json(200, decisionBody(await flowRuns.proposeState(params.id!, body))),
  );

  route(app, registry, { method: "post", path: "/v1/flow-runs/:id/heartbeat", summary: "A runner's heartbeat; answers continue, cancel or stop", tag, body: HeartbeatRequestSchema, responses: { 200: HeartbeatResponseSchema } }, async ({ params, body }) =>
    json(200, await flowRuns.heartbeat(params.id!, body)),
  );

  route(app, registry, { method: "post", path: "/v1/flow-runs/:id/crash", summary: "A runner's supervisor reports the runner died with the run: CRASHED with the reason, re-scheduled with attempts left", tag, body: ReportCrashRequestSchema, responses: { 200: ProposeStateResponseSchema } }, async ({ params, body }) =>
    json(200, decisionBody(await flowRuns.reportCrash(params.id!, body))),
  );

  route(app, registry, { method: "post", path: "/v1/flow-runs/:id/cancel", summary: "Cancel a flow run", tag, body: ActionBody, responses: { 200: ProposeStateResponseSchema } }, async ({ params, body }) =>
    json(200, decisionBody(await flowRuns.cancel(params.id!, body.transitionId))),
  );

  route(app, registry, { method: "post", path: "/v1/flow-runs/:id/retry", summary: "Re-open a failed, crashed or cancelled run (completed with force)", tag, body: ActionBody, responses: { 200: ProposeStateResponseSchema } }, async ({ params, body }) =>
    json(200, decisionBody(await flowRuns.retry(params.id!, { ...(body.force ? { force: true } : {}), ...(body.transitionId ? { transitionId: body.transitionId } : {}) }))),
  );

  route(app, registry, { method: "post", path: "/v1/flow-runs/:id/resume", summary: "Resume a paused flow run (a Step Functions run waiting for approval gets `input`)", tag, body: ResumeBody, responses: { 200: ProposeStateResponseSchema } }, async ({ params, body }) =>
    json(200, decisionBody(await flowRuns.resume(params.id!, body.transitionId, body.input))),
  );

  route(app, registry, { method: "post", path: "/v1/flow-runs/:id/approval", summary: "Suspend a running flow run until it is approved (resume completes the token)", tag, body: ApprovalBody, responses: { 200: ProposeStateResponseSchema } }, async ({ params, body }) =>
    json(200, decisionBody(await flowRuns.awaitApproval(params.id!, body))),
  );

  route(app, registry, { method: "get", path: "/v1/flow-runs/:id/task-runs", summary: "The task runs of a flow run", tag, query: PageQuery, responses: { 200: pageOf(TaskRunSchema) } }, async ({ params, query, signal }) => {
    const page = await taskRuns.listForFlowRun(params.id!, pageRequest(query, signal));
    return json(200, { items: page.items.map(taskRunDto), ...(page.cursor ? { cursor: page.cursor } : {}) });
  });

  route(app, registry, { method: "get", path: "/v1/flow-runs/:id/logs", summary: "A flow run's logs, oldest first", tag, query: PageQuery, responses: { 200: pageOf(LogSchema) } }, async ({ params, query, signal }) =>
    json(200, await telemetry.listLogs(params.id!, pageRequest(query, signal))),
  );

  route(app, registry, { method: "get", path: "/v1/flow-runs/:id/artifacts", summary: "A flow run's artifacts, by key", tag, query: PageQuery, responses: { 200: pageOf(ArtifactSchema) } }, async ({ params, query, signal }) => {
    const page = await telemetry.listArtifacts(params.id!, pageRequest(query, signal));
    return json(200, { items: page.items.map(artifactDto), ...(page.cursor ? { cursor: page.cursor } : {}) });
  });

  route(app, registry, { method: "get", path: "/v1/flow-runs/:id/journal", summary: "A flow run's journal of completed calls, by call key", tag, query: PageQuery, responses: { 200: pageOf(JournalEntrySchema) } }, async ({ params, query, signal }) => {
    const page = await telemetry.listJournal(params.id!, pageRequest(query, signal));
    return json(200, { items: page.items.map(({ key, value, createdAt }) => ({ key, value, createdAt })), ...(page.cursor ? { cursor: page.cursor } : {}) });
  });

  route(app, registry, { method: "put", path: "/v1/flow-runs/:id/journal/:key", summary: "Record a completed call (first write wins)", tag, body: PutJournalEntryRequestSchema, responses: { 201: JournalEntrySchema, 200: JournalEntrySchema } }, async ({ params, body }) => {
    const { entry, created } = await telemetry.putJournalEntry(params.id!, params.key!, body.value);
    return json(created ? 201 : 200, { key: entry.key, value: entry.value, createdAt: entry.createdAt });
  });
}
