import { describe, expect, it } from "vitest";
import { AloftError, eq, flow, gt, MemoryCacheStore, setApprovalRuntime, sleep, task, waitForApproval, when } from "aloft";
import { FakeClock, MemoryRecorder } from "aloft/testing";

const quiet = () => ({ recorder: new MemoryRecorder(), replaceRecorder: true, cache: new MemoryCacheStore() });

const grade = task({ name: "grade", run: async (score: number) => ({ score, passed: score >= 50 }) });
const celebrate = task({ name: "celebrate", run: async (score: number) => `passed with ${score}` });
const retake = task({ name: "retake", run: async () => "book a retake" });

describe("the combinators run with the local engine's semantics", () => {
  it("when() runs only the branch its condition picks, as the flow's tasks", async () => {
    const exam = flow({
      name: "exam",
      run: async ({ score }: { score: number }) => {
        const result = await grade(score);
        return when(eq(result.passed, true), () => celebrate(result.score), () => retake());
      },
    });

    const passed = await exam.run({ score: 80 }, quiet());
    const failed = await exam.run({ score: 20 }, quiet());

    expect(passed.result).toBe("passed with 80");
    expect(failed.result).toBe("book a retake");
  });

  it("sleep() waits on the run's clock, so a FakeClock skips it", async () => {
    const clock = new FakeClock();
    const patient = flow({
      name: "patient",
      run: async () => {
        const before = clock.now();
        await sleep("2h");
        await sleep(30);
        return clock.now() - before;
      },
    });

    const run = await patient.run(undefined, { ...quiet(), clock });

    expect(run.result).toBe(7_230_000);
    expect(clock.sleeps).toEqual([7_200_000, 30_000]);
  });

  it("sleep() outside a run just waits, and rejects what is not a duration", async () => {
    await expect(sleep("1ms")).resolves.toBeUndefined();
    await expect(sleep("soon" as never)).rejects.toThrow('sleep(duration): not a duration: soon (give seconds or a string like "30s", "5m")');
  });

  it("when() evaluates gt on numbers only, so a string is never greater", async () => {
    expect(await when(gt("9" as unknown as number, 1), () => "greater", () => "not")).toBe("not");
  });

  it("waitForApproval() without a control plane fails with APPROVAL_UNAVAILABLE", async () => {
    const error = await waitForApproval().catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(AloftError);
    expect(error).toMatchObject({
      code: "APPROVAL_UNAVAILABLE",
      message:
        "waitForApproval() needs a control plane to resume the run: deploy the flow (or run it with ALOFT_API_URL set), or compile it for Step Functions",
    });
  });

  it("waitForApproval() resolves to what the installed runtime resumes the run with", async () => {
    const requests: unknown[] = [];
    const restore = setApprovalRuntime(async (request) => {
      requests.push({ flowName: request.flowName, timeoutMs: request.timeoutMs });
      return { approved: true, input: { version: "1.2.3" } };
    });
    try {
      const release = flow({
        name: "release",
        run: async () => {
          const approval = await waitForApproval<{ version: string }>({ timeout: "1h" });
          return approval.input.version;
        },
      });
      const run = await release.run(undefined, quiet());

      expect(run.result).toBe("1.2.3");
      expect(requests).toEqual([{ flowName: "release", timeoutMs: 3_600_000 }]);
    } finally {
      restore();
    }
  });
});
