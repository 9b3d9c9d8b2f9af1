import { execFile } from "node:child_process";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { FileCacheStore, MemoryCacheStore, flow, task } from "aloft";
import { FakeClock, runFlowForTest } from "aloft/testing";

const TSX_LOADER = pathToFileURL(join(process.cwd(), "node_modules", "tsx", "dist", "loader.mjs")).href;

function countingTask(name: string, cache: Parameters<typeof task>[0]["cache"]) {
  const calls = { count: 0 };
  const square = task({
    name,
    cache: cache as { key: "inputs" },
    run: async (x: number) => {
      calls.count++;
      return x * x;
    },
  });
  return { square, calls };
}

describe("caching", () => {
  it("serves a second call with equal arguments in the same run from the cache, as COMPLETED / Cached", async () => {
    const { square, calls } = countingTask("square-same-run", { key: "inputs" });
    const f = flow({ name: "cache-same-run", run: async () => [await square(3), await square(3), await square(4)] });
    const { run, taskRuns } = await runFlowForTest(f, undefined);
    expect(run.result).toEqual([9, 9, 16]);
    expect(calls.count).toBe(2);
    expect(taskRuns.map((t) => t.state.name)).toEqual(["Completed", "Cached", "Completed"]);
    expect(taskRuns[1]!.attempts).toBe(0);
  });

  it("serves a later run from the cache", async () => {
    const { square, calls } = countingTask("square-later-run", { key: "inputs" });
    const f = flow({ name: "cache-later-run", run: async () => square(5) });
    const cache = new MemoryCacheStore();
    await runFlowForTest(f, undefined, { cache });
    const second = await runFlowForTest(f, undefined, { cache });
    expect(calls.count).toBe(1);
    expect(second.run.result).toBe(25);
    expect(second.taskRuns[0]!.state).toMatchObject({ type: "COMPLETED", name: "Cached" });
  });

  it("recomputes after expiresIn", async () => {
    const { square, calls } = countingTask("square-expiry", { key: "inputs", expiresIn: "1h" });
    const f = flow({ name: "cache-expiry", run: async () => square(2) });
    const cache = new MemoryCacheStore();
    const clock = new FakeClock();
    await runFlowForTest(f, undefined, { cache, clock });
    await clock.advance(59 * 60_000);
    expect((await runFlowForTest(f, undefined, { cache, clock })).taskRuns[0]!.state.name).toBe("Cached");
    await clock.advance(2 * 60_000);
    expect((await runFlowForTest(f, undefined, { cache, clock })).taskRuns[0]!.state.name).toBe("Completed");
    expect(calls.count).toBe(2);
  });

  it("always recomputes with refresh: true", async () => {
    const { square, calls } = countingTask("square-refresh", { key: "inputs", refresh: true });
    const f = flow({ name: "cache-refresh", run: async () => [await square(2), await square(2)] });
    const { taskRuns } = await runFlowForTest(f, undefined);
    expect(calls.count).toBe(2);
    expect(taskRuns.map((t) => t.state.name)).toEqual(["Completed", "Completed"]);
  });

  it("uses a custom key function", async () => {
    const calls = { count: 0 };
    const byDay = task({
      name: "by-day",
      cache: { key: (date: string, _requestId: string) => date.slice(0, 10) },
      run: async (date: string, _requestId: string) => {
        calls.count++;
        return date.slice(0, 10);
      },
    });
    const f = flow({ name: "cache-key-fn", run: async () => [await byDay("2026-11-01T10:00", "a"), await byDay("2026-11-01T23:00", "b")] });
    const { taskRuns } = await runFlowForTest(f, undefined);
    expect(calls.count).toBe(1);
    expect(taskRuns[1]!.state.name).toBe("Cached");
  });

  it("keeps the file cache under .aloft/cache by default and shares it with another process", async () => {
    const dir = await mkdtemp(join(tmpdir(), "aloft-cache-"));
    const script = join(dir, "flow.mts");
    await writeFile(
      script,
      `import { flow, task } from "aloft";
const slowSquare = task({ name: "slow-square", cache: { key: "inputs" }, run: async (x: number) => x * x });
const f = flow({ name: "cross-process", run: async () => slowSquare(12) });
const run = await f.run(undefined, { replaceRecorder: true, recorder: {} });
console.log(JSON.stringify({ result: run.result, state: run.taskRuns[0]?.state.name }));
`,
    );
    const runChild = async () => {
      const { ALOFT_DATA_DIR: _ignored, ...env } = process.env;
      const { stdout } = await promisify(execFile)(process.execPath, ["--import", TSX_LOADER, script], { cwd: dir, env });
      return JSON.parse(stdout.trim()) as { result: number; state: string };
    };
    // "aloft" resolves to this package from the temp dir through a node_modules link.
    const { symlink, mkdir } = await import("node:fs/promises");
    await mkdir(join(dir, "node_modules"));
    await symlink(process.cwd(), join(dir, "node_modules", "aloft"), "dir");

    expect(await runChild()).toEqual({ result: 144, state: "Completed" });
    expect(await runChild()).toEqual({ result: 144, state: "Cached" });
    expect((await readdir(join(dir, ".aloft", "cache"))).filter((f) => f.endsWith(".json"))).toHaveLength(1);
  });

  it("a FileCacheStore ignores a corrupt entry and recomputes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "aloft-cache-"));
    const store = new FileCacheStore(dir);
    await store.put({ key: "k", value: 1, createdAt: 0 });
    const [file] = await readdir(dir);
    await writeFile(join(dir, file!), "{ not json");
    expect(await store.get("k")).toBeUndefined();
  });
});
