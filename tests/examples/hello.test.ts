import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import hello from "../../examples/hello.js";
import { MemoryRecorder } from "aloft/testing";

describe("examples/hello.ts", () => {
  it("greets each name with one task run per name", async () => {
    const recorder = new MemoryRecorder();
    const run = await hello.run({ names: ["Ada", "Grace"] }, { recorder, replaceRecorder: true });

    expect(run.state.name).toBe("Completed");
    expect(run.result).toEqual(["Hello, Ada!", "Hello, Grace!"]);
    expect(run.taskRuns.map((taskRun) => [taskRun.name, taskRun.mapIndex, taskRun.state.name])).toEqual([
      ["greet-0", 0, "Completed"],
      ["greet-1", 1, "Completed"],
    ]);
    expect(recorder.logs.map((entry) => entry.message)).toContain("greeting Grace");
  });

  it("greets the world when given no parameters", async () => {
    const run = await hello.run({}, { recorder: new MemoryRecorder(), replaceRecorder: true });

    expect(run.state.name).toBe("Completed");
    expect(run.result).toEqual(["Hello, world!", "Hello, Aloft!"]);
  });
});

describe("README.md", () => {
  it("shows examples/hello.ts, as tested here, as the first flow", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const example = await readFile(new URL("../../examples/hello.ts", import.meta.url), "utf8");
    const code = example.slice(example.indexOf("import "));
    const firstBlock = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];

    expect(firstBlock).toBe(code);
  });
});
