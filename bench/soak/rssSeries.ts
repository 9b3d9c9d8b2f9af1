import { performance } from "node:perf_hooks";
import { processMemoryKib } from "../engine/processTree.js";

/** One reading of a process's resident memory. */
export interface RssSample {
  /** Seconds since sampling started. */
  atSeconds: number;
  rssMib: number;
  /** The part of it that is anonymous memory (the process's heaps). */
  anonMib: number;
  /** The part that is file-backed (code, and files the process maps, such as LevelDB's tables). */
  fileMib: number;
}

/**
 * Reads one process's RSS and its anonymous and file-backed parts (/proc/<pid>/status, the process
 * alone, not its children) every
 * `intervalMs` until stopped, keeping every sample; {@link RssSeries.sample} takes one more at once
 * (at a checkpoint of the workload).
 *
 * @example
 * ```ts
 * const series = new RssSeries(server.pid, 1_000);
 * // … load …
 * const atCheckpoint = series.sample();
 * const samples = series.stop();
 * ```
 */
export class RssSeries {
  readonly #samples: RssSample[] = [];
  readonly #started = performance.now();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 1_000,
  ) {
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  /** Takes a sample now and returns it. */
  sample(): RssSample {
    const { rssKib, anonKib, fileKib } = processMemoryKib(this.pid);
    const sample = { atSeconds: (performance.now() - this.#started) / 1000, rssMib: rssKib / 1024, anonMib: anonKib / 1024, fileMib: fileKib / 1024 };
    this.#samples.push(sample);
    return sample;
  }

  /** Every sample so far, oldest first. */
  get samples(): readonly RssSample[] {
    return this.#samples;
  }

  /** Stops sampling; returns every sample taken. */
  stop(): RssSample[] {
    clearInterval(this.#timer);
    return [...this.#samples];
  }
}
