import { describe, expect, it } from "vitest";
import type { FlowRun, LogEntry, TaskRunSummary } from "aloft";
import { LiveView } from "../../sdk/cli/liveView.js";
import { createColors } from "../../sdk/cli/stateText.js";
import { makeState, type StateName } from "../../sdk/model/states.js";

const T0 = Date.parse("2026-11-01T00:00:00.000Z");

class FakeTerminal {
  text = "";
  constructor(
    readonly rows: number,
    readonly columns = 120,
  ) {}
  write(text: string): boolean {
    this.text += text;
    return true;
  }
  take(): string {
    const text = this.text;
    this.text = "";
    return text;
  }
}

function flowRun(name: string, parentRunId?: string): FlowRun {
  const state = makeState("Running", T0);
  const run: FlowRun = { id: `${name}-id`, flowName: name, name: `${name}-1234abcd`, parameters: {}, state, taskRuns: [], attempts: 1, startTime: state.timestamp, tags: [] };
  if (parentRunId !== undefined) run.parentRunId = parentRunId;
  return run;
}

function taskRun(taskName: string, index: number, flowRunId: string, mapped: boolean): TaskRunSummary {
  const state = makeState("Pending", T0);
  const summary: TaskRunSummary = { id: `${taskName}-${index}`, taskName, name: `${taskName}-${index}`, state, attempts: 0, startTime: state.timestamp, flowRunId };
  if (mapped) summary.mapIndex = index;
  return summary;
}

function move(view: LiveView, summary: TaskRunSummary, name: StateName, at = T0 + 1_000): void {
  const state = makeState(name, at);
  summary.state = state;
  if (name === "Running") summary.attempts += 1;
  if (state.type === "COMPLETED" || state.type === "FAILED") summary.endTime = state.timestamp;
  view.taskRunStateChanged(summary, state);
}

function setup(interactive: boolean, rows = 30) {
  const out = new FakeTerminal(rows);
  const err = new FakeTerminal(rows);
  const view = new LiveView({ out, err, interactive, colors: createColors(false), logThreshold: "info" });
  const root = flowRun("etl");
  view.flowRunCreated(root);
  view.flowRunStateChanged(root, root.state);
  return { out, err, view, root };
}

/** 10,000 mapped task runs: 9,812 completed, 64 running, 124 pending. */
function mapTenThousand(view: LiveView, flowRunId: string): TaskRunSummary[] {
  const runs = Array.from({ length: 10_000 }, (_, i) => taskRun("double", i, flowRunId, true));
  for (const summary of runs) {
    view.taskRunCreated(summary);
    view.taskRunStateChanged(summary, summary.state);
  }
  runs.slice(0, 9_876).forEach((summary) => move(view, summary, "Running"));
  runs.slice(0, 9_812).forEach((summary) => move(view, summary, "Completed"));
  return runs;
}

describe("the live view on a terminal", () => {
  it("collapses 10,000 mapped task runs into one line with counts by state", () => {
    const { out, view, root } = setup(true);
    mapTenThousand(view, root.id);
    view.frame(T0 + 2_000);

    const lines = out.take().split("\n").filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^. etl-1234abcd Running 2s$/);
    expect(lines[1]).toMatch(/^ {2}. double ×10,000 {2}9,812 completed · 64 running · 124 pending {2}2s$/);
  });

  it("shows each task run with its state, attempts after the first, and duration, and a subflow run as its own line", () => {
    const { out, view, root } = setup(true);
    const extract = taskRun("extract", 0, root.id, false);
    view.taskRunCreated(extract);
    move(view, extract, "Running", T0);
    move(view, extract, "AwaitingRetry", T0 + 100);
    move(view, extract, "Running", T0 + 200);
    move(view, extract, "Completed", T0 + 1_500);
    const child = flowRun("child", root.id);
    view.flowRunCreated(child);
    const load = taskRun("load", 0, child.id, false);
    view.taskRunCreated(load);
    move(view, load, "Running", T0);
    view.frame(T0 + 3_000);

    const lines = out.take().split("\n").filter(Boolean);
    expect(lines.slice(1)).toEqual([
      "  ✓ extract-0                 Completed  2 attempts  1.5s",
      "  ⠙ child-1234abcd (subflow)  Running  3s",
      "    ⠙ load-0                  Running  3s",
    ]);
  });

  it("redraws in place and prints log lines above the block", () => {
    const { out, err, view } = setup(true);
    view.start();
    view.frame(T0);
    out.take();
    const entry: LogEntry = { timestamp: "2026-11-01T00:00:01.250Z", level: "info", message: "loaded", flowName: "etl" };
    view.log(entry);
    view.log({ ...entry, level: "debug", message: "hidden" });
    expect(err.take()).toBe("");
    view.frame(T0 + 100);
    view.stop();

    expect(err.take()).toBe("00:00:01.250 INFO  etl | loaded\n");
    expect(out.take().startsWith("\u001b[1A\r\u001b[J")).toBe(true);
  });

  it("keeps the block within the screen however many task runs there are", () => {
    const { out, view, root } = setup(true, 12);
    for (let i = 0; i < 500; i++) {
      const summary = taskRun("step", i, root.id, false);
      view.taskRunCreated(summary);
      move(view, summary, "Completed");
    }
    view.frame(T0 + 1_000);

    const lines = out.take().split("\n").filter(Boolean);
    expect(lines.length).toBeLessThanOrEqual(12);
    expect(lines[1]).toBe("  … 492 earlier");
    expect(lines.at(-1)).toMatch(/^ {2}✓ step-499 {2}Completed {2}1s$/);
  });
});

describe("the live view in a pipe", () => {
  it("prints a mapped task's progress every tenth, not a line per task run", () => {
    const { out, view, root } = setup(false);
    const runs = mapTenThousand(view, root.id);
    runs.slice(9_812).forEach((summary) => move(view, summary, "Completed"));

    const lines = out.take().split("\n").filter(Boolean);
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe("etl-1234abcd Running");
    expect(lines[1]).toBe("  double ×10,000 1,000/10,000 finished · 1,000 completed · 8,876 running · 124 pending");
    expect(lines[10]).toBe("  double ×10,000 10,000/10,000 finished · 10,000 completed");
  });

  it("prints a line per task run when it finishes, and flow run state changes", () => {
    const { out, view, root } = setup(false);
    const load = taskRun("load", 0, root.id, false);
    view.taskRunCreated(load);
    move(view, load, "Running", T0);
    expect(out.take()).toBe("etl-1234abcd Running\n");
    move(view, load, "Failed", T0 + 250);
    const failed = makeState("Failed", T0 + 300, "task run load-0 failed");
    root.state = failed;
    root.endTime = failed.timestamp;
    view.flowRunStateChanged(root, failed);

    expect(out.take()).toBe("  load-0 Failed · 1 attempt · 250ms\netl-1234abcd Failed in 300ms — task run load-0 failed\n");
  });
});
