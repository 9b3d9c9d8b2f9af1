import { writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import type { FlowRun } from "aloft";
import { CLI, fixture, linesOf, runCli, tempDir } from "./cliProcess.js";

describe("aloft run", () => {
  it("runs a completed flow, exits 0 and ends with a summary table of its task runs", async () => {
    const result = await runCli(["run", fixture("greet.ts"), "--param", "day=2026-11-01", "--param", "limit=3"]);

    expect(result.code).toBe(0);
    const lines = linesOf(result.stdout);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}extract-0 Completed · 1 attempt · [\d.]+m?s$/));
    const header = lines.findIndex((line) => /^Task run\s+State\s+Attempts\s+Duration$/.test(line));
    expect(header).toBeGreaterThan(-1);
    expect(lines[header + 1]).toMatch(/^extract-0\s+Completed\s+1\s+[\d.]+m?s$/);
    expect(lines[header + 2]).toMatch(/^total-0\s+Completed\s+1\s+[\d.]+m?s$/);
    expect(lines.at(-1)).toMatch(/^etl-[0-9a-f]{8} Completed in [\d.]+m?s$/);
  });

  it("shows the flow's log lines on stderr at info level by default", async () => {
    const result = await runCli(["run", fixture("greet.ts"), "--param", "day=2026-11-01"]);

    expect(result.stderr).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}etl \| starting \{"day":"2026-11-01","limit":10\}\n$/);
    expect(result.stdout).not.toContain("starting");
  });

  it("shows debug log lines when ALOFT_LOG_LEVEL=debug", async () => {
    const result = await runCli(["run", fixture("greet.ts"), "--param", "day=2026-11-01"], { env: { ALOFT_LOG_LEVEL: "debug" } });

    expect(result.stderr).toContain("DEBUG etl | a debug line");
  });

  it("exits 1 when the flow fails and prints the error after the summary", async () => {
    const result = await runCli(["run", fixture("failing.ts")]);

    expect(result.code).toBe(1);
    const lines = linesOf(result.stdout);
    expect(lines).toContainEqual(expect.stringMatching(/^load-0\s+Failed\s+2\s+[\d.]+m?s$/));
    expect(lines.at(-2)).toMatch(/^nightly-[0-9a-f]{8} Failed in [\d.]+m?s$/);
    expect(lines.at(-1)).toMatch(/^TaskRunFailedError: .*warehouse unreachable$/);
  });

  it("with --json prints only the final run as JSON on stdout", async () => {
    const result = await runCli(["run", fixture("greet.ts"), "--param", "day=2026-11-01", "--json"]);

    expect(result.code).toBe(0);
    expect(result.stdout.endsWith("}\n")).toBe(true);
    const run = JSON.parse(result.stdout) as FlowRun;
    expect(run).toMatchObject({ flowName: "etl", state: { type: "COMPLETED" }, parameters: { day: "2026-11-01", limit: 10 }, result: { total: 36 } });
    expect(run.taskRuns.map((taskRun) => taskRun.name)).toEqual(["extract-0", "total-0"]);
  });

  it("with --json still exits 1 when the flow fails", async () => {
    const result = await runCli(["run", fixture("failing.ts"), "--json"]);

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ flowName: "nightly", state: { type: "FAILED" }, error: { name: "TaskRunFailedError" } });
  });

  it("parses --param values as JSON when they parse, else as strings", async () => {
    const result = await runCli(["run", fixture("echo.ts"), "--param", "limit=5", "--param", "day=2026-11-01", "--param", 'tags=["a","b"]', "--param", "note=a=b", "--json"]);

    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as FlowRun).result).toEqual({ limit: 5, day: "2026-11-01", tags: ["a", "b"], note: "a=b" });
  });

  it("merges --params-file under the --param values", async () => {
    const { dir, remove } = await tempDir();
    try {
      await writeFile(join(dir, "params.json"), JSON.stringify({ day: "2026-01-01", limit: 7, region: "eu" }));
      const result = await runCli(["run", fixture("echo.ts"), "--params-file", "params.json", "--param", "day=2026-11-01", "--json"], { cwd: dir });

      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as FlowRun).result).toEqual({ day: "2026-11-01", limit: 7, region: "eu" });
    } finally {
      await remove();
    }
  });

  it("knows the file a flow was defined in, even one outside an ESM package (compiled to CommonJS)", async () => {
    const { dir, remove } = await tempDir();
    try {
      const aloft = pathToFileURL(join(CLI, "../../index.js")).href;
      await writeFile(join(dir, "where.ts"), `import { flow } from ${JSON.stringify(aloft)};\nconst f = flow({ name: "where", run: async () => f.sourceFile });\nexport default f;\n`);
      const result = await runCli(["run", "where.ts", "--json"], { cwd: dir });

      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as FlowRun).result).toBe(join(dir, "where.ts"));
    } finally {
      await remove();
    }
  });

  it("resolves the flow file against the working directory", async () => {
    const { dir, remove } = await tempDir();
    try {
      await mkdir(join(dir, "flows"));
      const aloft = pathToFileURL(join(CLI, "../../index.js")).href;
      await writeFile(join(dir, "flows", "hello.ts"), `import { flow } from ${JSON.stringify(aloft)};\nexport default flow({ name: "hello", run: async (): Promise<string> => "hi" });\n`);
      const result = await runCli(["run", "flows/hello.ts", "--json"], { cwd: dir });

      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ flowName: "hello", result: "hi" });
    } finally {
      await remove();
    }
  });

  it("shows a mapped task as progress counts, not a line per item, and subflow runs as their own lines", async () => {
    const result = await runCli(["run", fixture("mapped.ts")]);

    expect(result.code).toBe(0);
    const lines = linesOf(result.stdout);
    const mapLines = lines.filter((line) => line.startsWith("  double ×"));
    expect(mapLines.length).toBeGreaterThan(0);
    expect(mapLines.length).toBeLessThan(60);
    expect(mapLines.at(-1)).toBe("  double ×1,000 1,000/1,000 finished · 1,000 completed");
    expect(lines.filter((line) => /double-\d+ Completed/.test(line))).toEqual([expect.stringMatching(/^ {4}double-0 Completed/)]);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}child-[0-9a-f]{8} Completed in/));
    expect(lines).toContainEqual(expect.stringMatching(/^double ×1,000\s+1,000 completed\s+1,000\s+[\d.]+m?s$/));
    expect(lines).toContainEqual(expect.stringMatching(/^child-[0-9a-f]{8} \(subflow\)\s+Completed\s+1\s+[\d.]+m?s$/));
  });

  it("cancels the run on Ctrl-C (SIGINT) and exits 130", async () => {
    let interrupted = false;
    const result = await runCli(["run", fixture("slow.ts")], {
      onStdout: (stdout, child) => {
        if (!interrupted && stdout.includes("Running")) {
          interrupted = true;
          child.kill("SIGINT");
        }
      },
    });

    expect(interrupted).toBe(true);
    expect(result.code).toBe(130);
    const lines = linesOf(result.stdout);
    expect(lines).toContainEqual(expect.stringMatching(/^wait-0\s+Cancelled\s+1\s+/));
    expect(lines.at(-2)).toMatch(/^slow-[0-9a-f]{8} Cancelled in /);
    expect(lines.at(-1)).toBe("CancelledError: cancelled with Ctrl-C");
    expect(result.stderr).toBe("cancelling the run (press Ctrl-C again to exit at once)\n");
  });

  it("exits 130 at once on a second Ctrl-C while the run winds down", async () => {
    let signals = 0;
    const result = await runCli(["run", fixture("stubborn.ts")], {
      onStdout: (stdout, child) => {
        if (signals === 0 && stdout.includes("Running")) {
          signals = 1;
          child.kill("SIGINT");
        } else if (signals === 1 && /stubborn-\w+ Cancelled/.test(stdout)) {
          signals = 2;
          child.kill("SIGINT");
        }
      },
    });

    expect(signals).toBe(2);
    expect(result.code).toBe(130);
    expect(result.stdout).not.toContain("Task run");
  });
});
