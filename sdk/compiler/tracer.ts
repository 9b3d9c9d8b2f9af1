/**
 * Traces a flow: calls its `run` with symbolic parameters inside a trace scope, so each task call,
 * map, subflow, `when`, `sleep` and approval records a step instead of running.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { evaluateCondition, isCondition, type Condition } from "../definitions/conditions.js";
import type { AnyFlow } from "../definitions/flow.js";
import type { AnyTask } from "../definitions/task.js";
import { durationToMs, type Duration } from "../model/duration.js";
import type { FlowContext } from "../engine/flowRunner.js";
import { CompileError, userCodeLocation } from "./compileError.js";
import { withDeterminismTraps } from "./determinism.js";
import type { SourceLocation } from "../definitions/sourceFile.js";
import type { Step, ValueStep } from "./ir.js";
import { exprOf, symbolic, TokenTable, type Expr } from "./symbolic.js";
import { traceScopes, type TraceHooks } from "./traceContext.js";

/** The trace recorded more states than any flow needs: it is looping on a runtime value. */
export class TraceTooLong extends CompileError {}

/** What tracing a flow found. */
export interface TracedFlow {
  steps: Step[];
  /** The flow's return value: literals and symbolic values. */
  output: unknown;
  trace: Trace;
}

/** Step Functions' longest state name. */
const MAX_STATE_NAME = 80;

/** A name cut to 80 characters in the middle, so its end ("onFailure", " 2") stays. */
function shorten(name: string): string {
  if (name.length <= MAX_STATE_NAME) return name;
  const half = (MAX_STATE_NAME - 1) / 2;
  return `${name.slice(0, Math.ceil(half))}…${name.slice(-Math.floor(half))}`;
}

/** More states than any hand-written flow needs: the trace is looping. */
const MAX_STEPS = 2000;
const FIX_TASK_MAP = "loop with task.map(items), or do the loop in a task, or run the flow in durable mode";

interface Pending {
  step: ValueStep;
  expr: Expr | undefined;
}

/** A list of steps being recorded: the flow body, or one branch of a `when`. */
class Sequence {
  readonly steps: Step[] = [];
  readonly pending: Pending[] = [];
}

/**
 * The state of one trace: names handed out, warnings, the token table and the refusal helper.
 * @internal
 */
export class Trace {
  readonly warnings: string[] = [];
  readonly tokens = new TokenTable();
  readonly #names = new Set<string>();
  readonly #ids = new Set<string>();
  readonly #counters = new Map<string, number>();
  #steps = 0;
  /** The flow code's line of the last step recorded. */
  lastLocation: SourceLocation | undefined;

  constructor(readonly flowName: string) {}

  /** A state name not used yet: `base`, or `base 2`, `base 3` … (`numbered` always numbers it). */
  stateName(base: string, numbered = false): string {
    let count = this.#counters.get(base) ?? 0;
    let name: string;
    do {
      count++;
      name = shorten(numbered || count > 1 ? `${base} ${count}` : base);
    } while (this.#names.has(name));
    this.#counters.set(base, count);
    this.#names.add(name);
    return name;
  }

  /** Claims an exact state name (a hook or inner state derived from another name). */
  claim(wanted: string): string {
    const name = shorten(wanted);
    return this.#names.has(name) ? this.stateName(name) : (this.#names.add(name), name);
  }

  /** An id for `$.results.<id>`: the state name with every other character than [A-Za-z0-9_] as "_". */
  idFor(state: string): string {
    const base = state.replace(/[^A-Za-z0-9_]/g, "_");
    let id = base;
    for (let n = 2; this.#ids.has(id); n++) id = `${base}_${n}`;
    this.#ids.add(id);
    return id;
  }

  /** Notes one more step; a body that records thousands loops on a runtime value. */
  record(): void {
    this.lastLocation = userCodeLocation() ?? this.lastLocation;
    if (++this.#steps > MAX_STEPS) {
      throw new TraceTooLong(
        `flow "${this.flowName}" records more than ${MAX_STEPS} states (a loop whose end depends on a task's result or the parameters?)`,
        FIX_TASK_MAP,
        userCodeLocation(),
      );
    }
  }

  refuse = (what: string, fix: string): never => {
    throw new CompileError(`flow "${this.flowName}" ${what}`, fix, userCodeLocation());
  };

  value(expr: Expr): unknown {
    return symbolic(expr, this.tokens, this.refuse);
  }
}

/**
 * Runs the flow's body with symbolic parameters and records what it does.
 *
 * @example
 * ```ts
 * const { steps, output } = await traceFlow(etl);
 * ```
 */
export function traceFlow(flow: AnyFlow, runLocation?: SourceLocation): Promise<TracedFlow> {
  return withDeterminismTraps(() => traceBody(flow, runLocation));
}

async function traceBody(flow: AnyFlow, runLocation: SourceLocation | undefined): Promise<TracedFlow> {
  const trace = new Trace(flow.name);
  const root = new Sequence();
  const hooks = hooksFor(trace, root);
  const params = trace.value({ kind: "path", path: "$.params" });
  let settled: { ok: true; value: unknown } | { ok: false; error: unknown } | undefined;
  const running = traceScopes.run(hooks, async () => ((flow.options as unknown as { run: (p: unknown, c: FlowContext) => unknown }).run)(params, traceContext(trace)));
  running.then(
    (value) => (settled = { ok: true, value }),
    (error: unknown) => (settled = { ok: false, error }),
  );
  // Traced calls settle in microtasks, all run before the next turn of the event loop: a body still
  // pending then awaits something else (I/O, a timer, a promise nothing will settle).
  await nextTurn();
  if (settled === undefined) {
    throw new CompileError(
      `flow "${flow.name}" awaits something that is not a task, a subflow, sleep() or waitForApproval() (a plain promise, I/O or a timer)${trace.lastLocation ? " after this line" : ""}`,
      "move that work into a task, or run the flow in durable mode",
      trace.lastLocation ?? runLocation ?? (flow.sourceFile === undefined ? undefined : { file: flow.sourceFile, line: undefined }),
    );
  }
  const outcome = settled as { ok: true; value: unknown } | { ok: false; error: unknown };
  if (!outcome.ok) {
    if (outcome.error instanceof CompileError) throw outcome.error;
    const error = outcome.error;
    const message = error instanceof Error ? error.message : String(error);
    throw new CompileError(
      `flow "${flow.name}" threw while being traced (${message})`,
      "a flow body that always throws, or throws on a condition, cannot compile; throw from a task, or run the flow in durable mode",
      userCodeLocation(error instanceof Error ? error.stack : undefined),
      { cause: error },
    );
  }
  if (root.pending.length > 0) {
    trace.warnings.push(`flow "${flow.name}": ${root.pending.length} call(s) are never awaited; the state machine runs them before it returns`);
    flush(trace, root);
  }
  return { steps: root.steps, output: outcome.value, trace };
}

function hooksFor(trace: Trace, sequence: Sequence): TraceHooks {
  const pendingValue = (step: ValueStep): PromiseLike<never> => {
    trace.record();
    const pending: Pending = { step, expr: undefined };
    sequence.pending.push(pending);
    return {
      then(onFulfilled, onRejected) {
        flush(trace, sequence);
        return Promise.resolve(trace.value(pending.expr!)).then(onFulfilled as never, onRejected);
      },
      catch: () => trace.refuse("catches a task call's failure in the flow body", "give the task an onFailure hook, or run the flow in durable mode"),
      finally: () => trace.refuse("runs finally() on a task call in the flow body", "give the task an onFailure hook, or run the flow in durable mode"),
    } as PromiseLike<never>;
  };
  const hooks: TraceHooks = {
    refuse: trace.refuse,
    callTask(handle, args) {
      const task = handle as AnyTask;
      checkArguments(trace, `task "${task.name}"`, args);
      const state = trace.stateName(task.name);
      return pendingValue({ kind: "call", state, id: trace.idFor(state), task, args, location: userCodeLocation() });
    },
    mapTask(handle, items, options) {
      const task = handle as AnyTask;
      checkArguments(trace, `${task.name}.map`, [items]);
      const concurrency = options?.concurrency;
      if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) {
        trace.refuse(`maps ${task.name} with a concurrency of ${exprOf(concurrency) ? "a runtime value" : String(concurrency)}`, "give a whole number ≥ 1");
      }
      const state = trace.stateName(`Map ${task.name}`);
      const innerState = trace.stateName(task.name);
      return pendingValue({
        kind: "map",
        state,
        innerState,
        id: trace.idFor(state),
        task,
        items,
        concurrency,
        mode: options?.mode ?? "inline",
        location: userCodeLocation(),
      }) as PromiseLike<never>;
    },
    callFlow(handle, params) {
      const flow = handle as AnyFlow;
      checkArguments(trace, `subflow "${flow.name}"`, [params]);
      const state = trace.stateName(`Subflow ${flow.name}`);
      return pendingValue({ kind: "subflow", state, id: trace.idFor(state), flow, params, location: userCodeLocation() });
    },
    waitForApproval(options) {
      const timeout = options?.timeout;
      if (timeout !== undefined && exprOf(timeout)) trace.refuse("passes a task's result as an approval timeout", "give a literal duration");
      const ms = timeout === undefined ? undefined : durationToMs(timeout);
      const state = trace.stateName("Approval", true);
      return pendingValue({
        kind: "approval",
        state,
        id: trace.idFor(state),
        timeoutSeconds: ms === undefined ? undefined : wholeSeconds(trace, ms, `waitForApproval timeout`),
        location: userCodeLocation(),
      });
    },
    async sleep(duration: unknown) {
      trace.record();
      flush(trace, sequence);
      const state = trace.stateName("Sleep", true);
      const expr = exprOf(duration);
      if (expr) {
        if (expr.kind !== "path") return trace.refuse("sleeps for a computed duration", "sleep for a field of a task's result (seconds) or a literal duration");
        sequence.steps.push({ kind: "wait", state, seconds: undefined, secondsPath: expr.path });
        return;
      }
      const ms = durationToMs(duration as Duration);
      if (ms === undefined) trace.refuse(`sleeps for ${String(duration)}, which is not a duration`, 'give seconds or a string like "30s", "5m", "1h"');
      sequence.steps.push({ kind: "wait", state, seconds: wholeSeconds(trace, ms!, "sleep"), secondsPath: undefined });
    },
    async when(condition, then, otherwise) {
      trace.record();
      if (!isCondition(condition)) trace.refuse("passes something that is not a condition to when()", "build it with eq, gt, lt, isPresent, and, or, not");
      flush(trace, sequence);
      const simplified = simplify(condition as Condition);
      if (typeof simplified === "boolean") {
        // Known while compiling (it reads no task result): only the branch taken is compiled.
        const branch = simplified ? then : otherwise;
        return branch === undefined ? undefined : await branch();
      }
      const rule = materialize(trace, sequence, simplified);
      const state = trace.stateName("When", true);
      const id = trace.idFor(state);
      const branchSteps = async (branch: (() => unknown) | undefined, label: string): Promise<Step[]> => {
        const child = new Sequence();
        const value = branch === undefined ? undefined : await traceScopes.run(hooksFor(trace, child), async () => await branch());
        flush(trace, child);
        checkArguments(trace, "when()", [value]);
        child.steps.push({ kind: "assign", state: trace.claim(`${state} ${label}`), area: "results", id, value: value ?? null });
        return child.steps;
      };
      const thenSteps = await branchSteps(then, "then");
      const otherwiseSteps = await branchSteps(otherwise, "otherwise");
      sequence.steps.push({ kind: "choice", state, condition: rule, then: thenSteps, otherwise: otherwiseSteps });
      return trace.value({ kind: "path", path: `$.results.${id}.value` });
    },
  };
  return hooks;
}

/** Records the steps awaited so far: one on its own, several as a Parallel state. */
function flush(trace: Trace, sequence: Sequence): void {
  const batch = sequence.pending.splice(0);
  if (batch.length === 0) return;
  if (batch.length === 1) {
    const [only] = batch as [Pending];
    only.expr = { kind: "path", path: `$.results.${only.step.id}.value` };
    sequence.steps.push(only.step);
    return;
  }
  const state = trace.stateName("Parallel", true);
  const id = trace.idFor(state);
  batch.forEach((pending, index) => (pending.expr = { kind: "path", path: `$.results.${id}[${index}].value` }));
  sequence.steps.push({ kind: "parallel", state, id, branches: batch.map((pending) => pending.step) });
}

/** Folds the parts of a condition that read no symbolic value into true / false. */
function simplify(condition: Condition): Condition | boolean {
  switch (condition.op) {
    case "eq":
    case "gt":
    case "lt":
    case "isPresent":
      if (exprOf(condition.value) || (typeof condition.value === "string" && /\uE000\d+\uE001/.test(condition.value))) return condition;
      return evaluateCondition(condition);
    case "not": {
      const inner = simplify(condition.condition);
      return typeof inner === "boolean" ? !inner : { op: "not", condition: inner };
    }
    case "and":
    case "or": {
      const kept: Condition[] = [];
      for (const part of condition.conditions) {
        const value = simplify(part);
        if (typeof value === "boolean") {
          if (value === (condition.op === "or")) return value;
        } else kept.push(value);
      }
      if (kept.length === 0) return condition.op === "and";
      return kept.length === 1 ? kept[0]! : { op: condition.op, conditions: kept };
    }
  }
}

/** A Choice rule reads paths: a computed value (a length, a template string) is first written to `$.values.<id>`. */
function materialize(trace: Trace, sequence: Sequence, condition: Condition): Condition {
  switch (condition.op) {
    case "and":
    case "or":
      return { op: condition.op, conditions: condition.conditions.map((part) => materialize(trace, sequence, part)) };
    case "not":
      return { op: "not", condition: materialize(trace, sequence, condition.condition) };
    default: {
      if (exprOf(condition.value)?.kind === "path") return condition;
      const state = trace.stateName("Value", true);
      const id = trace.idFor(state);
      sequence.steps.push({ kind: "assign", state, area: "values", id, value: condition.value });
      return { ...condition, value: trace.value({ kind: "path", path: `$.values.${id}.value` }) } as Condition;
    }
  }
}

/** Arguments must be JSON values (symbolic ones included); an un-awaited call is a mistake. */
function checkArguments(trace: Trace, subject: string, values: readonly unknown[]): void {
  const seen = new Set<object>();
  const visit = (value: unknown, where: string): void => {
    if (value === null || value === undefined || typeof value === "string" || typeof value === "boolean") return;
    if (typeof value === "number") {
      if (!Number.isFinite(value)) trace.refuse(`passes ${String(value)} to ${subject} (${where})`, "pass finite numbers");
      return;
    }
    if (exprOf(value)) return;
    if (typeof value === "function") trace.refuse(`passes a function to ${subject} (${where})`, "pass JSON values (objects, arrays, strings, numbers, booleans, null)");
    if (typeof value !== "object") trace.refuse(`passes a ${typeof value} to ${subject} (${where})`, "pass JSON values (objects, arrays, strings, numbers, booleans, null)");
    if (typeof (value as { then?: unknown }).then === "function") {
      trace.refuse(`passes a call that is not awaited yet to ${subject} (${where})`, "await the call first and pass its result");
    }
    if (seen.has(value as object)) return;
    seen.add(value as object);
    if (Array.isArray(value)) value.forEach((item, index) => visit(item, `${where}[${index}]`));
    else {
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        trace.refuse(`passes a ${(value as object).constructor?.name ?? "class instance"} to ${subject} (${where})`, "pass plain JSON objects");
      }
      for (const [key, item] of Object.entries(value as object)) visit(item, `${where}.${key}`);
    }
  };
  values.forEach((value, index) => visit(value, `argument ${index + 1}`));
}

function wholeSeconds(trace: Trace, ms: number, what: string): number {
  const seconds = Math.max(1, Math.round(ms / 1000));
  if (seconds * 1000 !== ms) trace.warnings.push(`flow "${trace.flowName}": ${what} of ${ms}ms becomes ${seconds}s (Step Functions counts whole seconds, at least 1)`);
  return seconds;
}

/** The `ctx` a traced flow body gets: logs and artifacts are no-ops (the state machine has no flow body to run them). */
function traceContext(trace: Trace): FlowContext {
  const ignore = () => undefined;
  let warnedArtifacts = false;
  const artifact = () => {
    if (!warnedArtifacts) trace.warnings.push(`flow "${trace.flowName}": artifacts published in the flow body are not published by the state machine; publish them from a task`);
    warnedArtifacts = true;
  };
  return {
    runId: trace.value({ kind: "path", path: "$$.Execution.Name" }) as string,
    runName: trace.value({ kind: "path", path: "$$.Execution.Name" }) as string,
    flowName: trace.flowName,
    attempt: 1,
    parentRunId: undefined,
    log: { debug: ignore, info: ignore, warn: ignore, error: ignore },
    signal: new AbortController().signal,
    artifact: { markdown: artifact, table: artifact, link: artifact },
  };
}
