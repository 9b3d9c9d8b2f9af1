/**
 * Aloft: flows and tasks as plain async functions, with retries, timeouts, caching, mapping,
 * subflows and concurrency limits.
 *
 * @example
 * ```ts
 * import { flow, task, log } from "aloft";
 * const hello = task({ name: "hello", run: async (who: string) => `hello ${who}` });
 * export const greet = flow({ name: "greet", run: async () => hello("world") });
 * ```
 * @packageDocumentation
 */
export { task, type Task, type TaskOptions, type TaskRuntime, type MapOptions, type AnyTask } from "./definitions/task.js";
export { flow, type Flow, type FlowOptions, type FlowOptionsWithSchema, type AnyFlow } from "./definitions/flow.js";
export { when } from "./definitions/when.js";
export { eq, gt, lt, isPresent, and, or, not, evaluateCondition, type Condition, type Comparable } from "./definitions/conditions.js";
export { sleep } from "./definitions/sleep.js";
export { waitForApproval, setApprovalRuntime, type Approval, type ApprovalOptions, type ApprovalRequest, type ApprovalRuntime } from "./definitions/approval.js";
export { compileFlow, type CompileOptions, type CompiledFlow, type StateMachineDefinition } from "./compiler/compileFlow.js";
export { CompileError } from "./compiler/compileError.js";
export { mermaidGraph } from "./compiler/mermaid.js";
export { registeredFlows, registeredTasks, findFlow, findTask } from "./definitions/registry.js";
export type { RetryDelay, RetryOptions } from "./definitions/options.js";
export type { FlowContext, RunOptions } from "./engine/flowRunner.js";
export { log, type Logger, type Artifacts } from "./engine/logging.js";
export { getRunContext, type RunContext } from "./engine/runContext.js";
export { configure, dataDir, type EngineServices } from "./engine/context.js";
export { systemClock, type Clock } from "./engine/clock.js";
export { FileCacheStore, MemoryCacheStore, type CacheEntry, type CacheStore } from "./engine/cache.js";
export { MemoryJournal, type Journal, type JournalRecord } from "./engine/journal.js";
export { combineRecorders, consoleLogRecorder, formatLogLine, type Recorder } from "./engine/recorder.js";
export {
  Abort,
  AloftError,
  CancelledError,
  FlowRunFailedError,
  InvalidOptionsError,
  InvalidParametersError,
  NotSerializableError,
  TaskRunFailedError,
  TimedOutError,
  type AloftErrorCode,
  type ErrorInfo,
} from "./model/errors.js";
export { STATE_TYPES, STATE_NAME_TYPES, isTerminal, type State, type StateName, type StateType } from "./model/states.js";
export type { Duration } from "./model/duration.js";
export type { FlowRun, TaskRunSummary, LogEntry, LogLevel, Artifact } from "./model/runs.js";
export type { JsonValue } from "./model/serializable.js";
export {
  AloftClient,
  FlowRunsApi,
  TaskRunsApi,
  LogsApi,
  ArtifactsApi,
  DeploymentsApi,
  ConcurrencyLimitsApi,
  WorkPoolsApi,
  type AloftClientOptions,
  type FetchLike,
} from "./api/client.js";
export { AloftApiError, type FieldProblem } from "./api/apiError.js";
export { DEFAULT_API_URL, loadLoginConfig, saveLoginConfig, configDir, type AuthMode, type LoginConfig } from "./api/credentials.js";
export type { ApiRetryOptions } from "./api/retryPolicy.js";
export type { AwsCredentials, AwsCredentialSource } from "./api/sigv4.js";
export type * from "./api/types.js";
export { connectToControlPlane, clientCalls } from "./api/connect.js";
export { ControlPlaneLink, type ControlPlaneCalls } from "./api/controlPlaneLink.js";
import "./api/autoConnect.js";
