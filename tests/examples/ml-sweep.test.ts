import { describe, expect, it } from "vitest";
import type { Recorder } from "aloft";
import mlSweep, { syntheticDataset, trainLinearModel } from "../../examples/ml-sweep.js";
import { MemoryRecorder } from "aloft/testing";

describe("examples/ml-sweep.ts", () => {
  it("trains every grid point in a subflow and picks learning rate 0.5 with 20 epochs", async () => {
    const recorder = new MemoryRecorder();
    const run = await mlSweep.run({}, { recorder, replaceRecorder: true });

    expect(run.state.name).toBe("Completed");
    const best = run.result!.best;
    expect([best.learningRate, best.epochs]).toEqual([0.5, 20]);
    expect(best.weight).toBeCloseTo(3, 1);
    expect(best.bias).toBeCloseTo(2, 1);
    expect(run.result!.candidates.map((c) => [c.learningRate, c.epochs])).toEqual([
      [0.01, 5], [0.01, 20], [0.1, 5], [0.1, 20], [0.5, 5], [0.5, 20], [1.5, 5], [1.5, 20],
    ]);
    expect(run.result!.candidates.filter((c) => c.validationMse === null).map((c) => c.learningRate)).toEqual([1.5, 1.5]);
  });

  it("records each training run as a completed child run with three cross-validation folds", async () => {
    const recorder = new MemoryRecorder();
    const run = await mlSweep.run({}, { recorder, replaceRecorder: true });

    const children = recorder.flowRuns.filter((flowRun) => flowRun.id !== run.id);
    expect(children).toHaveLength(8);
    for (const child of children) {
      expect(child.flowName).toBe("train-linear-model");
      expect(child.parentRunId).toBe(run.id);
      expect(child.state.name).toBe("Completed");
      expect(child.taskRuns.map((taskRun) => [taskRun.taskName, taskRun.mapIndex, taskRun.state.name])).toEqual([
        ["fit-fold", 0, "Completed"],
        ["fit-fold", 1, "Completed"],
        ["fit-fold", 2, "Completed"],
      ]);
    }
  });

  it("keeps at most four fold fits running at once across all the training subflows", async () => {
    let running = 0;
    let mostRunning = 0;
    const states = new Map<string, string>();
    const counter: Recorder = {
      taskRunStateChanged(taskRun, state) {
        const wasRunning = states.get(taskRun.id) === "RUNNING";
        const isRunning = state.type === "RUNNING";
        states.set(taskRun.id, state.type);
        running += Number(isRunning) - Number(wasRunning);
        mostRunning = Math.max(mostRunning, running);
      },
    };
    const run = await mlSweep.run({}, { recorder: counter, replaceRecorder: true });

    expect(run.state.name).toBe("Completed");
    expect(states.size).toBe(24);
    expect(mostRunning).toBe(4);
  });

  it("publishes a Markdown report naming the winner and listing every candidate", async () => {
    const recorder = new MemoryRecorder();
    await mlSweep.run({}, { recorder, replaceRecorder: true });

    const report = recorder.artifacts.find((artifact) => artifact.key === "sweep-report");
    expect(report?.type).toBe("markdown");
    const markdown = String(report?.data);
    expect(markdown).toMatch(/^# Sweep: best is learning rate 0\.5, 20 epochs\n/);
    expect(markdown.match(/^\| [\d.]+ \| \d+ \|/gm)).toHaveLength(8);
    expect(markdown).toContain("| 1.5 | 20 | diverged | – | – |");
  });

  it("fails with a clear message when every candidate diverges", async () => {
    const run = await mlSweep.run({ learningRates: [1.5, 3] }, { recorder: new MemoryRecorder(), replaceRecorder: true });

    expect(run.state.name).toBe("Failed");
    expect(run.error?.message).toBe("all 4 candidates diverged; try smaller learning rates");
  });

  it("trains the same model every time from the same seed", async () => {
    const options = { recorder: new MemoryRecorder(), replaceRecorder: true };
    const first = await trainLinearModel.run({ learningRate: 0.1, epochs: 20 }, options);
    const second = await trainLinearModel.run({ learningRate: 0.1, epochs: 20 }, options);

    expect(first.result).toEqual(second.result);
    expect(syntheticDataset(7, 5)).toEqual(syntheticDataset(7, 5));
    expect(syntheticDataset(7, 5)).not.toEqual(syntheticDataset(8, 5));
  });
});
