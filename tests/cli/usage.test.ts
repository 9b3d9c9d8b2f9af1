import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixture, runCli, tempDir } from "./cliProcess.js";

/** A usage error: exit 2, nothing on stdout, exactly one line on stderr; returns that line. */
async function usageError(args: readonly string[], cwd?: string): Promise<string> {
  const result = await runCli(args, cwd === undefined ? {} : { cwd });
  expect(result.code).toBe(2);
  expect(result.stdout).toBe("");
  expect(result.stderr.endsWith("\n")).toBe(true);
  const lines = result.stderr.slice(0, -1).split("\n");
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe("aloft run usage errors", () => {
  it("names a missing file", async () => {
    expect(await usageError(["run", "flows/missing.ts"])).toBe("error: no such file: flows/missing.ts");
  });

  it("names a missing export and lists the file's flows", async () => {
    const file = fixture("greet.ts");
    expect(await usageError(["run", `${file}:nightly`])).toBe(`error: ${file} has no export named "nightly" (its flows: etl)`);
  });

  it("refuses an export that is not a flow", async () => {
    const file = fixture("several.ts");
    expect(await usageError(["run", `${file}:notAFlow`])).toBe(`error: export "notAFlow" of ${file} is not a flow (its flows: evening, morning)`);
  });

  it("asks which flow when a file exports several and no :export is given", async () => {
    const file = fixture("several.ts");
    expect(await usageError(["run", file])).toBe(`error: ${file} exports 2 flows (evening, morning); pick one with ${file}:<export>`);
  });

  it("says so when a file exports no flow", async () => {
    const file = fixture("noflows.ts");
    expect(await usageError(["run", file])).toBe(`error: ${file} exports no flow (export one made with flow())`);
  });

  it("reports a syntax error in the file on one line", async () => {
    const { dir, remove } = await tempDir();
    try {
      await writeFile(join(dir, "broken.ts"), "export const limit: number = ;\n\nexport const other = 1;\n");
      expect(await usageError(["run", "broken.ts"], dir)).toMatch(/^error: cannot load broken\.ts: .*broken\.ts:1:\d+: ERROR: Unexpected ";"$/);
    } finally {
      await remove();
    }
  });

  it("reports a file that throws while loading on one line", async () => {
    const { dir, remove } = await tempDir();
    try {
      await writeFile(join(dir, "throws.ts"), 'throw new Error("no DATABASE_URL\\nset it first");\n');
      expect(await usageError(["run", "throws.ts"], dir)).toBe("error: cannot load throws.ts: no DATABASE_URL set it first");
    } finally {
      await remove();
    }
  });

  it("rejects a --param without '='", async () => {
    expect(await usageError(["run", fixture("greet.ts"), "--param", "day"])).toBe('error: --param "day" has no "=" (expected key=value)');
  });

  it("rejects invalid params before running, naming every invalid field", async () => {
    const line = await usageError(["run", fixture("greet.ts"), "--param", "limit=-1"]);
    expect(line).toMatch(/^error: invalid params for flow "etl": day: .+; limit: .+$/);
  });

  it.each([
    ["nope.json", /^error: no such params file: nope\.json$/],
    ["list.json", /^error: params file list\.json must hold a JSON object \(got an array\)$/],
    ["bad.json", /^error: params file bad\.json is not valid JSON: .+$/],
  ])("rejects the params file %s", async (file, message) => {
    const { dir, remove } = await tempDir();
    try {
      await writeFile(join(dir, "list.json"), "[1, 2]");
      await writeFile(join(dir, "bad.json"), "{ day: ");
      expect(await usageError(["run", fixture("greet.ts"), "--params-file", file], dir)).toMatch(message);
    } finally {
      await remove();
    }
  });

  it.each([
    ["a missing argument", ["run"], "error: missing required argument 'file[:export]'"],
    ["an unknown option", ["run", fixture("greet.ts"), "--jsn"], "error: unknown option '--jsn' (Did you mean --json?)"],
    ["an option without its value", ["run", fixture("greet.ts"), "--param"], "error: option '--param <key=value>' argument missing"],
    ["an unknown command", ["deploy"], "error: unknown command 'deploy'"],
  ])("turns commander's error for %s into one line with exit 2", async (_case, args, message) => {
    expect(await usageError(args)).toBe(message);
  });

  it("exits 0 for --help", async () => {
    const help = await runCli(["run", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: aloft run [options] <file[:export]>");
  });

  it("exits 0 for --version and prints the package version", async () => {
    const version = await runCli(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
