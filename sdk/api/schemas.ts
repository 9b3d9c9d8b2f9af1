/**
 * The control-plane API's request and response shapes, as zod schemas. The API validates with them,
 * the OpenAPI document is generated from them, and the typed client's types come from them.
 */
import * as z from "zod";
import { jsonValueProblem, MAX_JSON_DEPTH } from "../model/serializable.js";
import { STATE_TYPES } from "../model/states.js";

/**
 * A user's JSON value (parameters, results, journal values, artifact data, log fields), taken as it
 * was parsed: never rebuilt key by key (which would turn a `"__proto__"` key into a prototype and
 * drop it), and refused when nested deeper than {@link MAX_JSON_DEPTH} levels.
 *
 * @example
 * ```ts
 * z.object({ value: jsonValue() }).parse(JSON.parse('{"value": {"__proto__": 1}}')); // kept as sent
 * ```
 */
export function jsonValue() {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      const problem = jsonValueProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: `not a JSON value nested at most ${MAX_JSON_DEPTH} levels: ${problem.path} is ${problem.found}` });
    })
    .meta({ description: `any JSON value, nested at most ${MAX_JSON_DEPTH} levels` });
}

/**
 * A user's JSON object (parameters, log fields, a JSON Schema), taken as it was parsed; see {@link jsonValue}.
 *
 * @example
 * ```ts
 * z.object({ parameters: jsonObject() }).parse({ parameters: { "": 1, constructor: 2 } }); // kept as sent
 * ```
 */
export function jsonObject() {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        ctx.addIssue({ code: "custom", message: `expected a JSON object, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}` });
        return;
      }
      const problem = jsonValueProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: `not a JSON value nested at most ${MAX_JSON_DEPTH} levels: ${problem.path} is ${problem.found}` });
    })
    .transform((value) => value as Record<string, unknown>)
    .meta({ type: "object", description: `a JSON object, nested at most ${MAX_JSON_DEPTH} levels` });
}

const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, "letters, digits, '.', '_', ':' and '-' only");
const name = z.string().min(1).max(128);
const tag = z.string().min(1).max(64);
const timestamp = z.iso.datetime({ offset: true });

/** A state type: SCHEDULED, PENDING, RUNNING, PAUSED, CANCELLING, COMPLETED, FAILED, CANCELLED, CRASHED. */
export const StateTypeSchema = z.enum(STATE_TYPES);

/** A run state. */
export const StateSchema = z.object({
  type: StateTypeSchema,
  name: z.string(),
  message: z.string().optional(),
  timestamp: z.string(),
});

/** An error as a run reports it. */
export const ErrorInfoSchema = z.object({
  name: z.string().max(256),
  message: z.string().max(8_192),
  code: z.string().max(64).optional(),
  stack: z.string().max(16_384).optional(),
});

/** A flow run. */
export const FlowRunSchema = z.object({
  id: z.string(),
  flowName: z.string(),
  name: z.string(),
  deploymentId: z.string().optional(),
  parentRunId: z.string().optional(),
  parameters: z.unknown(),
  tags: z.array(z.string()),
  state: StateSchema,
  version: z.number().int(),
  idempotencyKey: z.string().optional(),
  scheduledTime: z.string().optional(),
  createdAt: z.string(),
  startTime: z.string().optional(),
  endTime: z.string().optional(),
  runCount: z.number().int(),
  result: z.unknown().optional(),
  error: ErrorInfoSchema.optional(),
  entrypoint: z.string().optional(),
});

/** `POST /v1/flow-runs`. */
export const CreateFlowRunRequestSchema = z
  .object({
    /** Client-chosen id (the SDK records local runs under their own ids); a new UUID otherwise. */
    id: id.optional(),
    flowName: name,
    name: name.optional(),
    parameters: jsonObject().optional(),
    deploymentId: id.optional(),
    idempotencyKey: z.string().min(1).max(256).optional(),
    tags: z.array(tag).max(50).optional(),
    parentRunId: id.optional(),
    scheduledTime: timestamp.optional(),
    /** The initial state: PENDING for runs the caller is about to run itself, SCHEDULED (default) otherwise. */
    initialState: z.enum(["SCHEDULED", "PENDING"]).optional(),
    /** Where the flow's code is (`path/file.ts`, optionally `:export`), so `aloft runs retry` can run it again. */
    entrypoint: z.string().min(1).max(1_024).optional(),
  })
  .strict();

/** A proposed state. */
export const ProposedStateSchema = z
  .object({
    type: StateTypeSchema,
    name: z.string().min(1).max(64).optional(),
    message: z.string().max(4_000).optional(),
  })
  .strict();

/** `POST /v1/flow-runs/{id}/state` and `POST /v1/task-runs/{id}/state`. */
export const ProposeStateRequestSchema = z
  .object({
    state: ProposedStateSchema,
    /** Makes the proposal idempotent: the same id twice is one transition. */
    transitionId: z.string().min(1).max(128).optional(),
    /** An operator's override of the rules that refuse leaving a terminal state. */
    force: z.boolean().optional(),
    /** The run's result, with a COMPLETED proposal. */
    result: jsonValue().optional(),
    /** The error, with a FAILED or CRASHED proposal. */
    error: ErrorInfoSchema.optional(),
    /** The runner's token from its claim: once a runner claimed the run, only proposals carrying its token move it. */
    runnerToken: z.string().min(1).max(256).optional(),
    /** The flow's own retries, sent by the runner with RUNNING: a crashed run with attempts left is re-scheduled. */
    retries: z.number().int().min(0).max(1_000).optional(),
  })
  .strict();

/** Where a runner runs (what a stop addresses): a local process, a Lambda invocation or an ECS task. */
export const RunnerInfoSchema = z
  .object({
    kind: z.enum(["process", "lambda", "ecs"]),
    pid: z.number().int().min(1).optional(),
    host: z.string().max(256).optional(),
    taskArn: z.string().max(2_048).optional(),
    clusterArn: z.string().max(2_048).optional(),
    requestId: z.string().max(256).optional(),
  })
  .strict();

/** `POST /v1/flow-runs/{id}/heartbeat`. */
export const HeartbeatRequestSchema = z
  .object({
    /** The token the runner's claim returned. */
    runnerToken: z.string().min(1).max(256),
    runner: RunnerInfoSchema.optional(),
  })
  .strict();

/** `POST /v1/flow-runs/{id}/crash`: the supervisor of a runner that died with the run in hand says why. */
export const ReportCrashRequestSchema = z
  .object({
    /** The token of the dead runner's claim. */
    runnerToken: z.string().min(1).max(256),
    /** Why the runner is gone, e.g. "runner process 4242 exited with code 1 while loading flows/etl.ts". */
    reason: z.string().min(1).max(4_000),
  })
  .strict();

/** The answer to a heartbeat: `continue`; `cancel` (abort the flow, then propose CANCELLED); `stop` (the runner lost the run: exit without writing). */
export const HeartbeatResponseSchema = z.object({
  state: StateSchema,
  action: z.enum(["continue", "cancel", "stop"]),
});

/** The orchestration rules' answer to a proposed state. */
export const ProposeStateResponseSchema = z.object({
  status: z.enum(["ACCEPT", "REJECT", "WAIT", "ABORT"]),
  state: StateSchema,
  reason: z.string().optional(),
  /** The rule that decided (e.g. "claimed-by-another-runner": a runner that gets it has lost the run and stops). */
  rule: z.string().optional(),
  delaySeconds: z.number().optional(),
});

/** A task run. */
export const TaskRunSchema = z.object({
  id: z.string(),
  flowRunId: z.string(),
  taskName: z.string(),
  name: z.string(),
  tags: z.array(z.string()),
  state: StateSchema,
  version: z.number().int(),
  attempts: z.number().int(),
  mapIndex: z.number().int().optional(),
  createdAt: z.string(),
  startTime: z.string().optional(),
  endTime: z.string().optional(),
});

/** `POST /v1/task-runs`. */
export const CreateTaskRunRequestSchema = z
  .object({
    id: id.optional(),
    flowRunId: id,
    taskName: name,
    name: name.optional(),
    tags: z.array(tag).max(50).optional(),
    mapIndex: z.number().int().min(0).optional(),
  })
  .strict();

/** A log line. */
export const LogSchema = z
  .object({
    flowRunId: id,
    taskRunId: id.optional(),
    taskRunName: z.string().max(256).optional(),
    timestamp,
    level: z.enum(["debug", "info", "warn", "error"]),
    message: z.string().max(32_000),
    fields: jsonObject().optional(),
  })
  .strict();

/** `POST /v1/logs`. */
export const CreateLogsRequestSchema = z.object({ logs: z.array(LogSchema).min(1).max(1_000) }).strict();

/** An artifact. */
export const ArtifactSchema = z.object({
  id: z.string(),
  key: z.string(),
  type: z.enum(["markdown", "table", "link"]),
  data: z.unknown(),
  description: z.string().optional(),
  flowRunId: z.string(),
  taskRunId: z.string().optional(),
  createdAt: z.string(),
});

/** `POST /v1/artifacts`. */
export const CreateArtifactRequestSchema = z
  .object({
    key: z.string().regex(/^[a-z0-9][a-z0-9-]{0,127}$/, "lowercase letters, digits and dashes, starting with a letter or digit"),
    type: z.enum(["markdown", "table", "link"]),
    data: jsonValue(),
    description: z.string().max(2_000).optional(),
    flowRunId: id,
    taskRunId: id.optional(),
  })
  .strict();

/** A journal entry: the recorded result of one completed call of a run. */
export const JournalEntrySchema = z.object({ key: z.string(), value: z.unknown(), createdAt: z.string() });

/** `PUT /v1/flow-runs/{id}/journal/{key}`. */
export const PutJournalEntryRequestSchema = z.object({ value: jsonValue() }).strict();

/** A deployment. */
export const DeploymentSchema = z.object({
  id: z.string(),
  name: z.string(),
  flowName: z.string(),
  entrypoint: z.string().optional(),
  bundleId: z.string().optional(),
  version: z.string().optional(),
  description: z.string().optional(),
  parameters: jsonObject(),
  parameterSchema: jsonObject().optional(),
  tags: z.array(z.string()),
  workPool: z.string().optional(),
  engine: z.enum(["durable", "step-functions"]),
  workQueue: z.string().optional(),
  stateMachineArn: z.string().optional(),
  paused: z.boolean(),
  revision: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** `POST /v1/work-pools/{pool}/claims`: a worker of a local pool takes runs. */
export const ClaimRunsRequestSchema = z
  .object({
    /** Names the worker (logs, the dashboard). */
    workerId: z.string().min(1).max(128),
    /** Runs to take at most. */
    limit: z.number().int().min(1).max(50).optional(),
    /** Long polling: wait up to this many seconds for a first run. */
    waitSeconds: z.number().int().min(0).max(20).optional(),
    /** Take only from this queue of the pool (all its queues, by priority, when absent). */
    queue: z.string().min(1).max(64).optional(),
  })
  .strict();

/** The runs a claim took: each with its runner token, the run and its deployment. */
export const ClaimRunsResponseSchema = z.object({
  items: z.array(
    z.object({
      runId: z.string(),
      runnerToken: z.string(),
      flowRun: FlowRunSchema,
      deployment: DeploymentSchema,
    }),
  ),
});

const deploymentFields = {
  flowName: name,
  entrypoint: z
    .string()
    .max(1_024)
    .regex(/^[^:]+\.(ts|mts|js|mjs)(:[A-Za-z_$][\w$]*)?$/, 'a path to a .ts or .js file, optionally followed by ":exportName"')
    .optional(),
  bundleId: id.optional(),
  version: z.string().max(64).optional(),
  description: z.string().max(2_000).optional(),
  parameters: jsonObject().optional(),
  parameterSchema: jsonObject().optional(),
  tags: z.array(tag).max(50).optional(),
  workPool: name.optional(),
  engine: z.enum(["durable", "step-functions"]).optional(),
  /** The queue of the work pool (`default` when absent). */
  workQueue: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, "letters, digits, '_' and '-', starting with a letter or digit").optional(),
  stateMachineArn: z
    .string()
    .max(256)
    .regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/, "a Step Functions state machine ARN")
    .optional(),
  paused: z.boolean().optional(),
};

/** `POST /v1/deployments`. */
export const CreateDeploymentRequestSchema = z
  .object({ name: z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, "letters, digits, '.', '_', '/' and '-', starting with a letter or digit"), ...deploymentFields })
  .strict()
  .refine((value) => (value.entrypoint === undefined) !== (value.bundleId === undefined), {
    message: "give exactly one of entrypoint and bundleId",
    path: ["entrypoint"],
  });

/** `PATCH /v1/deployments/{id}`. */
export const UpdateDeploymentRequestSchema = z.object({ ...deploymentFields, flowName: name.optional() }).strict();

/** `POST /v1/deployments/{id}/runs`. */
export const CreateDeploymentRunRequestSchema = z
  .object({
    parameters: jsonObject().optional(),
    idempotencyKey: z.string().min(1).max(256).optional(),
    tags: z.array(tag).max(50).optional(),
    scheduledTime: timestamp.optional(),
  })
  .strict();

/** A concurrency limit. */
export const ConcurrencyLimitSchema = z.object({
  tag: z.string(),
  limit: z.number().int(),
  activeSlots: z.number().int(),
  leases: z.array(z.object({ leaseId: z.string(), expiresAt: z.string() })),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** `POST /v1/concurrency-limits` (and `PUT /v1/concurrency-limits/{tag}` with only `limit`). */
export const SetConcurrencyLimitRequestSchema = z.object({ tag, limit: z.number().int().min(0).max(100_000) }).strict();

/** `POST /v1/concurrency-limits/{tag}/leases`. */
export const AcquireLeaseRequestSchema = z
  .object({ ttlSeconds: z.number().int().min(1).max(86_400).optional(), leaseId: id.optional() })
  .strict();

/** A lease on a concurrency slot. */
export const LeaseSchema = z.object({ tag: z.string(), leaseId: z.string(), expiresAt: z.string() });

/** `POST /v1/concurrency-limits/{tag}/leases/{leaseId}/renew`. */
export const RenewLeaseRequestSchema = z.object({ ttlSeconds: z.number().int().min(1).max(86_400).optional() }).strict();

const poolName = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, "letters, digits, '_' and '-', starting with a letter or digit");
const environmentName = z.string().min(1).max(256).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name: letters, digits and '_', not starting with a digit");

/** Where a work pool's runs run. */
export const WorkPoolTypeSchema = z.enum(["lambda", "fargate", "local"]);

/** The job settings a work pool gives each runner: memory and cpu (fargate), timeout (seconds), environment, image (fargate). */
export const JobSettingsSchema = z
  .object({
    memory: z.number().int().min(128).max(122_880).optional(),
    cpu: z.number().int().min(128).max(16_384).optional(),
    timeout: z.number().int().min(1).max(604_800).optional(),
    environment: z.record(environmentName, z.string().max(4_096)).refine((value) => Object.keys(value).length <= 100, "at most 100 variables").optional(),
    image: z.string().min(1).max(1_024).optional(),
  })
  .strict();

/** A queue of a work pool. */
export const WorkPoolQueueSchema = z.object({
  name: z.string(),
  priority: z.number().int(),
  concurrencyLimit: z.number().int().optional(),
  paused: z.boolean(),
});

/** A work pool. */
export const WorkPoolSchema = z.object({
  name: z.string(),
  type: WorkPoolTypeSchema,
  description: z.string().optional(),
  jobSettings: JobSettingsSchema,
  queues: z.array(WorkPoolQueueSchema),
  paused: z.boolean(),
  revision: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const queueSettings = {
  /** 1 is the highest. */
  priority: z.number().int().min(1).max(100),
  concurrencyLimit: z.number().int().min(0).max(100_000),
  paused: z.boolean(),
};

/** `POST /v1/work-pools`. Without `queues`, the pool gets one queue, `default`, priority 1. */
export const CreateWorkPoolRequestSchema = z
  .object({
    name: poolName,
    type: WorkPoolTypeSchema,
    description: z.string().max(2_000).optional(),
    jobSettings: JobSettingsSchema.optional(),
    queues: z
      .array(
        z
          .object({
            name: poolName,
            priority: queueSettings.priority.optional(),
            concurrencyLimit: queueSettings.concurrencyLimit.optional(),
            paused: queueSettings.paused.optional(),
          })
          .strict(),
      )
      .min(1)
      .max(20)
      .optional(),
    paused: z.boolean().optional(),
  })
  .strict();

/** `PATCH /v1/work-pools/{name}`: job settings given replace the pool's, `null` removes one. */
export const UpdateWorkPoolRequestSchema = z
  .object({
    description: z.string().max(2_000).nullable().optional(),
    jobSettings: z
      .object({
        memory: JobSettingsSchema.shape.memory.unwrap().nullable().optional(),
        cpu: JobSettingsSchema.shape.cpu.unwrap().nullable().optional(),
        timeout: JobSettingsSchema.shape.timeout.unwrap().nullable().optional(),
        environment: JobSettingsSchema.shape.environment.unwrap().nullable().optional(),
        image: JobSettingsSchema.shape.image.unwrap().nullable().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** `PUT /v1/work-pools/{name}/queues/{queue}`: creates the queue (priority 1 unless given) or changes the fields given; `concurrencyLimit: null` removes the limit. */
export const UpsertWorkPoolQueueRequestSchema = z
  .object({
    priority: queueSettings.priority.optional(),
    concurrencyLimit: queueSettings.concurrencyLimit.nullable().optional(),
    paused: queueSettings.paused.optional(),
  })
  .strict();

/** A page of items with the cursor to the next page. */
export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), cursor: z.string().optional() });

/** An RFC 9457 problem document. */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  requestId: z.string().optional(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

export type FlowRunDto = z.infer<typeof FlowRunSchema>;
export type TaskRunDto = z.infer<typeof TaskRunSchema>;
export type ProposeStateResponse = z.infer<typeof ProposeStateResponseSchema>;
export type DeploymentDto = z.infer<typeof DeploymentSchema>;
export type ConcurrencyLimitDto = z.infer<typeof ConcurrencyLimitSchema>;
export type ArtifactDto = z.infer<typeof ArtifactSchema>;
export type LogDto = z.infer<typeof LogSchema>;
export type Problem = z.infer<typeof ProblemSchema>;
export type WorkPoolDto = z.infer<typeof WorkPoolSchema>;
