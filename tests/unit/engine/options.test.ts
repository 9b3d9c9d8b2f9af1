import { describe, expect, it } from "vitest";
import { InvalidOptionsError, flow, task } from "aloft";

const run = async () => 1;

function problemsOf(define: () => unknown): string {
  try {
    define();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).code).toBe("INVALID_OPTIONS");
    return (error as Error).message;
  }
  throw new Error("expected the definition to throw");
}

describe("option validation at definition time", () => {
  it.each([
    [{ name: "t", run, retries: -1 }, 'task "t": retries must be a whole number ≥ 0 (got -1)'],
    [{ name: "t", run, retries: 1.5 }, 'task "t": retries must be a whole number ≥ 0 (got 1.5)'],
    [{ name: "t", run, timeout: "5 minutes" }, 'task "t": timeout is not a positive duration: "5 minutes"'],
    [{ name: "t", run, timeout: 0 }, 'task "t": timeout is not a positive duration: 0'],
    [{ name: "t", run, retryDelay: "1y" }, 'task "t": retryDelay is not a duration: "1y"'],
    [{ name: "t", run, retryDelay: [1, "soon"] }, 'task "t": retryDelay[1] is not a duration: "soon"'],
    [{ name: "t", run, retryDelay: [] }, 'task "t": retryDelay must not be an empty list'],
    [{ name: "t", run, retryJitter: 1.5 }, 'task "t": retryJitter must be between 0 and 1 (got 1.5)'],
    [{ name: "t", run, retryJitter: -0.1 }, 'task "t": retryJitter must be between 0 and 1 (got -0.1)'],
    [{ name: "t", run, cache: { key: "args" } }, 'task "t": cache.key must be "inputs" or a function of the arguments'],
    [{ name: "t", run, cache: { key: "inputs", expiresIn: "forever" } }, 'task "t": cache.expiresIn is not a duration: forever'],
    [{ name: "t", run, tags: ["ok", ""] }, 'task "t": tags[1] must be a non-empty string'],
    [{ name: "t", run, onFailure: "log" }, 'task "t": onFailure must be a function'],
    [{ name: "", run }, 'task "": name is required and must be a non-empty string'],
    [{ name: "t" }, 'task "t": run is required and must be a function'],
  ])("task(%j) throws naming the option", (options, message) => {
    expect(problemsOf(() => task(options as never))).toBe(message);
  });

  it("names every invalid option at once", () => {
    expect(problemsOf(() => task({ name: "t", run, retries: -1, timeout: "x", retryJitter: 2 } as never))).toBe(
      'task "t": retries must be a whole number ≥ 0 (got -1); retryJitter must be between 0 and 1 (got 2); timeout is not a positive duration: "x"',
    );
  });

  it("rejects a retryDelay list of more than 50 delays", () => {
    expect(problemsOf(() => task({ name: "t", run, retryDelay: Array.from({ length: 51 }, () => 1) }))).toBe(
      'task "t": retryDelay lists at most 50 delays (got 51)',
    );
  });

  it.each([
    [{ name: "f", run, taskConcurrency: 0 }, 'flow "f": taskConcurrency must be a whole number ≥ 1 (got 0)'],
    [{ name: "f", run, params: { parse: () => 1 } }, 'flow "f": params must be a zod schema (something with safeParse)'],
    [{ name: "f", run, retries: -2, timeout: "1 hour" }, 'flow "f": retries must be a whole number ≥ 0 (got -2); timeout is not a positive duration: "1 hour"'],
    [{ name: "f", run, onCancellation: 1 }, 'flow "f": onCancellation must be a function'],
  ])("flow(%j) throws naming the option", (options, message) => {
    expect(problemsOf(() => flow(options as never))).toBe(message);
  });

  it("accepts every duration form", () => {
    for (const timeout of [1, 0.25, "250ms", "30s", "5m", "2h", "1d", "1.5s"] as const) {
      expect(() => task({ name: `ok-${timeout}`, run, timeout })).not.toThrow();
    }
  });

  it("refuses an invalid tag limit in run options, before the run starts", async () => {
    const f = flow({ name: "bad-run-options", run });
    await expect(f.run(undefined, { concurrencyLimits: { warehouse: -1 } })).rejects.toThrow("concurrencyLimits.warehouse must be a whole number ≥ 0 (got -1)");
  });

  it("refuses a map concurrency below 1", async () => {
    const unary = task({ name: "unary", run: async (x: number) => x });
    await expect(unary.map([1], { concurrency: 0 })).rejects.toThrow('task "unary".map: concurrency must be a whole number ≥ 1 (got 0)');
  });
});
