import { hostname } from "node:os";
import type { RunJob } from "../../sdk/runner/runnerMessages.js";
import { RunnerPool, type PoolRunResult, type RunnerPoolOptions } from "../../sdk/runner/runnerPool.js";
import type { RunSink } from "../../sdk/runner/worker.js";
import type { ComputeLauncher, LaunchRequest } from "../services/ports.js";
import type { RunnerInfo } from "../store/records.js";

/**
 * Runs flows in local runner processes: a {@link RunnerPool} of warm child processes on this
 * machine, each taking one claimed run at a time over IPC. It is the local pool's compute: the
 * local server's worker hands it the runs it claims, and the monitor stops, through it, a runner
 * that did not obey a cancellation (`stop` kills the process).
 *
 * @example
 * ```ts
 * const launcher = new LocalProcessLauncher({ size: 2, env: { ...process.env, ALOFT_API_URL: url, ALOFT_TOKEN: token } });
 * const runner = await launcher.launch({ runId, runnerToken }); // { kind: "process", pid: 4242, host: "laptop" }
 * await launcher.stop(runner, "cancelled; the runner did not stop within 30 s");
 * ```
 */
export class LocalProcessLauncher implements ComputeLauncher, RunSink {
  readonly pool: RunnerPool;
  private readonly host = hostname();

  constructor(options: RunnerPoolOptions) {
    this.pool = new RunnerPool(options);
  }

  get free(): number {
    return this.pool.free;
  }

  idle(): Promise<void> {
    return this.pool.idle();
  }

  run(job: RunJob): Promise<PoolRunResult> {
    return this.pool.run(job);
  }

  /** Hands the run to the next free runner process (waiting for one) and resolves with where it runs. */
  async launch(request: LaunchRequest): Promise<RunnerInfo> {
    if (request.runnerToken === undefined) throw new Error(`flow run ${request.runId} has no claim token; a local runner proves itself with one`);
    const { pid } = await this.pool.start({ runId: request.runId, runnerToken: request.runnerToken });
    return { kind: "process", host: this.host, ...(pid === undefined ? {} : { pid }) };
  }

  /** Kills the runner process (SIGKILL) if it is one of this machine's runner processes. */
  async stop(runner: RunnerInfo, _reason: string): Promise<boolean> {
    if (runner.kind !== "process" || runner.pid === undefined) return false;
    if (runner.host !== undefined && runner.host !== this.host) return false;
    return this.pool.stop(runner.pid);
  }

  /** Lets the runs in hand finish (or, with `kill`, kills them), then ends every runner process. */
  async close(options: { kill?: boolean } = {}): Promise<void> {
    await this.pool.close(options);
  }
}
