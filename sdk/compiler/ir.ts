/**
 * What tracing a flow records: a tree of steps, before they are laid out as ASL states.
 */
import type { Condition } from "../definitions/conditions.js";
import type { AnyFlow } from "../definitions/flow.js";
import type { AnyTask } from "../definitions/task.js";
import type { SourceLocation } from "../definitions/sourceFile.js";

/** A step whose result the flow can use. */
export type ValueStep = CallStep | MapStep | ApprovalStep | SubflowStep;

/** A task call. */
export interface CallStep {
  kind: "call";
  state: string;
  id: string;
  task: AnyTask;
  args: unknown[];
  location: SourceLocation | undefined;
}

/** `task.map(items, options)`. */
export interface MapStep {
  kind: "map";
  state: string;
  /** The inner Task state's name. */
  innerState: string;
  id: string;
  task: AnyTask;
  items: unknown;
  concurrency: number | undefined;
  mode: "inline" | "distributed";
  location: SourceLocation | undefined;
}

/** `waitForApproval(options)`. */
export interface ApprovalStep {
  kind: "approval";
  state: string;
  id: string;
  timeoutSeconds: number | undefined;
  location: SourceLocation | undefined;
}

/** A subflow call. */
export interface SubflowStep {
  kind: "subflow";
  state: string;
  id: string;
  flow: AnyFlow;
  params: unknown;
  location: SourceLocation | undefined;
}

/** Several value steps in flight at once (`Promise.all`). */
export interface ParallelStep {
  kind: "parallel";
  state: string;
  id: string;
  branches: ValueStep[];
}

/** `when(condition, then, otherwise)`. */
export interface ChoiceStep {
  kind: "choice";
  state: string;
  condition: Condition;
  then: Step[];
  otherwise: Step[];
}

/** `sleep(duration)`. */
export interface WaitStep {
  kind: "wait";
  state: string;
  seconds: number | undefined;
  secondsPath: string | undefined;
}

/** Writes a value (built from literals and paths) to `$.<area>.<id>.value`. */
export interface AssignStep {
  kind: "assign";
  state: string;
  area: "results" | "values";
  id: string;
  value: unknown;
}

/** Any traced step. */
export type Step = ValueStep | ParallelStep | ChoiceStep | WaitStep | AssignStep;
