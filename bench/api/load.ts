import { performance } from "node:perf_hooks";

/** A request whose answer was not the one the workload expects (wrong status, or not ACCEPT). */
export class UnexpectedAnswerError extends Error {
  override readonly name = "UnexpectedAnswerError";
}

/**
 * Times requests one by one (performance.now around each) and counts the ones that failed; keeps
 * the first few failure messages so a run with errors can say what they were.
 *
 * @example
 * ```ts
 * const recorder = new LatencyRecorder();
 * const id = (await recorder.time(() => client.createFlowRun("bench")))?.value;
 * ```
 */
export class LatencyRecorder {
  /** Milliseconds, one per request sent (failed ones included). */
  readonly latenciesMs: number[] = [];
  errors = 0;
  readonly firstErrors: string[] = [];

  /** Runs one request, records its latency, and returns its value, boxed (undefined if it failed). */
  async time<T>(request: () => Promise<T>): Promise<{ value: T } | undefined> {
    const started = performance.now();
    try {
      const value = await request();
      this.latenciesMs.push(performance.now() - started);
      return { value };
    } catch (error) {
      this.latenciesMs.push(performance.now() - started);
      this.errors++;
      if (this.firstErrors.length < 5) this.firstErrors.push(error instanceof Error ? error.message : String(error));
      return undefined;
    }
  }
}

/**
 * Runs `jobs` jobs (indices 0 … jobs-1) on `concurrency` workers, each taking the next index as soon
 * as its previous job is done, and resolves with the wall time in seconds. A job that throws stops
 * the run (jobs are expected to record their own request failures instead).
 *
 * @example
 * ```ts
 * const seconds = await runWorkers(5_000, 16, async () => void (await recorder.time(() => client.createFlowRun("bench"))));
 * ```
 */
export async function runWorkers(jobs: number, concurrency: number, job: (index: number) => Promise<void>): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < jobs) await job(next++);
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs) }, worker));
  return (performance.now() - started) / 1000;
}

/**
 * The value at quantile `q` (0 < q ≤ 1) of `values`, by the nearest-rank method (p99 of 20,000
 * latencies is the 19,800th smallest). NaN for no values.
 *
 * @example
 * ```ts
 * percentile([5, 1, 3], 0.5); // 3
 * ```
 */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!;
}
