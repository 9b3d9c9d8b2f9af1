import * as z from "zod";

/**
 * The payloads a compiled state machine sends to the flow bundle's task Lambda (the `Payload` of its
 * `lambda:invoke` Task states), as the compiler writes them.
 */

const Args = z.record(z.string(), z.unknown());

/**
 * `aloft.task`: run one attempt of a task. `attempt` is `$$.State.RetryCount` (0 on the first try).
 *
 * @example
 * ```ts
 * const invocation: TaskInvocation = { kind: "aloft.task", flowName: "etl", task: "extract", args: { "0": "s3://in" }, flowRunId: "4f8c…", attempt: 0 };
 * ```
 */
export const TaskInvocationSchema = z.object({
  kind: z.literal("aloft.task"),
  flowName: z.string().min(1),
  task: z.string().min(1),
  args: Args.default({}),
  flowRunId: z.string().min(1),
  executionArn: z.string().optional(),
  attempt: z.number().int().min(0).default(0),
  mapIndex: z.number().int().min(0).optional(),
  stateName: z.string().optional(),
});
export type TaskInvocation = z.input<typeof TaskInvocationSchema>;

/**
 * `aloft.hook`: a task failed for good (a Catch led here); run its `onFailure` hook. `error` is the
 * Catch's `{ Error, Cause }`.
 *
 * @example
 * ```ts
 * const hook: HookInvocation = { kind: "aloft.hook", hook: "onFailure", task: "load", flowName: "etl", flowRunId: "4f8c…", args: {}, error: { Error: "Aloft.TaskFailed", Cause: "…" } };
 * ```
 */
export const HookInvocationSchema = z.object({
  kind: z.literal("aloft.hook"),
  hook: z.literal("onFailure"),
  flowName: z.string().min(1),
  task: z.string().min(1),
  args: Args.default({}),
  flowRunId: z.string().min(1),
  executionArn: z.string().optional(),
  stateName: z.string().optional(),
  mapIndex: z.number().int().min(0).optional(),
  error: z.object({ Error: z.string(), Cause: z.unknown().optional() }).partial().default({}),
});
export type HookInvocation = z.input<typeof HookInvocationSchema>;

/**
 * `aloft.approval` (a `.waitForTaskToken` state): suspend the run until it is resumed, keeping the
 * task token with the run so that resuming completes it.
 *
 * @example
 * ```ts
 * const approval: ApprovalInvocation = { kind: "aloft.approval", flowName: "deploy", flowRunId: "4f8c…", taskToken: "AQB…", stateName: "Approve" };
 * ```
 */
export const ApprovalInvocationSchema = z.object({
  kind: z.literal("aloft.approval"),
  flowName: z.string().min(1),
  flowRunId: z.string().min(1),
  executionArn: z.string().optional(),
  taskToken: z.string().min(1),
  stateName: z.string().optional(),
  timeoutSeconds: z.number().positive().optional(),
});
export type ApprovalInvocation = z.input<typeof ApprovalInvocationSchema>;

/**
 * `aloft.params` (the "Validate parameters" state): the flow's parameters, parsed by its zod schema
 * (defaults applied), or `Aloft.InvalidParameters`.
 *
 * @example
 * ```ts
 * const check: ParamsInvocation = { kind: "aloft.params", flowName: "etl", params: { day: "2026-11-01" }, flowRunId: "4f8c…" };
 * ```
 */
export const ParamsInvocationSchema = z.object({
  kind: z.literal("aloft.params"),
  flowName: z.string().min(1),
  params: z.unknown().optional(),
  flowRunId: z.string().min(1),
  executionArn: z.string().optional(),
});
export type ParamsInvocation = z.input<typeof ParamsInvocationSchema>;

/**
 * `aloft.result` (after an `ecs:runTask.sync` state): the result the Fargate task stored.
 *
 * @example
 * ```ts
 * const fetch: ResultInvocation = { kind: "aloft.result", flowName: "ml", task: "train", stateName: "train", flowRunId: "4f8c…" };
 * ```
 */
export const ResultInvocationSchema = z.object({
  kind: z.literal("aloft.result"),
  flowName: z.string().min(1),
  task: z.string().min(1),
  stateName: z.string().optional(),
  flowRunId: z.string().min(1),
  executionArn: z.string().optional(),
  mapIndex: z.number().int().min(0).optional(),
});
export type ResultInvocation = z.input<typeof ResultInvocationSchema>;

/** Any payload of the task Lambda. */
export const StepFunctionsInvocationSchema = z.discriminatedUnion("kind", [
  TaskInvocationSchema,
  HookInvocationSchema,
  ApprovalInvocationSchema,
  ParamsInvocationSchema,
  ResultInvocationSchema,
]);
export type StepFunctionsInvocation = z.input<typeof StepFunctionsInvocationSchema>;

/**
 * The error names the task Lambda fails with (each becomes the ASL error name a Retry or Catch
 * matches): `Aloft.TaskFailed` and `Aloft.TimedOut` are retried by the state's Retry while the task
 * has attempts left; `Aloft.Abort` (an `Abort`, `retryIf` answering no, a result that is not JSON)
 * and `Aloft.InvalidParameters` are matched by no Retry; `Aloft.InvalidInvocation` is a payload or bundle the Lambda cannot run.
 */
export const ASL_ERRORS = {
  taskFailed: "Aloft.TaskFailed",
  timedOut: "Aloft.TimedOut",
  abort: "Aloft.Abort",
  invalidParameters: "Aloft.InvalidParameters",
  invalidInvocation: "Aloft.InvalidInvocation",
} as const;
export type AslErrorName = (typeof ASL_ERRORS)[keyof typeof ASL_ERRORS];

/**
 * A failure of the task Lambda, named for the state machine: its `name` is the ASL error name.
 *
 * @example
 * ```ts
 * throw new StepFunctionsTaskError("Aloft.Abort", "no card on file");
 * ```
 */
export class StepFunctionsTaskError extends Error {
  constructor(
    readonly errorName: AslErrorName,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = errorName;
  }
}

/** A result stored by reference: the state machine carries `{ "$aloftRef": key }` instead of the value. */
export interface AloftRef {
  $aloftRef: string;
}

/**
 * Whether a value is a result stored by reference.
 *
 * @example
 * ```ts
 * isAloftRef({ $aloftRef: "runs/4f8c/results/ab.json" }); // true
 * ```
 */
export function isAloftRef(value: unknown): value is AloftRef {
  return typeof value === "object" && value !== null && !Array.isArray(value) && typeof (value as AloftRef).$aloftRef === "string" && Object.keys(value).length === 1;
}
