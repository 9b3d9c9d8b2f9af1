import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { CompiledFlow } from "aloft";
import { runCli, tempDir } from "./cliProcess.js";

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

async function goldenDefinition(name: string): Promise<CompiledFlow["definition"]> {
  const text = await readFile(new URL(`../unit/compiler/golden/${name}.json`, import.meta.url), "utf8");
  return (JSON.parse(text) as CompiledFlow).definition;
}

describe("aloft compile", () => {
  it("prints the flow's state machine definition as JSON and its warnings on stderr", async () => {
    const result = await runCli(["compile", example("hello.ts")]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(await goldenDefinition("hello"));
    expect(result.stderr).toBe(
      'warning: task "greet": retry delays 0s, 0s become IntervalSeconds 1, BackoffRate 1 in Step Functions: 1s, 1s (off by up to 1s, 100%)\n',
    );
  });

  it("writes the definition to --out and prints a Mermaid flowchart with --graph", async () => {
    const { dir, remove } = await tempDir();
    try {
      const result = await runCli(["compile", `${example("etl-step-functions.ts")}:default`, "--out", "etl.asl.json", "--graph"], { cwd: dir });

      expect(result.code).toBe(0);
      expect(JSON.parse(await readFile(join(dir, "etl.asl.json"), "utf8"))).toEqual(await goldenDefinition("etl-step-functions"));
      expect(result.stdout).toMatch(/^flowchart TD\n {2}start\(\(start\)\) --> s1\n/);
      expect(result.stdout).toContain('s7{"When 1"}\n  s7 -->|"summarize_orders.rejectedCount #gt; 0"| s8\n  s7 -->|otherwise| s9\n');
      expect(result.stdout).toContain('subgraph s3["Map normalize-order (Map)"]');
      expect(result.stderr.split("\n")).toContain("wrote etl.asl.json");
    } finally {
      await remove();
    }
  });

  it("exits 2 with one line naming the file, line and fix when the flow cannot compile", async () => {
    const result = await runCli(["compile", example("etl.ts")]);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      `error: ${example("etl.ts")}:167: flow "etl" calls .flatMap() on a task's result. Fix: do this work in a task (the next state sees its result), or run the flow in durable mode.\n`,
    );
  });

  it("exits 2 on an unknown --type", async () => {
    const result = await runCli(["compile", example("hello.ts"), "--type", "turbo"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --type must be STANDARD or EXPRESS (got "turbo")\n');
  });

  it("refuses what an EXPRESS state machine cannot do with --type express", async () => {
    const result = await runCli(["compile", example("ml-sweep-step-functions.ts"), "--type", "express"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error: ${example("ml-sweep-step-functions.ts")}:88: flow "ml-sweep-step-functions" starts subflow "train-linear-model-step-functions" and waits for it, which an EXPRESS state machine cannot do. Fix: compile it with type "STANDARD".\n`,
    );
  });
});
